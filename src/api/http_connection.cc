// One HTTP connection over Asio, requests parsed by Beast: the second of the two Beast files.
//
// A connection is a small state machine on its own strand. Reading a request, writing a response
// and waiting for the client are asynchronous; the handler, each piece of a pulled body and a
// stream's starter run on the worker pool, so an I/O thread never blocks.
#include <strings.h>

#include <array>
#include <iterator>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include "api/http_internal.h"
#include "api/http_request.h"
#include "base/log.h"

namespace warden::api {
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
// After the last response, how long input is drained before the socket is closed. Closing with
// unread input sends a RST, which can destroy the response (a 413) before the client reads it.
constexpr auto kLingerTimeout = std::chrono::seconds(2);

enum class Framing { kLength, kChunked, kUntilClose };

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

}  // namespace

Connection::Connection(ServerImpl& server, Tcp::socket socket, std::string remote)
    : server_(server),
      options_(server.options()),
      socket_(std::move(socket)),
      executor_(socket_.get_executor()),
      timer_(executor_),
      remote_(std::move(remote)),
      // Bounds what an idle connection keeps: a request head plus a little of what follows.
      buffer_(options_.max_header_bytes + 4096) {}

Connection::~Connection() {
  if (stream_) {
    stream_->Abandon();
  }
  server_.Unregister(this);
}

void Connection::Start() {
  boost::system::error_code ignored;
  socket_.set_option(Tcp::no_delay(true), ignored);  // small SSE events must not wait for Nagle
  ReadRequest();
}

void Connection::OnServerStop() {
  switch (phase_) {
    case Phase::kHandling:
    case Phase::kWriting:
      keep_alive_ = false;  // let this response finish, then close
      return;
    case Phase::kReading:
    case Phase::kPulling:
    case Phase::kStreaming:
      CloseNow();
      return;
    case Phase::kLingering:
    case Phase::kClosed:
      return;
  }
}

void Connection::AbandonStream() {
  if (stream_) {
    stream_->Abandon();
  }
}

void Connection::ReadRequest() {
  if (server_.stopping()) {
    CloseNow();
    return;
  }
  phase_ = Phase::kReading;
  if (buffer_.size() == 0) {
    buffer_.shrink_to_fit();  // an idle keep-alive connection holds no buffer
  }
  parser_.emplace();
  LimitParser(options_, *parser_);
  ArmTimer(options_.idle_timeout);
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnHeader(ec); });
}

void Connection::OnHeader(boost::system::error_code ec) {
  if (phase_ != Phase::kReading) {
    return;
  }
  if (ec) {
    OnReadError(ec);
    return;
  }
  // curl and others wait (a second, for curl) for this before sending a body. A body over the
  // limit was already refused above, from its Content-Length, so it is never asked for.
  std::string_view expect = parser_->get()[http::field::expect];
  if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
    asio::async_write(socket_, asio::buffer(kContinue),
                      [self = shared_from_this()](boost::system::error_code write_ec, size_t) {
                        if (write_ec) {
                          self->CloseNow();
                        } else if (self->phase_ == Phase::kReading) {
                          self->ReadBody();
                        }
                      });
    return;
  }
  ReadBody();
}

void Connection::ReadBody() {
  if (parser_->is_done()) {
    OnBody({});
    return;
  }
  http::async_read(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnBody(ec); });
}

void Connection::OnReadError(boost::system::error_code ec) {
  if (std::optional<Rejection> rejection = RejectionFor(ec, options_)) {
    Reject(rejection->status, rejection->code, rejection->message);
  } else {
    CloseNow();  // the client left (between requests or in the middle of one), or a timeout
  }
}

void Connection::Reject(int status, std::string_view code, std::string_view message) {
  Request request;
  request.remote = remote_;
  if (parser_ && parser_->got_some()) {
    request.method = std::string(parser_->get().method_string());
    request.raw_target = std::string(parser_->get().target());
  }
  request.request_id = server_.NewRequestId("");
  server_.Finished(request, status, std::chrono::microseconds(0));
  parser_.reset();
  keep_alive_ = false;  // what follows in the stream cannot be trusted to be a request
  Response response = Response::Error(status, code, message);
  std::string head = ResponseHead(response, request.request_id, Framing::kLength, false, true);
  WriteFixed(std::move(head), std::move(response.body));
}

