// A blocking HTTP/1.1 client for the server's tests: just enough to send raw bytes and parse
// responses (Content-Length and chunked bodies, one chunk at a time for streams).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "api/http.h"
#include "base/unique_fd.h"

namespace warden::api::test {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool chunked = false;
  bool close = false;  // the server said Connection: close
};

// One blocking connection. Every read gives up after 10 s so that a broken server fails a test
// instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval timeout{10, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    int one = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }

  bool connected() const { return connected_; }
  int fd() const { return fd_.get(); }
  void Close() { fd_.reset(); }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  std::optional<Reply> Request(std::string_view method, std::string_view target,
                               std::string_view body = "", std::string_view extra_headers = "") {
    std::string request = std::string(method) + " " + std::string(target) +
                          " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers);
    if (!body.empty()) {
      request +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n";
    }
    request += "\r\n";
    request += body;
    if (!Send(request)) {
      return std::nullopt;
    }
    return ReadResponse();
  }

  // Reads a status line and headers.
  std::optional<Reply> ReadHead() {
    std::optional<std::string> status_line = ReadLine();
    if (!status_line || status_line->size() < 12) {
      return std::nullopt;
    }
    Reply reply;
    reply.status = std::stoi(status_line->substr(9, 3));
    while (true) {
      std::optional<std::string> line = ReadLine();
      if (!line) {
        return std::nullopt;
      }
      if (line->empty()) {
        break;
      }
      size_t colon = line->find(':');
      std::string name = line->substr(0, colon);
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      reply.headers[name] = line->substr(std::min(line->size(), colon + 2));
    }
    reply.chunked = reply.headers["transfer-encoding"] == "chunked";
    reply.close = reply.headers["connection"] == "close";
    return reply;
  }

  // Reads a whole response. With a sink, body bytes go there instead of into Reply::body.
  std::optional<Reply> ReadResponse(const std::function<void(std::string_view)>& sink = {}) {
    std::optional<Reply> reply = ReadHead();
    if (!reply) {
      return std::nullopt;
    }
    auto collect = [&](std::string_view bytes) {
      if (sink) {
        sink(bytes);
      } else {
        reply->body.append(bytes);
      }
    };
    if (reply->chunked) {
      while (true) {
        std::optional<size_t> size = ReadChunkSize();
        if (!size) {
          return std::nullopt;
        }
        if (*size == 0) {
          return ReadLine() ? reply : std::nullopt;
        }
        if (!ReadExactly(*size, collect) || !ReadLine()) {
          return std::nullopt;
        }
      }
    }
    if (reply->headers.count("content-length") == 0) {
      return reply;
    }
    size_t length = std::stoul(reply->headers["content-length"]);
    return ReadExactly(length, collect) ? reply : std::nullopt;
  }

  // Reads one chunk of a chunked body: std::nullopt when the connection ended first, "" for the
  // last chunk.
  std::optional<std::string> ReadChunk() {
    std::optional<size_t> size = ReadChunkSize();
    if (!size) {
      return std::nullopt;
    }
    std::string data;
    if (!ReadExactly(*size, [&](std::string_view bytes) { data.append(bytes); }) || !ReadLine()) {
      return std::nullopt;
    }
    return data;
  }

  // True once the server closed the connection (EOF or reset).
  bool WaitClosed() {
    while (Fill()) {
      buffer_.clear();
    }
    return eof_;
  }

 private:
  bool Fill() {
    char data[65536];
    ssize_t n = ::recv(fd_.get(), data, sizeof(data), 0);
    if (n <= 0) {
      eof_ = n == 0 || errno == ECONNRESET;
      return false;
    }
    buffer_.append(data, static_cast<size_t>(n));
    return true;
  }

  std::optional<std::string> ReadLine() {
    while (true) {
      size_t end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      if (!Fill()) {
        return std::nullopt;
      }
    }
  }

  std::optional<size_t> ReadChunkSize() {
    std::optional<std::string> line = ReadLine();
    if (!line || line->empty()) {
      return std::nullopt;
    }
    return std::stoul(*line, nullptr, 16);
  }

  bool ReadExactly(size_t length, const std::function<void(std::string_view)>& sink) {
    while (length > 0) {
      if (buffer_.empty() && !Fill()) {
        return false;
      }
      size_t n = std::min(length, buffer_.size());
      std::string_view available = buffer_;
      sink(available.substr(0, n));
      buffer_.erase(0, n);
      length -= n;
    }
    return true;
  }

  UniqueFd fd_;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
};

// A latch the test opens; handlers wait on it. Thread-safe.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

inline std::unique_ptr<HttpServer> StartServer(Handler handler, ServerOptions options = {}) {
  options.port = 0;
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.error().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

inline json::value ParseJson(const std::string& text) {
  return json::parse(text);
}

// Resident memory of this process, which holds the server and the clients.
inline int64_t ResidentKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6));
    }
  }
  return -1;
}

}  // namespace warden::api::test
