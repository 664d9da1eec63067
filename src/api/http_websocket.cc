// WebSockets: the upgrade of a connection (Connection::Upgrade) and the socket that follows
// (WebSocketImpl), framed by Beast.
#include "api/http_websocket.h"

#include <strings.h>

#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "api/http_internal.h"
#include "base/log.h"

namespace warden::api {
namespace websocket = boost::beast::websocket;

namespace {

constexpr size_t kMaxMessageBytes = 64 << 10;

// Whether the comma-separated `list` holds `token`, ignoring case: "keep-alive, Upgrade".
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.remove_suffix(1);
    }
    if (item.size() == token.size() && strncasecmp(item.data(), token.data(), token.size()) == 0) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool IsWebSocketUpgrade(const Request& request) {
  return request.method == "GET" && HasToken(request.headers.Get("Upgrade"), "websocket") &&
         HasToken(request.headers.Get("Connection"), "upgrade") &&
         request.headers.Get("Sec-WebSocket-Version") == "13" &&
         !request.headers.Get("Sec-WebSocket-Key").empty();
}

Response Response::WebSocketUpgrade(WebSocketStarter start) {
  Response response;
  response.websocket = std::move(start);
  return response;
}

void teardown(boost::beast::role_type /*role*/, Transport::Stream& stream,
              boost::system::error_code& ec) {
  stream.transport().socket().close(ec);
}

void beast_close_socket(Transport::Stream& stream) {
  boost::system::error_code ignored;
  stream.transport().socket().close(ignored);
}

namespace {

// What a handler holds: the socket, without keeping it (and its connection) alive. The socket
// lives while its reads, writes and messages are under way; once it has closed, it and its
// connection go at once, on the I/O thread, whoever still holds a handle.
class WebSocketHandle : public WebSocket {
 public:
  explicit WebSocketHandle(const std::shared_ptr<WebSocketImpl>& socket) : socket_(socket) {}

  bool Send(std::string text) override {
    std::shared_ptr<WebSocketImpl> socket = socket_.lock();
    return socket != nullptr && socket->Send(std::move(text));
  }
  void Close(uint16_t code, std::string reason) override {
    if (std::shared_ptr<WebSocketImpl> socket = socket_.lock()) {
      socket->Close(code, std::move(reason));
    }
  }
  bool closed() const override {
    std::shared_ptr<WebSocketImpl> socket = socket_.lock();
    return socket == nullptr || socket->closed();
  }
  size_t unsent_bytes() const override {
    std::shared_ptr<WebSocketImpl> socket = socket_.lock();
    return socket != nullptr ? socket->unsent_bytes() : 0;
  }
  void OnClose(std::function<void()> callback) override {
    if (std::shared_ptr<WebSocketImpl> socket = socket_.lock()) {
      socket->OnClose(std::move(callback));
      return;
    }
    callback();
  }

 private:
  const std::weak_ptr<WebSocketImpl> socket_;
};

}  // namespace

void Connection::Upgrade(Response response, const Request& request) {
  if (phase_ == Phase::kClosed) {
    return;
  }
  if (!IsWebSocketUpgrade(request) || head_only_) {
    Response refused = Response::Error(
        426, "upgrade_required",
        "this resource is a WebSocket: connect with a WebSocket client (GET with Upgrade: "
        "websocket, Connection: Upgrade, Sec-WebSocket-Version: 13)");
    refused.headers.Set("Upgrade", "websocket");
    Reply(std::move(refused), request.request_id);
    return;
  }
  if (client_) {
    client_->Release();
    client_.reset();
  }
  phase_ = Phase::kWebSocket;
  keep_alive_ = false;
  DisarmTimer();  // the socket keeps its own timeouts and pings
  WebSocketImpl::RequestMessage message(boost::beast::http::verb::get, request.raw_target, 11);
  for (const auto& [name, value] : request.headers) {
    message.insert(name, value);
  }
  std::weak_ptr<Connection> weak = shared_from_this();
  auto socket =
      std::make_shared<WebSocketImpl>(shared_from_this(), transport_->stream(), server_.pool(),
                                      options_.max_stream_queue_bytes, [weak] {
                                        if (std::shared_ptr<Connection> self = weak.lock()) {
                                          self->CloseNow();
                                        }
                                      });
  websocket_ = socket;
  socket->Start(std::move(message), std::move(response.websocket));
}

WebSocketImpl::WebSocketImpl(std::shared_ptr<void> owner, Transport::Stream& stream,
                             ThreadPool& pool, size_t max_queue_bytes, std::function<void()> on_end)
    : owner_(std::move(owner)),
      ws_(stream),
      pool_(pool),
      max_queue_bytes_(max_queue_bytes),
      on_end_(std::move(on_end)) {}

void WebSocketImpl::Start(RequestMessage request, WebSocketStarter starter) {
  ws_.set_option(websocket::stream_base::timeout::suggested(boost::beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set("Server", "warden"); }));
  ws_.read_message_max(kMaxMessageBytes);
  auto request_held = std::make_shared<RequestMessage>(std::move(request));
  ws_.async_accept(*request_held,
                   [self = shared_from_this(), request_held, starter = std::move(starter)](
                       boost::system::error_code ec) { self->OnAccepted(ec, starter); });
}