void Connection::OnBody(boost::system::error_code ec) {
  if (phase_ != Phase::kReading) {
    return;
  }
  if (ec) {
    OnReadError(ec);
    return;
  }
  DisarmTimer();  // a handler may take its time
  RequestMessage message = parser_->release();
  parser_.reset();
  keep_alive_ = message.keep_alive();
  chunked_ = message.version() >= 11;
  Request request;
  if (!ToRequest(std::move(message), &request)) {
    Reject(400, "bad_request", "the request target is not a valid path");
    return;
  }
  request.remote = remote_;
  request.request_id = server_.NewRequestId(request.headers.Get("X-Request-Id"));
  phase_ = Phase::kHandling;
  auto task = [self = shared_from_this(), request = std::move(request)]() mutable {
    self->RunHandler(request);
  };
  if (!server_.pool().Submit(std::move(task))) {
    CloseNow();  // the server is stopping
  }
}

void Connection::RunHandler(Request& request) {
  Response response = server_.Call(request);
  asio::post(executor_, [self = shared_from_this(), response = std::move(response),
                         id = std::move(request.request_id)]() mutable {
    self->Reply(std::move(response), id);
  });
}

void Connection::Reply(Response response, const std::string& request_id) {
  if (phase_ != Phase::kHandling) {
    return;  // cut off by Stop()
  }
  if (server_.stopping()) {
    keep_alive_ = false;
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
  asio::async_write(socket_, buffers,
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

void Connection::FinishResponse() {
  if (keep_alive_) {
    ReadRequest();
  } else {
    LingerClose();
  }
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
  asio::async_write(socket_, buffers,
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
      socket_, buffers,
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

void Connection::LingerClose() {
  phase_ = Phase::kLingering;
  if (stream_) {
    stream_->Abandon();
  }
  boost::system::error_code ec;
  socket_.shutdown(Tcp::socket::shutdown_send, ec);
  if (ec) {
    CloseNow();
    return;
  }
  ArmTimer(kLingerTimeout);
  WatchPeer();
}

// Waits until the socket is readable, without a buffer: a follower's connection costs no read
// buffer. Used while streaming, to notice at once that the client left (EOF or RST make the
// socket readable), and while lingering.
void Connection::WatchPeer() {
  if (watching_peer_) {
    return;
  }
  watching_peer_ = true;
  socket_.async_wait(Tcp::socket::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->watching_peer_ = false;
                       self->OnPeerReadable(ec);
                     });
}

void Connection::OnPeerReadable(boost::system::error_code ec) {
  if (phase_ != Phase::kStreaming && phase_ != Phase::kLingering) {
    return;
  }
  if (!ec) {
    // Discards what the client sent; only its end matters. Non-blocking: readable may be stale.
    std::array<char, 512> discard;
    socket_.non_blocking(true, ec);
    if (!ec) {
      socket_.read_some(asio::buffer(discard), ec);
    }
    if (!ec || ec == asio::error::would_block || ec == asio::error::try_again) {
      WatchPeer();
      return;
    }
  }
  if (phase_ == Phase::kStreaming) {
    LOG_DEBUG("SSE stream to {} ended: {}", remote_, ec.message());
  }
  CloseNow();
}

void Connection::CloseNow() {
  if (phase_ == Phase::kClosed) {
    return;
  }
  phase_ = Phase::kClosed;
  if (stream_) {
    stream_->Abandon();
  }
  timer_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);  // completes the pending operations, which drop their references
}

void Connection::ArmTimer(Clock::duration duration) {
  timer_.expires_after(duration);
  timer_.async_wait(
      [self = shared_from_this()](boost::system::error_code ec) { self->OnTimer(ec); });
}

void Connection::DisarmTimer() {
  // An expiry far away, not cancel(): a completion already queued then sees a future expiry and
  // does nothing.
  timer_.expires_at(Clock::time_point::max());
}

void Connection::OnTimer(boost::system::error_code ec) {
  if (ec == asio::error::operation_aborted || timer_.expiry() > Clock::now()) {
    return;  // re-armed or disarmed since this wait began
  }
  switch (phase_) {
    case Phase::kStreaming:
      OnPingTick();
      return;
    case Phase::kReading:
    case Phase::kWriting:
    case Phase::kPulling:
    case Phase::kLingering:
      LOG_DEBUG("HTTP connection from {} timed out", remote_);
      CloseNow();
      return;
    case Phase::kHandling:
    case Phase::kClosed:
      return;
  }
}

}  // namespace warden::api
