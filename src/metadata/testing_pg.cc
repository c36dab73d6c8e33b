// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/testing_pg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "core/files.h"
#include "core/subprocess.h"
#include "metadata/sql.h"

namespace lockstep::metadata::testing {

namespace {

namespace fs = std::filesystem;

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

// Asks the kernel for a free loopback port.
Result<int> FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return Status::Unavailable("socket() failed");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  if (port == 0) {
    return Status::Unavailable("no free loopback port");
  }
  return port;
}

// The prefix that runs a command as the postgres user when we are root.
std::vector<std::string> AsServerUser() {
  if (::geteuid() == 0) {
    return {"runuser", "-u", "postgres", "--"};
  }
  return {};
}

Status RunChecked(std::vector<std::string> argv, const fs::path& base,
                  const fs::path& log) {
  ProcessSpec spec;
  spec.argv = AsServerUser();
  spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  spec.working_directory = base;
  spec.stdout_path = log;
  spec.stderr_path = log;
  spec.timeout_millis = 120000;
  ASSIGN_OR_RETURN(ProcessOutcome outcome, RunProcess(spec));
  if (!outcome.succeeded()) {
    auto read = ReadFile(log);
    std::string tail = read.ok() ? *read : "";
    if (tail.size() > 2000) {
      tail = tail.substr(tail.size() - 2000);
    }
    return Status::Unavailable(argv[0] + " failed (" + outcome.Describe() +
                               "): " + tail);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<TestPostgres>> TestPostgres::Start(
    const TestPostgresOptions& options) {
  std::unique_ptr<TestPostgres> server(new TestPostgres());
  ASSIGN_OR_RETURN(server->base_,
                   MakeTempDirectory(fs::temp_directory_path(),
                                     "lockstep-pg-"));
  if (::geteuid() == 0) {
    passwd* user = ::getpwnam("postgres");
    if (user == nullptr ||
        ::chown(server->base_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      return Status::Unavailable("no `postgres` user to run the server as");
    }
  }
  fs::path data = server->base_ / "data";
  fs::path log = server->base_ / "server.log";
  RETURN_IF_ERROR(RunChecked({std::string(kBinDir) + "/initdb", "-D",
                              data.string(), "-A", "trust", "-U", "postgres",
                              "-E", "UTF8", "--locale=C", "--no-sync"},
                             server->base_, server->base_ / "initdb.log"));

  ASSIGN_OR_RETURN(server->port_, FreePort());
  std::string settings = "-c listen_addresses=127.0.0.1 -p " +
                         std::to_string(server->port_) + " -k " +
                         server->base_.string() + " -c max_connections=100";
  if (!options.durable) {
    settings += " -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off";
  }
  RETURN_IF_ERROR(RunChecked({std::string(kBinDir) + "/pg_ctl", "-D",
                              data.string(), "-l", log.string(), "-w", "-t",
                              "60", "-o", settings, "start"},
                             server->base_, server->base_ / "pg_ctl.log"));

  // The postmaster's PID is the first line of postmaster.pid.
  std::ifstream pid_file(data / "postmaster.pid");
  pid_file >> server->pid_;
  if (server->pid_ <= 0) {
    return Status::Unavailable("postgres started but wrote no PID");
  }
  return server;
}

TestPostgres::~TestPostgres() { Stop(); }

void TestPostgres::Stop() {
  if (pid_ > 0) {
    // SIGINT is PostgreSQL's "fast shutdown": abort sessions, exit cleanly.
    ::kill(static_cast<pid_t>(pid_), SIGINT);
    for (int i = 0; i < 600 && ::kill(static_cast<pid_t>(pid_), 0) == 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    pid_ = 0;
  }
  if (!base_.empty()) {
    RemoveAllQuietly(base_);
    base_.clear();
  }
}

std::string TestPostgres::Url(const std::string& name) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" +
         name;
}

Result<std::string> TestPostgres::CreateDatabase() {
  std::string name = "lockstep_" + std::to_string(::getpid()) + "_" +
                     std::to_string(++databases_);
  ASSIGN_OR_RETURN(auto admin, OpenPostgresql(Url("postgres")));
  RETURN_IF_ERROR(admin->ExecuteScript("CREATE DATABASE " + name));
  return Url(name);
}

}  // namespace lockstep::metadata::testing