void WebSocketImpl::OnAccepted(boost::system::error_code ec, WebSocketStarter starter) {
  if (ec) {
    LOG_DEBUG("WebSocket handshake failed: {}", ec.message());
    Finish();
    return;
  }
  auto task = [self = shared_from_this(), starter = std::move(starter)] {
    try {
      self->on_message_ = starter(std::make_shared<WebSocketHandle>(self));
    } catch (const std::exception& e) {
      LOG_ERROR("the starter of a WebSocket threw: {}", e.what());
      self->Close(1011, "internal error");
    }
    asio::post(self->ws_.get_executor(), [self] { self->ReadNext(); });
  };
  if (!pool_.Submit(std::move(task))) {
    Finish();
  }
}

void WebSocketImpl::ReadNext() {
  if (finished_) {
    return;
  }
  ws_.async_read(
      in_, [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnRead(ec); });
}

void WebSocketImpl::OnRead(boost::system::error_code ec) {
  if (finished_) {
    return;
  }
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      Close(websocket::close_code::too_big, "a message is at most 64 KiB");
      return;
    }
    LOG_DEBUG("WebSocket ended: {}", ec.message());
    Finish();
    return;
  }
  if (!ws_.got_text()) {
    in_.consume(in_.size());
    Close(websocket::close_code::bad_payload, "only text messages are understood");
    return;
  }
  std::string message = boost::beast::buffers_to_string(in_.data());
  in_.consume(in_.size());
  auto task = [self = shared_from_this(), message = std::move(message)]() mutable {
    if (self->on_message_) {
      try {
        self->on_message_(std::move(message));
      } catch (const std::exception& e) {
        LOG_ERROR("a WebSocket message handler threw: {}", e.what());
        self->Close(1011, "internal error");
      }
    }
    asio::post(self->ws_.get_executor(), [self] { self->ReadNext(); });
  };
  if (!pool_.Submit(std::move(task))) {
    Finish();
  }
}

bool WebSocketImpl::Send(std::string text) {
  {
    std::lock_guard lock(mu_);
    if (closing_ || closed_) {
      return false;
    }
    if (queued_bytes_ + text.size() > max_queue_bytes_) {
      closing_ = true;
      close_code_ = websocket::close_code::policy_error;
      close_reason_ = "the client does not read fast enough";
      queue_.clear();
    } else {
      queued_bytes_ += text.size();
      queue_.push_back(std::move(text));
    }
  }
  asio::post(ws_.get_executor(), [self = shared_from_this()] { self->Flush(); });
  std::lock_guard lock(mu_);
  return !closing_;
}

void WebSocketImpl::Close(uint16_t code, std::string reason) {
  {
    std::lock_guard lock(mu_);
    if (closing_ || closed_) {
      return;
    }
    closing_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
  }
  asio::post(ws_.get_executor(), [self = shared_from_this()] { self->Flush(); });
}

bool WebSocketImpl::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

size_t WebSocketImpl::unsent_bytes() const {
  std::lock_guard lock(mu_);
  return queued_bytes_;
}

void WebSocketImpl::OnClose(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      on_close_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void WebSocketImpl::Flush() {
  if (writing_ || finished_) {
    return;
  }
  std::unique_lock lock(mu_);
  if (queue_.empty()) {
    if (!closing_) {
      return;
    }
    websocket::close_reason reason(static_cast<websocket::close_code>(close_code_), close_reason_);
    lock.unlock();
    writing_ = true;  // nothing more is written after the close frame
    ws_.async_close(reason,
                    [self = shared_from_this()](boost::system::error_code) { self->Finish(); });
    return;
  }
  writing_ = true;
  auto text = std::make_shared<std::string>(std::move(queue_.front()));
  queue_.pop_front();
  lock.unlock();
  ws_.text(true);
  ws_.async_write(asio::buffer(*text),
                  [self = shared_from_this(), text](boost::system::error_code ec, size_t) {
                    {
                      std::lock_guard done(self->mu_);
                      self->queued_bytes_ -= std::min(self->queued_bytes_, text->size());
                    }
                    self->OnWritten(ec);
                  });
}

void WebSocketImpl::OnWritten(boost::system::error_code ec) {
  writing_ = false;
  if (ec) {
    Finish();
    return;
  }
  Flush();
}

void WebSocketImpl::Abort() {
  Finish();
}

void WebSocketImpl::Finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    closing_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    callbacks.swap(on_close_);
  }
  for (auto& callback : callbacks) {
    callback();
  }
  if (on_end_) {
    std::function<void()> on_end = std::move(on_end_);
    on_end_ = nullptr;
    on_end();
  }
}

}  // namespace warden::api
