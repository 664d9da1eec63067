#include "jobs/pg_test_server.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include <libpq-fe.h>

#include "base/unique_fd.h"

namespace warden::jobs {
namespace {

constexpr std::string_view kUser = "warden";  // the server's superuser, trusted on loopback

// The last `max` bytes of a file: the useful end of a server log.
std::string Tail(const std::string& path, size_t max = 2000) {
  auto text = sys::ReadFile(path);
  if (!text.ok()) {
    return "(no log: " + text.error().message() + ")";
  }
  return text->size() > max ? text->substr(text->size() - max) : *text;
}

// A port nobody listens on now. Another process may take it before the server binds it; the
// server then fails to start with a clear log.
Result<int> FreeLoopbackPort() {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return Error(ErrorCode::kInternal, "socket(AF_INET): " + ErrnoDescription(errno), errno);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Error(ErrorCode::kInternal, "bind(127.0.0.1:0): " + ErrnoDescription(errno), errno);
  }
  return ntohs(addr.sin_port);
}

// Who runs the server: PostgreSQL refuses to run as root, so root hands it to `postgres`.
struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<RunAs> ServerUser() {
  if (geteuid() != 0) {
    return RunAs{};
  }
  passwd entry{};
  passwd* pw = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r("postgres", &entry, buffer.data(), buffer.size(), &pw) != 0 || pw == nullptr) {
    return Error(ErrorCode::kFailedPrecondition,
                 "there is no `postgres` user to run the test PostgreSQL server as: run "
                 "scripts/setup.sh as root");
  }
  return RunAs{true, pw->pw_uid, pw->pw_gid};
}

}  // namespace

Result<std::unique_ptr<PgTestServer>> PgTestServer::Start(PgTestServerOptions options) {
  const std::string initdb = options.bin_dir + "initdb";
  if (access(initdb.c_str(), X_OK) != 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 "PostgreSQL 15 is not installed (" + initdb +
                     " is missing): run scripts/setup.sh as root, which installs it");
  }
  ASSIGN_OR_RETURN(RunAs user, ServerUser());
  ASSIGN_OR_RETURN(sys::TempDir dir, sys::TempDir::Create("warden-pg-"));
  if (user.switch_user && chown(dir.path().c_str(), user.uid, user.gid) != 0) {
    return Error(ErrorCode::kInternal, "chown(" + dir.path() + "): " + ErrnoDescription(errno),
                 errno);
  }
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
  const bool durable = options.durable;
  std::unique_ptr<PgTestServer> server(new PgTestServer(std::move(dir), port, std::move(options)));
  std::vector<std::string> args = {"-D",        server->dir_.path() + "/data",
                                   "-U",        std::string(kUser),
                                   "-A",        "trust",
                                   "-E",        "UTF8",
                                   "--locale=C"};
  if (!durable) {
    args.push_back("--no-sync");
  }
  RETURN_IF_ERROR(server->RunTool("initdb", args));
  RETURN_IF_ERROR(server->StartServer());
  return server;
}

Result<PgTestServer*> PgTestServer::Shared() {
  static std::once_flag once;
  static Result<std::unique_ptr<PgTestServer>>* started = nullptr;
  std::call_once(once, [] {
    // Never freed: a static's destructor would run after the tests' stores closed, but exit
    // handlers run in an order no test controls. atexit stops the server explicitly instead.
    started = new Result<std::unique_ptr<PgTestServer>>(Start());
    (void)std::atexit([] {
      if (started->ok()) {
        started->value().reset();
      }
    });
  });
  if (!started->ok()) {
    return started->error();
  }
  return started->value().get();
}

PgTestServer::~PgTestServer() {
  (void)Stop();
}

std::string PgTestServer::Url(std::string_view database) const {
  return "postgresql://" + std::string(kUser) + "@127.0.0.1:" + std::to_string(port_) + "/" +
         std::string(database);
}

std::string PgTestServer::SocketUrl(std::string_view database) const {
  return "postgresql://" + std::string(kUser) + "@/" + std::string(database) +
         "?host=" + dir_.path() + "&port=" + std::to_string(port_);
}

Result<std::string> PgTestServer::CreateDatabase() {
  const std::string name = "test_" + std::to_string(getpid()) + "_" + std::to_string(++databases_);
  PGconn* conn = PQconnectdb(Url().c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, ("CREATE DATABASE " + name).c_str());
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      error = PQresultErrorMessage(res);
    }
    PQclear(res);
  }
  PQfinish(conn);
  if (!error.empty()) {
    return Error(ErrorCode::kUnavailable, "creating test database " + name + ": " + error);
  }
  return Url(name);
}

Status PgTestServer::Stop() {
  if (!running_) {
    return OkStatus();
  }
  running_ = false;
  return RunTool("pg_ctl", {"stop", "-D", dir_.path() + "/data", "-m", "immediate", "-w"});
}

Status PgTestServer::Restart() {
  RETURN_IF_ERROR(Stop());
  return StartServer();
}

Status PgTestServer::StartServer() {
  std::string settings = "-p " + std::to_string(port_) + " -k " + dir_.path() +
                         " -c listen_addresses=127.0.0.1 -c max_connections=200";
  if (!options_.durable) {
    // Commits still reach the kernel before they return, so they survive Stop (a crash of the
    // server, not of the machine).
    settings += " -c fsync=off -c full_page_writes=off";
  }
  RETURN_IF_ERROR(RunTool("pg_ctl", {"start", "-w", "-t", "60", "-D", dir_.path() + "/data", "-l",
                                     dir_.path() + "/server.log", "-o", settings}));
  running_ = true;
  return OkStatus();
}

// Runs a PostgreSQL program as the server's user and waits for it. Its output goes to tool.log in
// the server's directory and is quoted when it fails.
Status PgTestServer::RunTool(const std::string& tool, const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(RunAs user, ServerUser());
  const std::string path = options_.bin_dir + tool;
  const std::string log = dir_.path() + "/tool.log";
  // Everything the child needs is made before fork: it only redirects, drops privileges, execs.
  std::vector<std::string> argv_strings = {path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_strings.size() + 1);
  for (std::string& arg : argv_strings) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  UniqueFd out(open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) {
    return Error(ErrorCode::kInternal, "open(" + log + "): " + ErrnoDescription(errno), errno);
  }
  if (user.switch_user) {
    (void)fchown(out.get(), user.uid, user.gid);
  }
  pid_t pid = fork();
  if (pid < 0) {
    return Error(ErrorCode::kInternal, "fork: " + ErrnoDescription(errno), errno);
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out.get(), 1) < 0 || dup2(out.get(), 2) < 0 ||
        chdir(dir_.path().c_str()) != 0) {
      _exit(126);
    }
    if (user.switch_user &&
        (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0)) {
      _exit(126);
    }
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return OkStatus();
  }
  return Error(ErrorCode::kInternal, tool + " failed (status " + std::to_string(status) + "):\n" +
                                         Tail(log) + "\nserver log:\n" +
                                         Tail(dir_.path() + "/server.log"));
}

}  // namespace warden::jobs
