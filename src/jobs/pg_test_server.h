// A private PostgreSQL 15 server for tests and benchmarks: initdb into a temporary directory, run
// by an unprivileged user (the `postgres` system user when started as root), listening on a unix
// socket in that directory and on a free loopback port. Removed, with its files, on destruction.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sys/fs.h"

namespace warden::jobs {

struct PgTestServerOptions {
  // fsync and synchronous commit as in production (benchmarks); off makes tests faster and proves
  // nothing less about behaviour.
  bool durable = false;
  // Where initdb, pg_ctl and postgres are.
  std::string bin_dir = "/usr/lib/postgresql/15/bin/";
};

// Owns the server process (through pg_ctl) and its directory. Not thread-safe; the URLs it hands
// out are for any number of clients.
class PgTestServer {
 public:
  // initdb + pg_ctl start. kFailedPrecondition, saying to run scripts/setup.sh, when PostgreSQL 15
  // is not installed; other errors quote the server's log.
  static Result<std::unique_ptr<PgTestServer>> Start(PgTestServerOptions options = {});
  // The server of this process, started on first use and stopped at exit: how test binaries share
  // one server. Every call after a failed start returns the same error.
  static Result<PgTestServer*> Shared();

  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;
  ~PgTestServer();

  // postgresql://warden@127.0.0.1:<port>/<database>
  std::string Url(std::string_view database = "postgres") const;
  // The same database through the unix socket in the server's directory.
  std::string SocketUrl(std::string_view database = "postgres") const;
  // A new, empty database with a unique name; returns its TCP URL.
  Result<std::string> CreateDatabase();

  // Stops the server (immediately, like a crash) / starts it again on the same port and data.
  Status Stop();
  Status Restart();
  int port() const { return port_; }
  // The directory holding the data, the socket and the logs.
  const std::string& dir() const { return dir_.path(); }

 private:
  PgTestServer(sys::TempDir dir, int port, PgTestServerOptions options)
      : dir_(std::move(dir)), port_(port), options_(std::move(options)) {}
  Status RunTool(const std::string& tool, const std::vector<std::string>& args);
  Status StartServer();

  sys::TempDir dir_;
  int port_;
  PgTestServerOptions options_;
  bool running_ = false;
  int databases_ = 0;
};

}  // namespace warden::jobs
