// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep registry serve|immutable`: the OCI registry over the store.

#include <string>

#include "cli/cli.h"
#include "registry/auth.h"
#include "registry/registry.h"
#include "registry/server.h"

namespace lockstep::cli {
namespace {

// Splits "HOST:PORT" (HOST may be empty, meaning 127.0.0.1).
Result<std::pair<std::string, int>> ParseListen(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen " + text + ": want HOST:PORT");
  }
  std::string host = text.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(text.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port <= 0 || port > 65535) {
    return Status::InvalidArgument("--listen " + text + ": bad port");
  }
  return std::make_pair(host.empty() ? "127.0.0.1" : host, port);
}

void AddServe(CLI::App& group, CommandContext context) {
  auto* cmd = group.add_subcommand("serve", "Serve the OCI Distribution API");
  struct Flags {
    std::string listen = "127.0.0.1:5000";
    std::string htpasswd, access, tls_cert, tls_key;
    bool read_only = false;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on");
  cmd->add_option("--htpasswd", flags->htpasswd,
                  "htpasswd file with bcrypt entries (htpasswd -B)");
  cmd->add_option("--access", flags->access,
                  "JSON access rules (docs/registry.md); needs --htpasswd");
  cmd->add_option("--tls-cert", flags->tls_cert, "PEM certificate");
  cmd->add_option("--tls-key", flags->tls_key, "PEM private key");
  cmd->add_flag("--read-only", flags->read_only, "Refuse every write");
  cmd->callback([context, flags] {
    *context.action = [context, flags]() -> int {
      Result<std::pair<std::string, int>> listen = ParseListen(flags->listen);
      if (!listen.ok()) return ReportError(listen.status());
      if (flags->tls_cert.empty() != flags->tls_key.empty()) {
        return ReportError(Status::InvalidArgument(
            "--tls-cert and --tls-key go together"));
      }
      auto location = OpenStore(*context.globals, store::CreateIfMissing::kYes);
      if (!location.ok()) return ReportError(location.status());
      auto registry = registry::Registry::Open(location->root);
      if (!registry.ok()) return ReportError(registry.status());

      std::optional<registry::Authenticator> auth;
      if (!flags->htpasswd.empty()) {
        auto loaded =
            registry::Authenticator::Load(flags->htpasswd, flags->access);
        if (!loaded.ok()) return ReportError(loaded.status());
        auth = std::move(*loaded);
      } else if (!flags->access.empty()) {
        return ReportError(
            Status::InvalidArgument("--access needs --htpasswd"));
      }
      registry::ServeOptions options;
      options.host = listen->first;
      options.port = listen->second;
      options.tls_cert = flags->tls_cert;
      options.tls_key = flags->tls_key;
      options.read_only = flags->read_only;
      options.auth = auth ? &*auth : nullptr;
      Status served = registry::Serve(**registry, options);
      return served.ok() ? kExitOk : ReportError(served);
    };
  });
}

void AddImmutable(CLI::App& group, CommandContext context) {
  auto* cmd = group.add_subcommand(
      "immutable", "Make a repository's tags immutable (or --off)");
  auto repo = std::make_shared<std::string>();
  auto off = std::make_shared<bool>(false);
  cmd->add_option("REPOSITORY", *repo, "Repository name")->required();
  cmd->add_flag("--off", *off, "Allow tags to move again");
  cmd->callback([context, repo, off] {
    *context.action = [context, repo, off]() -> int {
      auto location = OpenStore(*context.globals, store::CreateIfMissing::kYes);
      if (!location.ok()) return ReportError(location.status());
      auto registry = registry::Registry::Open(location->root);
      if (!registry.ok()) return ReportError(registry.status());
      Status status = (*registry)->SetTagsImmutable(*repo, !*off);
      if (!status.ok()) return ReportError(status);
      if (context.globals->json) {
        PrintJson({{"repository", *repo}, {"immutableTags", !*off}});
      } else if (!context.globals->quiet) {
        std::printf("%s: tags are now %s\n", repo->c_str(),
                    *off ? "mutable" : "immutable");
      }
      return kExitOk;
    };
  });
}

}  // namespace

void AddRegistryCommands(CLI::App& app, CommandContext context) {
  auto* group = app.add_subcommand("registry", "OCI registry over the store");
  group->require_subcommand(1);
  AddServe(*group, context);
  AddImmutable(*group, context);
}

}  // namespace lockstep::cli
