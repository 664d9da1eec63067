#include "mcp/stdio_transport.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>

#include "base/json_text.h"
#include "base/log.h"
#include "base/thread_pool.h"

namespace warden::mcp {
namespace {

// Writes whole lines to the client. Thread-safe. A client that stopped reading is noticed once.
class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}

  void Send(const json::object& message) {
    std::string line = SerializeJson(message);
    line += '\n';
    std::lock_guard lock(mu_);
    std::string_view rest = line;
    while (!rest.empty() && !broken_) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        LOG_WARN("the MCP client stopped reading: {}", ErrnoDescription(errno));
        broken_ = true;
        return;
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  const int fd_;
  std::mutex mu_;
  bool broken_ = false;  // guarded by mu_
};

// Waits until `fd` is readable or `stop` is cancelled; false for the latter.
bool WaitReadable(int fd, const sandbox::CancelToken* stop) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop != nullptr ? stop->fd() : -1, POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n > 0 && fds[1].revents == 0;
  }
}

void HandleLine(Session& session, std::string_view line, LineWriter& writer, ThreadPool& calls) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
    return;  // a blank line is no message
  }
  auto send = [&writer](const json::object& message) {
    writer.Send(message);
  };
  Handled handled = session.Handle(line, send);
  if (handled.reply) {
    writer.Send(*handled.reply);
  } else if (handled.call) {
    calls.Submit([&writer, call = std::move(handled.call)] { writer.Send(call()); });
  }
}

}  // namespace

Status ServeStdio(Session& session, int in_fd, int out_fd, const sandbox::CancelToken* stop,
                  const StdioOptions& options) {
  LineWriter writer(out_fd);
  ThreadPool calls(options.call_threads);
  std::string buffer;
  bool skipping = false;  // inside an over-long line, until its newline
  Status status;
  char chunk[65536];
  while (WaitReadable(in_fd, stop)) {
    ssize_t n = ::read(in_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n < 0) {
      status = ErrnoError("read(stdin)");
    }
    if (n <= 0) {
      break;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t end; (end = buffer.find('\n', start)) != std::string::npos; start = end + 1) {
      if (!skipping) {
        HandleLine(session, std::string_view{buffer}.substr(start, end - start), writer, calls);
      }
      skipping = false;
    }
    buffer.erase(0, start);
    if (buffer.size() > options.max_line_bytes) {
      writer.Send(ErrorReply(nullptr, kInvalidRequest,
                             "message longer than the limit of this server; it was skipped"));
      buffer.clear();
      skipping = true;
    }
  }
  if (!skipping && !buffer.empty()) {
    HandleLine(session, buffer, writer, calls);  // a last message without its newline
  }
  // Queued calls registered their tokens when they were read: they start, and end, cancelled.
  session.CancelAll();
  calls.Stop();
  return status;
}

}  // namespace warden::mcp
