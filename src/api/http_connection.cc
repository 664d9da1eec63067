// One HTTP connection over Asio, requests parsed by Beast: the TLS handshake, reading requests and
// handing them to the pools, watching the client while a deferred answer is pending.
// http_connection_write.cc writes the responses, http_connection_end.cc ends the connection.
//
// A connection is a small state machine on its own strand. The handshake, reading a request,
// writing a response and waiting for the client are asynchronous. A request that the quick
// handler answers is answered right here, on the I/O thread; any other handler, each piece of a
// pulled body and a stream's starter run on a pool, so an I/O thread never blocks.
#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <fmt/format.h>

#include "api/http_internal.h"
#include "api/http_request.h"
#include "api/http_websocket.h"
#include "base/log.h"

namespace warden::api {
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// What the client watch of a deferred response reads at a time.
constexpr size_t kWatchReadBytes = 512;

std::chrono::microseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

}  // namespace

Connection::Connection(ServerImpl& server, std::unique_ptr<Transport> transport, std::string remote,
                       bool refuse)
    : server_(server),
      options_(server.options()),
      transport_(std::move(transport)),
      executor_(transport_->socket().get_executor()),
      timer_(executor_),
      remote_(std::move(remote)),
      refuse_(refuse),
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
  // Small SSE events must not wait for Nagle.
  transport_->socket().set_option(Tcp::no_delay(true), ignored);
  if (!transport_->encrypted()) {
    OnHandshake({});
    return;
  }
  phase_ = Phase::kHandshaking;
  ArmTimer(options_.idle_timeout);
  transport_->AsyncHandshake(
      [self = shared_from_this()](boost::system::error_code ec) { self->OnHandshake(ec); });
}

void Connection::OnHandshake(boost::system::error_code ec) {
  if (phase_ == Phase::kClosed) {
    return;
  }
  if (ec) {
    // A plain-HTTP client, a certificate the client rejects or one we do: nothing to answer.
    LOG_DEBUG("TLS handshake with {} failed: {}", remote_, ec.message());
    CloseNow();
    return;
  }
  if (refuse_) {
    Response response = Response::Error(
        503, "too_many_connections",
        fmt::format("the server already holds its maximum of {} connections: retry shortly, and "
                    "close connections you are not using",
                    server_.max_connections()));
    response.headers.Set("Retry-After", "1");
    Reject(std::move(response));
    return;
  }
  ReadRequest();
}

void Connection::OnServerStop() {
  switch (phase_) {
    case Phase::kHandling:
    case Phase::kWriting:
      keep_alive_ = false;  // let this response finish, then close
      return;
    case Phase::kHandshaking:
    case Phase::kReading:
    case Phase::kPulling:
    case Phase::kStreaming:
      CloseNow();
      return;
    case Phase::kWebSocket:
      if (std::shared_ptr<WebSocketImpl> socket = websocket_.lock()) {
        socket->Abort();
      }
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
      transport_->stream(), buffer_, *parser_,
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
    asio::async_write(transport_->stream(), asio::buffer(kContinue),
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
      transport_->stream(), buffer_, *parser_,
      [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnBody(ec); });
}

void Connection::OnReadError(boost::system::error_code ec) {
  if (std::optional<Rejection> rejection = RejectionFor(ec, options_)) {
    Reject(Response::Error(rejection->status, rejection->code, rejection->message));
  } else {
    CloseNow();  // the client left (between requests or in the middle of one), or a timeout
  }
}

void Connection::Reject(Response response) {
  Request request;
  request.remote = remote_;
  if (parser_ && parser_->got_some()) {
    request.method = std::string(parser_->get().method_string());
    request.raw_target = std::string(parser_->get().target());
  }
  request.request_id = server_.NewRequestId("");
  server_.Finished(request, response.status, std::chrono::microseconds(0));
  parser_.reset();
  keep_alive_ = false;  // what follows in the stream cannot be trusted to be a request
  head_only_ = false;
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
    Reject(Response::Error(400, "bad_request", "the request target is not a valid path"));
    return;
  }
  head_only_ = request.method == "HEAD";
  request.remote = remote_;
  request.request_id = server_.NewRequestId(request.headers.Get("X-Request-Id"));
  phase_ = Phase::kHandling;
  // Answered here, with no handoff (nor a client watch: nobody waits for long).
  if (std::optional<Response> answer = server_.CallQuick(request)) {
    Reply(std::move(*answer), request.request_id);
    return;
  }
  client_ = std::make_shared<ClientWatchImpl>();
  request.client = client_;
  ThreadPool& pool = server_.PoolFor(request);
  auto task = [self = shared_from_this(), request = std::move(request)]() mutable {
    self->RunHandler(request);
  };
  if (!pool.Submit(std::move(task))) {
    CloseNow();  // the server is stopping
  }
}

