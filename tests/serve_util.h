// Helpers of the serve_*_test.cc suites: the real `warden serve` binary started with a private
// data directory, HOME and configuration; the `warden` client verbs run as a user runs them; a
// small blocking HTTP/1.1 client over POSIX sockets (fixed and chunked bodies, raw requests for
// malformed input) and an SSE reader that hands events over as they arrive. Header-only: the test
// target lists its sources alone. Not thread-safe.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "base/unique_fd.h"

namespace warden::serve_test {

using Deadline = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

inline Deadline After(milliseconds timeout) {
  return std::chrono::steady_clock::now() + timeout;
}

inline int MsLeft(Deadline deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
}

// errno as text (thread-safe, unlike strerror).
inline std::string ErrnoText() {
  return std::error_code(errno, std::generic_category()).message();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// SHA-256 of `data` as 64 hex digits, computed by coreutils' sha256sum (not Warden's own code).
inline std::string Sha256Sum(const std::string& scratch_dir, std::string_view data) {
  std::string path = scratch_dir + "/sha256-input";
  WriteFile(path, data);
  std::string digest;
  if (FILE* pipe = ::popen(("sha256sum < '" + path + "'").c_str(), "r"); pipe != nullptr) {
    char buf[128] = {};
    size_t got = std::fread(buf, 1, sizeof(buf) - 1, pipe);
    ::pclose(pipe);
    digest.assign(buf, std::min<size_t>(got, 64));
  }
  return digest;
}

// A fresh directory under /tmp, removed with everything in it on destruction. Mode 0755, like an
// ordinary data directory: the sandbox user must be able to reach workspaces below it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + "XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr || ::chmod(pattern.c_str(), 0755) != 0) {
      ADD_FAILURE() << "mkdtemp/chmod: " << ErrnoText();
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// `warden serve --listen 127.0.0.1:0 <args>` with exactly PATH and `env` as its environment,
// stdin /dev/null, stdout piped to the test (for the "listening on" line), stderr into a file, in
// a session of its own. The destructor kills and reaps it if it still runs. `listen` replaces
// 127.0.0.1:0 (a port other than 0 would collide between tests); port() is then the port the
// server printed for it, which the clients below reach on 127.0.0.1.
class ServeProcess {
 public:
  // `listen` "": `warden worker` instead, which listens nowhere; it is ready once it printed its
  // "warden worker:" line (ready()).
  // `cgroup_procs_fd`: an open cgroup.procs file (v2) the child moves itself into before exec,
  // as a service manager starts a service in its own cgroup; -1: the test's cgroup.
  ServeProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
               std::string stderr_path, std::string listen = "127.0.0.1:0",
               int cgroup_procs_fd = -1)
      : stderr_path_(std::move(stderr_path)), listening_host_(listen.substr(0, listen.rfind(':'))) {
    // Everything the child uses is built before fork(): FakeLlm's threads may hold locks.
    std::vector<std::string> argv_storage = {WARDEN_BINARY, "serve", "--listen", listen};
    worker_ = listen.empty();
    if (worker_) {
      argv_storage = {WARDEN_BINARY, "worker"};
    }
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<std::string> env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"};
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> argv;
    argv.reserve(argv_storage.size() + 1);
    for (std::string& arg : argv_storage) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env_storage.size() + 1);
    for (std::string& entry : env_storage) {
      envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << ErrnoText();
      return;
    }
    UniqueFd in_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    UniqueFd err_fd(::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid();
      ::dup2(in_fd.get(), 0);
      ::dup2(out[1], 1);
      ::dup2(err_fd.get(), 2);
      if (cgroup_procs_fd >= 0 && ::write(cgroup_procs_fd, "0", 1) != 1) {
        ::_exit(126);  // "0": the writing process itself
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_fd_.reset(out[0]);
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << ErrnoText();
      return;
    }
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    WaitUntilListening(After(milliseconds(10'000)));
  }

  ~ServeProcess() { Kill(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // 0 until the server printed its "listening on" line (within 10 s of its start).
  uint16_t port() const { return port_; }
  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, then waits up to `timeout` for the exit. Returns the exit code; -1 when a signal
  // ended it or it had to be killed at the deadline (a failure of the test).
  int Stop(milliseconds timeout = milliseconds(15'000)) {
    if (pid_ <= 0) {
      return exit_code_;
    }
    ::kill(pid_, SIGTERM);
    pollfd p = {pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      ADD_FAILURE() << "warden serve did not stop within " << timeout.count() << " ms of SIGTERM\n"
                    << Describe();
    }
    Kill();
    return exit_code_;
  }

  // SIGKILL (when still running) and reap.
  void Kill() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
  }

  // What the server printed, for failure messages.
  std::string Describe() const {
    return fmt::format("--- warden serve stdout ---\n{}\n--- stderr ---\n{}", out_,
                       ReadFile(stderr_path_).substr(0, 20'000));
  }

 private:
  void WaitUntilListening(Deadline deadline) {
    for (;;) {
      if (worker_ && out_.find("warden worker: ") != std::string::npos &&
          out_.find('\n') != std::string::npos) {
        ready_ = true;
        return;
      }
      // "listening on http://127.0.0.1:PORT", or https:// with TLS.
      std::string prefix = "listening on https://" + listening_host_ + ":";
      size_t at = out_.find(prefix);
      if (at == std::string::npos) {
        prefix = "listening on http://" + listening_host_ + ":";
        at = out_.find(prefix);
      }
      if (at != std::string::npos && !worker_) {
        size_t end = out_.find_first_not_of("0123456789", at + prefix.size());
        if (end != std::string::npos) {
          port_ = static_cast<uint16_t>(std::stoi(out_.substr(at + prefix.size())));
          ready_ = true;
          return;
        }
      }
      pollfd p = {stdout_fd_.get(), POLLIN, 0};
      int ready = ::poll(&p, 1, MsLeft(deadline));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      char buf[4096];
      ssize_t got = ready == 1 ? ::read(stdout_fd_.get(), buf, sizeof(buf)) : -1;
      if (got <= 0) {
        ADD_FAILURE() << "warden " << (worker_ ? "worker" : "serve")
                      << " did not print the line that says it is ready\n"
                      << Describe();
        return;
      }
      out_.append(buf, static_cast<size_t>(got));
    }
  }

  std::string stderr_path_;
  std::string listening_host_;  // "127.0.0.1"
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd stdout_fd_;
  std::string out_;
  uint16_t port_ = 0;
  bool worker_ = false;
  bool ready_ = false;
  int exit_code_ = -1;
};

// --- HTTP ----------------------------------------------------------------------------------

struct HttpResponse {
  int status = 0;                              // 0: no (complete) response; `error` says why
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
  std::string error;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  // The body as a JSON object; empty when it is not one.
  json::object Json() const {
    boost::system::error_code ec;
    json::value value = json::parse(body, ec);
    return !ec && value.is_object() ? value.get_object() : json::object{};
  }
  // The "code" of a JSON error body {"error": {"code", "message"}}, or "".
  std::string ErrorCode() const {
    json::object object = Json();
    const json::value* body_error = object.if_contains("error");
    const json::value* code = body_error != nullptr && body_error->is_object()
                                  ? body_error->get_object().if_contains("code")
                                  : nullptr;
    return code != nullptr && code->is_string() ? std::string(code->get_string()) : "";
  }
  std::string Describe() const {
    return fmt::format("HTTP {} {}\n{}", status, error, body.substr(0, 4000));
  }
};

// Decodes the complete chunks at the front of `raw` into `out`, consuming them. Sets `done` at the
// terminating zero-length chunk (and its empty trailer). False for malformed framing.
inline bool DecodeChunks(std::string& raw, std::string& out, bool& done) {
  while (!done) {
    size_t line_end = raw.find("\r\n");
    if (line_end == std::string::npos) {
      return true;
    }
    char* end = nullptr;
    uint64_t size = std::strtoull(raw.c_str(), &end, 16);
    if (end == raw.c_str()) {
      return false;
    }
    if (size == 0) {
      size_t trailer_end = raw.find("\r\n\r\n", line_end);
      if (trailer_end == std::string::npos) {
        return true;
      }
      raw.erase(0, trailer_end + 4);
      done = true;
      return true;
    }
    if (raw.size() < line_end + 2 + size + 2) {
      return true;
    }
    out.append(raw, line_end + 2, size);
    raw.erase(0, line_end + 2 + size + 2);
  }
  return true;
}

// One connection to 127.0.0.1:port, reading with deadlines.
class Connection {
 public:
  // `receive_buffer` > 0 sets SO_RCVBUF (before connecting): a client whose kernel holds little
  // for it, so that the server feels it reading slowly.
  explicit Connection(uint16_t port, int receive_buffer = 0) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (receive_buffer > 0) {
      ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      error_ = fmt::format("connect(127.0.0.1:{}): {}", port, ErrnoText());
      fd_.reset();
    }
  }

  const std::string& error() const { return error_; }
  bool timed_out() const { return timed_out_; }  // the last ReadSome ran into its deadline

  bool Send(std::string_view data) {
    while (fd_.valid() && !data.empty()) {
      ssize_t sent = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) {
        continue;
      }
      if (sent < 0) {
        error_ = fmt::format("send: {}", ErrnoText());
        return false;
      }
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return fd_.valid();
  }

  // Appends what arrives before `deadline` to `buffer`. False at EOF, an error or the deadline.
  bool ReadSome(std::string& buffer, Deadline deadline) {
    timed_out_ = false;
    for (;;) {
      pollfd p = {fd_.get(), POLLIN, 0};
      int ready = ::poll(&p, 1, MsLeft(deadline));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      if (ready == 0) {
        error_ = "timed out";
        timed_out_ = true;
        return false;
      }
      char buf[65536];
      ssize_t got = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        error_ = got == 0 ? "connection closed" : fmt::format("recv: {}", ErrnoText());
        return false;
      }
      buffer.append(buf, static_cast<size_t>(got));
      return true;
    }
  }

  // Reads the status line and headers into `response`; what follows them stays in `rest`.
  bool ReadHead(HttpResponse& response, std::string& rest, Deadline deadline) {
    size_t end;
    while ((end = rest.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadSome(rest, deadline)) {
        response.error = "reading the head: " + error_;
        return false;
      }
    }
    std::istringstream lines(rest.substr(0, end + 2));
    rest.erase(0, end + 4);
    std::string line;
    std::getline(lines, line);
    if (!line.starts_with("HTTP/1.")) {
      response.error = "bad status line: " + line;
      return false;
    }
    int status = std::atoi(line.c_str() + 9);
    while (std::getline(lines, line) && line.size() > 1) {
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      size_t value_at = line.find_first_not_of(' ', colon + 1);
      response.headers[name] = line.substr(value_at, line.size() - 1 - value_at);  // no '\r'
    }
    response.status = status;
    return true;
  }

  // Reads one whole response: Content-Length, chunked, or until the connection closes.
  HttpResponse ReadResponse(Deadline deadline) {
    HttpResponse response;
    std::string rest;
    if (!ReadHead(response, rest, deadline)) {
      return response;
    }
    if (response.Header("transfer-encoding").find("chunked") != std::string::npos) {
      bool done = false;
      while (DecodeChunks(rest, response.body, done) && !done) {
        if (!ReadSome(rest, deadline)) {
          break;
        }
      }
      if (!done) {
        response.error = "chunked body cut short: " + error_;
        response.status = 0;
      }
      return response;
    }
    std::string length = response.Header("content-length");
    size_t want = length.empty() ? std::string::npos : std::stoull(length);
    while (rest.size() < want && ReadSome(rest, deadline)) {
    }
    if (want != std::string::npos && rest.size() < want) {
      response.error =
          fmt::format("body cut short at {} of {} bytes: {}", rest.size(), want, error_);
      response.status = 0;
    }
    response.body = std::move(rest);
    return response;
  }

 private:
  UniqueFd fd_;
  std::string error_;
  bool timed_out_ = false;
};

// A client of one server; every request on a connection of its own ("Connection: close").
class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : port_(port) {}

  HttpResponse Get(const std::string& target, const std::string& extra_headers = "") const {
    return Raw(fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Connection: close\r\n\r\n",
                           target, extra_headers));
  }
  HttpResponse Post(const std::string& target, const std::string& body) const {
    return Raw(
        fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                    target, body.size(), body));
  }
  HttpResponse PostJson(const std::string& target, const json::value& body) const {
    return Post(target, json::serialize(body));
  }

  // Sends `request` exactly as given and reads one response.
  HttpResponse Raw(std::string_view request, milliseconds timeout = milliseconds(10'000)) const {
    Connection connection(port_);
    if (!connection.Send(request)) {
      HttpResponse failed;
      failed.error = connection.error();
      return failed;
    }
    return connection.ReadResponse(After(timeout));
  }

  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
};

// The text of every message of a chat request, joined.
inline std::string Conversation(const json::value& body) {
  std::string text;
  for (const json::value& message : body.at("messages").get_array()) {
    if (const json::value* content = message.get_object().if_contains("content");
        content != nullptr && content->is_string()) {
      text += std::string(content->get_string()) + "\n";
    }
  }
  return text;
}

// --- The warden binary as a client --------------------------------------------------------

struct Exit {
  int code = -1;  // -1: killed by a signal, or at the deadline
  std::string out;
  std::string err;
};

// Runs `WARDEN_BINARY args...` with PATH and `env` as its environment until it exits (killed, and
// a failure, after `timeout`), collecting its stdout and stderr. Its stdin is the file
// `stdin_path`; it runs in `cwd` ("": the test's own).
inline Exit RunWarden(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      milliseconds timeout = milliseconds(20'000),
                      const std::string& stdin_path = "/dev/null", const std::string& cwd = "") {
  std::vector<std::string> argv_storage = {WARDEN_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"};
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  std::vector<char*> argv, envp;
  for (std::string& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  for (std::string& entry : env_storage) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);
  int out[2], err[2];
  Exit exit;
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << ErrnoText();
    return exit;
  }
  UniqueFd in_fd(::open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      ::_exit(126);
    }
    ::dup2(in_fd.get(), 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  UniqueFd out_fd(out[0]), err_fd(err[0]);
  Deadline deadline = After(timeout);
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && MsLeft(deadline) > 0) {
    pollfd fds[2] = {{out_open ? out_fd.get() : -1, POLLIN, 0},
                     {err_open ? err_fd.get() : -1, POLLIN, 0}};
    if (::poll(fds, 2, MsLeft(deadline)) <= 0) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (i == 0 ? exit.out : exit.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  if (out_open || err_open) {
    ADD_FAILURE() << "warden " << args[0] << " still ran after " << timeout.count()
                  << " ms\nstdout: " << exit.out << "\nstderr: " << exit.err;
    ::kill(-pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  exit.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit;
}

// --- SSE -----------------------------------------------------------------------------------

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};

// GET `target` with "Accept: text/event-stream" (and Last-Event-ID when given); then events one
// at a time as the server sends them.
class SseStream {
 public:
  SseStream(uint16_t port, const std::string& target, const std::string& last_event_id = "",
            int receive_buffer = 0)
      : connection_(port, receive_buffer) {
    std::string request = fmt::format(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{}\r\n", target,
        last_event_id.empty() ? "" : "Last-Event-ID: " + last_event_id + "\r\n");
    if (connection_.Send(request)) {
      connection_.ReadHead(head_, raw_, After(milliseconds(10'000)));
      chunked_ = head_.Header("transfer-encoding").find("chunked") != std::string::npos;
    }
    ended_ = head_.status == 0;
  }

  const HttpResponse& head() const { return head_; }
  // True once the server ended the stream (or it broke); false while it may send more.
  bool ended() const { return ended_; }
  bool clean_end() const { return clean_end_; }  // ended with the terminating chunk

  // The next event, waiting until `timeout` passes; nullopt at the end of the stream (ended())
  // or at the timeout. Comments (": ping") are skipped.
  std::optional<SseEvent> Next(milliseconds timeout) {
    Deadline deadline = After(timeout);
    for (;;) {
      // What came with the head, or with the last read, first.
      Decode();
      if (std::optional<SseEvent> event = TakeEvent()) {
        return event;
      }
      if (ended_) {
        return std::nullopt;
      }
      if (!connection_.ReadSome(raw_, deadline)) {
        if (connection_.timed_out()) {
          return std::nullopt;
        }
        ended_ = true;  // once more round the loop for what is left
      }
    }
  }

  // Every event up to the end of the stream (at most `timeout` in all).
  std::vector<SseEvent> Rest(milliseconds timeout) {
    Deadline deadline = After(timeout);
    std::vector<SseEvent> events;
    while (std::optional<SseEvent> event = Next(milliseconds(MsLeft(deadline)))) {
      events.push_back(std::move(*event));
    }
    return events;
  }

 private:
  void Decode() {
    if (!chunked_) {
      text_ += raw_;
      raw_.clear();
    } else if (!DecodeChunks(raw_, text_, clean_end_)) {
      ADD_FAILURE() << "bad chunked framing in an SSE stream";
      raw_.clear();
      ended_ = true;
    }
    ended_ = ended_ || clean_end_;
  }

  std::optional<SseEvent> TakeEvent() {
    for (;;) {
      size_t end = text_.find("\n\n");
      if (end == std::string::npos) {
        return std::nullopt;
      }
      std::string block = text_.substr(0, end + 1);
      text_.erase(0, end + 2);
      SseEvent event;
      bool any = false;
      std::istringstream lines(block);
      for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == ':') {
          continue;
        }
        size_t colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (value.starts_with(' ')) {
          value.erase(0, 1);
        }
        any = true;
        if (field == "id") {
          event.id = value;
        } else if (field == "event") {
          event.event = value;
        } else if (field == "data") {
          event.data += event.data.empty() ? value : "\n" + value;
        }
      }
      if (any) {
        return event;
      }
    }
  }

  Connection connection_;
  HttpResponse head_;
  std::string raw_;   // bytes received and not yet de-chunked
  std::string text_;  // de-chunked text not yet parsed into events
  bool chunked_ = false;
  bool ended_ = false;
  bool clean_end_ = false;
};

// --- Processes -----------------------------------------------------------------------------

// Host processes whose command line (arguments joined by spaces) contains `needle`.
inline std::vector<pid_t> ProcessesMatching(std::string_view needle) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::string cmdline = ReadFile(it->path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) {
      found.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return found;
}

}  // namespace warden::serve_test
