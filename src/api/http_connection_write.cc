// Writing responses: fixed bodies, pulled bodies piece by piece, pushed streams; the other half of
// http_connection.cc (see there for the connection's life).
#include <strings.h>

#include <array>
#include <iterator>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>

#include "api/http_internal.h"
#include "base/log.h"

namespace warden::api {
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Header names are tokens; values must not break the header block (response splitting).
bool SafeField(std::string_view name, std::string_view value) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (c <= ' ' || c >= 127 || c == ':') {
      return false;
    }
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool ServerOwned(std::string_view name) {
  for (std::string_view owned :
       {"Content-Length", "Transfer-Encoding", "Connection", "Server", "X-Request-Id"}) {
    if (name.size() == owned.size() && strncasecmp(name.data(), owned.data(), name.size()) == 0) {
      return true;
    }
  }
  return false;
}

bool BodyForbidden(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

std::string ResponseHead(const Response& response, std::string_view request_id, Framing framing,
                         bool keep_alive, bool http11) {
  std::string_view reason = http::obsolete_reason(http::int_to_status(response.status));
  if (http::int_to_status(response.status) == http::status::unknown) {
    reason = "Unknown";
  }
  std::string head = fmt::format("HTTP/1.1 {} {}\r\nServer: warden\r\nX-Request-Id: {}\r\n",
                                 response.status, reason, request_id);
  for (const auto& [name, value] : response.headers) {
    if (ServerOwned(name)) {
      continue;
    }
    if (!SafeField(name, value)) {
      LOG_ERROR("{}: dropped an invalid response header \"{}\"", request_id, name);
      continue;
    }
    fmt::format_to(std::back_inserter(head), "{}: {}\r\n", name, value);
  }
  if (!response.headers.Has("Content-Type") && !BodyForbidden(response.status)) {
    head += "Content-Type: text/plain; charset=utf-8\r\n";
  }
  if (framing == Framing::kLength && !BodyForbidden(response.status)) {
    fmt::format_to(std::back_inserter(head), "Content-Length: {}\r\n", response.body.size());
  } else if (framing == Framing::kChunked) {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (!http11) {
    head += "Connection: keep-alive\r\n";
  }
  head += kCrlf;
  return head;
}

void Connection::Reply(Response response, const std::string& request_id) {
  if (phase_ != Phase::kHandling) {
    return;  // cut off by Stop(), or the client left
  }
  if (watch_reading_) {
    // The client watch reads into buffer_: once it stopped, nothing else uses it (OnClientData).
    parked_ = Parked{std::move(response), request_id};
    boost::system::error_code ignored;
    transport_->socket().cancel(ignored);
    return;
  }
  if (client_) {
    client_->Release();
    client_.reset();
  }
  if (server_.stopping()) {
    keep_alive_ = false;
  }
  if (head_only_) {
    // The headers of the answer to a GET, Content-Length included, and no body (RFC 9110 9.3.2).
    bool streamed = response.pull || response.push;
    if (streamed && !chunked_) {
      keep_alive_ = false;
    }
    Framing framing = !streamed  ? Framing::kLength
                      : chunked_ ? Framing::kChunked
                                 : Framing::kUntilClose;
    WriteFixed(ResponseHead(response, request_id, framing, keep_alive_, chunked_), std::string());
    return;
  }
  if (response.push) {
    StartStream(std::move(response), request_id);
  } else if (response.pull) {
    StartPull(std::move(response), request_id);
  } else {
    std::string head = ResponseHead(response, request_id, Framing::kLength, keep_alive_, chunked_);
    if (BodyForbidden(response.status)) {
      response.body.clear();
    }
    WriteFixed(std::move(head), std::move(response.body));
  }
}

void Connection::WriteFixed(std::string head, std::string body) {
  phase_ = Phase::kWriting;
  head_ = std::move(head);
  body_ = std::move(body);
  ArmTimer(options_.idle_timeout);
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_), asio::buffer(body_)};
  asio::async_write(transport_->stream(), buffers,
                    [self = shared_from_this()](boost::system::error_code ec, size_t) {
                      self->OnFixedWritten(ec);
                    });
}

void Connection::OnFixedWritten(boost::system::error_code ec) {
  if (phase_ != Phase::kWriting) {
    return;
  }
  head_ = std::string();
  body_ = std::string();  // release a large body now, not at the next response
  if (ec) {
    CloseNow();
    return;
  }
  FinishResponse();
}

void Connection::StartPull(Response response, const std::string& request_id) {
  phase_ = Phase::kPulling;
  pull_ = std::move(response.pull);
  if (!chunked_) {
    keep_alive_ = false;  // an HTTP/1.0 client learns of the end from the closed connection
  }
  head_ = ResponseHead(response, request_id, chunked_ ? Framing::kChunked : Framing::kUntilClose,
                       keep_alive_, chunked_);
  // The head goes out at once, so the client knows the status before the first piece is ready.
  WritePull(false);
}

void Connection::PullNext() {
  DisarmTimer();
  if (!server_.pool().Submit([self = shared_from_this()] { self->RunPull(); })) {
    CloseNow();
  }
}

void Connection::RunPull() {
  Result<std::optional<std::string>> piece = std::optional<std::string>();
  try {
    piece = pull_();
  } catch (const std::exception& e) {
    piece = Error(ErrorCode::kInternal, std::string("the body producer threw: ") + e.what());
  }
  asio::post(executor_, [self = shared_from_this(), piece = std::move(piece)]() mutable {
    self->OnPulled(std::move(piece));
  });
}

void Connection::OnPulled(Result<std::optional<std::string>> piece) {
  if (phase_ != Phase::kPulling) {
    return;
  }
  if (!piece.ok()) {
    // Too late for an error status: a truncated chunked body tells the client it failed.
    LOG_WARN("HTTP download to {} cut short: {}", remote_, piece.error().ToString());
    CloseNow();
    return;
  }
  if (!piece->has_value()) {
    pull_ = nullptr;  // release what the producer holds (an open file) now
    chunk_line_ = chunked_ ? std::string(kLastChunk) : std::string();
    WritePull(true);
    return;
  }
  if ((*piece)->empty()) {
    PullNext();  // an empty chunk would end the body
    return;
  }
  body_ = std::move(**piece);
  chunk_line_ = chunked_ ? fmt::format("{:x}\r\n", body_.size()) : std::string();
  WritePull(false);
}

void Connection::WritePull(bool last) {
  bool framed = chunked_ && !body_.empty();
  std::array<asio::const_buffer, 4> buffers = {
      asio::buffer(head_), asio::buffer(chunk_line_), asio::buffer(body_),
      asio::buffer(kCrlf.data(), framed ? kCrlf.size() : 0)};
  ArmTimer(options_.idle_timeout);
  asio::async_write(transport_->stream(), buffers,
                    [self = shared_from_this(), last](boost::system::error_code ec, size_t) {
                      self->OnPullWritten(ec, last);
                    });
}

void Connection::OnPullWritten(boost::system::error_code ec, bool last) {
  if (phase_ != Phase::kPulling) {
    return;
  }
  head_.clear();
  chunk_line_.clear();
  body_.clear();
  if (ec) {
    CloseNow();
    return;
  }
  if (!last) {
    PullNext();
    return;
  }
  head_ = std::string();
  body_ = std::string();
  FinishResponse();
}

void Connection::StartStream(Response response, const std::string& request_id) {
  phase_ = Phase::kStreaming;
  // Whatever the client sends from now on is ignored (see WatchPeer), so the connection cannot
  // serve another request after the stream.
  keep_alive_ = false;
  std::string head = ResponseHead(
      response, request_id, chunked_ ? Framing::kChunked : Framing::kUntilClose, false, chunked_);
  std::weak_ptr<Connection> weak = shared_from_this();
  stream_ = std::make_shared<StreamImpl>(std::move(head), options_.max_stream_queue_bytes, chunked_,
                                         [weak, executor = executor_] {
                                           asio::post(executor, [weak] {
                                             if (std::shared_ptr<Connection> self = weak.lock()) {
                                               self->FlushStream();
                                             }
                                           });
                                         });
  // A follower may stay for hours: keep nothing per connection that the stream does not need.
  buffer_.consume(buffer_.size());
  buffer_.shrink_to_fit();
  FlushStream();
  wrote_since_ping_ = false;  // the head does not count: the first ping is one interval away
  WatchPeer();
  ArmTimer(std::max<Clock::duration>(options_.keepalive_ping, std::chrono::seconds(1)));
  auto start = [stream = stream_, push = std::move(response.push)] {
    try {
      push(stream);
    } catch (const std::exception& e) {
      LOG_ERROR("SSE stream starter threw: {}", e.what());
      stream->Close();
    }
  };
  if (!server_.pool().Submit(std::move(start))) {
    CloseNow();
  }
}

void Connection::FlushStream() {
  if (phase_ != Phase::kStreaming) {
    return;
  }
  stream_->RunCloseCallbacks();  // after Close() or an overflow: not on the writer's thread
  if (stream_writing_) {
    return;  // OnStreamWritten flushes again
  }
  StreamImpl::Next next = stream_->Take(&stream_out_);
  if (next == StreamImpl::Next::kAbandoned) {
    CloseNow();
    return;
  }
  if (stream_out_.empty()) {
    if (next == StreamImpl::Next::kLast) {
      LingerClose();
    }
    return;
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(stream_out_.size());
  for (const std::string& piece : stream_out_) {
    buffers.push_back(asio::buffer(piece));
  }
  stream_writing_ = true;
  wrote_since_ping_ = true;
  write_started_ = Clock::now();
  asio::async_write(
      transport_->stream(), buffers,
      [self = shared_from_this(), last = next == StreamImpl::Next::kLast](
          boost::system::error_code ec, size_t bytes) { self->OnStreamWritten(ec, bytes, last); });
}

void Connection::OnStreamWritten(boost::system::error_code ec, size_t bytes, bool last) {
  stream_writing_ = false;
  stream_->Sent(bytes);
  stream_out_.clear();
  if (phase_ != Phase::kStreaming) {
    return;
  }
  if (ec) {
    CloseNow();
  } else if (last) {
    LingerClose();
  } else {
    FlushStream();
  }
}

void Connection::OnPingTick() {
  // A client that stopped reading while little is sent would never fill the queue's cap; a write
  // that has not completed for idle_timeout gives it away.
  if (stream_writing_ && Clock::now() - write_started_ >= options_.idle_timeout) {
    LOG_DEBUG("SSE stream to {} closed: the client stopped reading", remote_);
    CloseNow();
    return;
  }
  if (!wrote_since_ping_) {
    stream_->QueuePing();
  }
  wrote_since_ping_ = false;
  ArmTimer(std::max<Clock::duration>(options_.keepalive_ping, std::chrono::seconds(1)));
}

}  // namespace warden::api