void Connection::RunHandler(Request& request) {
  Clock::time_point start = Clock::now();
  Response response = server_.Call(request);
  if (response.defer) {
    StartDeferred(std::move(response), std::move(request), start);
    return;
  }
  if (response.websocket) {
    request.body = std::string();
    request.client.reset();
    asio::post(executor_, [self = shared_from_this(), response = std::move(response),
                           request = std::move(request)]() mutable {
      self->Upgrade(std::move(response), request);
    });
    return;
  }
  asio::post(executor_, [self = shared_from_this(), response = std::move(response),
                         id = std::move(request.request_id)]() mutable {
    self->Reply(std::move(response), id);
  });
}

void Connection::StartDeferred(Response response, Request request, Clock::time_point start) {
  request.body = std::string();  // the request is kept for the metrics hook, not its body
  request.client.reset();
  auto reply = std::make_shared<DeferredReply>(
      [self = shared_from_this(), request = std::move(request), start](Response answer) {
        asio::post(self->executor_, [self, request, start, answer = std::move(answer)]() mutable {
          self->server_.Finished(request, answer.status, Since(start));
          self->Reply(std::move(answer), request.request_id);
        });
      });
  server_.TrackDeferred(reply);
  asio::post(executor_, [self = shared_from_this()] { self->WatchClient(); });
  DeferredStarter starter = std::move(response.defer);
  try {
    starter(reply);
  } catch (const std::exception& e) {
    LOG_ERROR("the starter of a deferred response threw: {}", e.what());
    reply->Send(Response::Error(500, "internal", "internal error"));
  }
}

// While a deferred response is pending, reads what the client sends into buffer_: the next
// request, kept for when this one is answered, or the end of the connection, which tells the
// handler that nobody waits for its answer any more.
void Connection::WatchClient() {
  if (phase_ != Phase::kHandling || watch_reading_) {
    return;
  }
  size_t room = buffer_.max_size() - buffer_.size();
  if (room == 0) {
    return;  // a client that sent this much ahead is not watched any further
  }
  watch_reading_ = true;
  transport_->AsyncReadSome(
      buffer_.prepare(std::min(room, kWatchReadBytes)),
      [self = shared_from_this()](boost::system::error_code ec, size_t bytes) {
        self->OnClientData(ec, bytes);
      });
}

void Connection::OnClientData(boost::system::error_code ec, size_t bytes) {
  watch_reading_ = false;
  buffer_.commit(bytes);
  if (parked_) {
    Parked parked = std::move(*parked_);
    parked_.reset();
    Reply(std::move(parked.response), parked.request_id);
    return;
  }
  if (phase_ != Phase::kHandling) {
    return;
  }
  if (!ec) {
    WatchClient();
    return;
  }
  LOG_DEBUG("HTTP client {} left before its answer: {}", remote_, ec.message());
  if (client_) {
    client_->MarkGone();
  }
  CloseNow();
}

}  // namespace warden::api
