// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep lineage REF [--up|--down] [--depth K] [--format F]`: what
// produced an artifact, or what it fed, as a tree, JSON, DOT or SVG.

#include <iostream>
#include <limits>

#include "cli/cli.h"
#include "cli/metadata_access.h"
#include "core/digest.h"
#include "core/files.h"
#include "metadata/lineage.h"

namespace lockstep::cli {

namespace {

struct LineageFlags {
  std::string ref;
  bool up = false;
  bool down = false;
  int depth = 0;
  std::string format = "text";
  std::string output;
};

Result<std::string> Render(const metadata::LineageGraph& graph,
                           const std::string& format) {
  if (format == "json") {
    return metadata::LineageToJson(graph).dump(2) + "\n";
  }
  if (format == "dot") {
    return metadata::LineageToDot(graph);
  }
  if (format == "svg") {
    return metadata::RenderDotToSvg(metadata::LineageToDot(graph));
  }
  return metadata::LineageToText(graph);
}

int Lineage(const GlobalOptions& globals, LineageFlags flags) {
  if (globals.json) {
    flags.format = "json";
  }
  // A malformed digest is a mistake in the argument (exit 3), not an
  // artifact that is missing (2).
  if (flags.ref.starts_with("sha256:")) {
    if (Result<Digest> digest = Digest::Parse(flags.ref); !digest.ok()) {
      return ReportError(digest.status());
    }
  }
  auto store = OpenMetadata(globals, {.reader = true});
  if (!store.ok()) {
    return ReportError(store.status());
  }
  auto roots = metadata::ResolveLineageRef(store->get(), flags.ref);
  if (!roots.ok()) {
    return ReportError(roots.status());
  }
  auto graph = metadata::WalkLineage(
      store->get(), *roots,
      flags.down ? metadata::LineageDirection::kDown
                 : metadata::LineageDirection::kUp,
      flags.depth);
  if (!graph.ok()) {
    return ReportError(graph.status());
  }
  auto text = Render(*graph, flags.format);
  if (!text.ok()) {
    return ReportError(text.status());
  }
  if (flags.output.empty()) {
    std::cout << *text;
    return kExitOk;
  }
  Status written = WriteFileAtomically(flags.output, *text);
  return written.ok() ? kExitOk : ReportError(written);
}

}  // namespace

void AddLineageCommands(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<LineageFlags>();
  CLI::App* lineage = app.add_subcommand(
      "lineage", "What produced an artifact (--up) or what it fed (--down)");
  lineage
      ->add_option("REF", flags->ref,
                   "sha256:DIGEST, an artifact id, RUN/step/output or "
                   "NAME@VERSION")
      ->required();
  auto* up = lineage->add_flag("--up", flags->up,
                               "Walk to what produced it (default)");
  auto* down = lineage->add_flag("--down", flags->down,
                                 "Walk to what it fed");
  up->excludes(down);
  lineage->add_option("--depth", flags->depth,
                      "At most K execution hops (default: all)")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()));
  lineage->add_option("--format", flags->format, "text, json, dot or svg")
      ->check(CLI::IsMember({"text", "json", "dot", "svg"}));
  lineage->add_option("--output,-o", flags->output,
                      "Write to FILE instead of stdout");
  lineage->callback([context, flags] {
    *context.action = [globals = context.globals, flags] {
      return Lineage(*globals, *flags);
    };
  });
}

}  // namespace lockstep::cli
