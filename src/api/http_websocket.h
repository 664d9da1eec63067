// The server's side of a WebSocket (RFC 6455) over a connection's Transport, with Beast's
// websocket::stream doing the framing. Included only by http_websocket.cc and
// http_connection*.cc, which include Asio and Beast anyway.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "api/http.h"
#include "api/http_transport.h"
#include "base/thread_pool.h"

namespace warden::api {

// How Beast ends a WebSocket's transport (found by argument-dependent lookup): a TLS close_notify
// or a TCP shutdown, then the socket is closed.
// NOLINTNEXTLINE(readability-identifier-naming): the name Beast looks for
void teardown(boost::beast::role_type role, Transport::Stream& stream,
              boost::system::error_code& ec);
template <typename Handler>
// NOLINTNEXTLINE(readability-identifier-naming): the name Beast looks for
void async_teardown(boost::beast::role_type /*role*/, Transport::Stream& stream,
                    Handler&& handler) {
  stream.transport().AsyncShutdown(
      [&stream, handler = std::forward<Handler>(handler)](boost::system::error_code ec) mutable {
        boost::system::error_code ignored;
        stream.transport().socket().close(ignored);
        std::move(handler)(ec);
      });
}
// What Beast's idle timeout calls to drop a connection.
void beast_close_socket(Transport::Stream& stream);  // NOLINT(readability-identifier-naming)

// One accepted WebSocket. Its I/O runs on the connection's strand; Send() and Close() post there.
// Holds `owner` (the connection, which owns the transport) for as long as it lives, and lives only
// while an operation or a message is under way: handlers get a handle that does not keep it.
class WebSocketImpl : public WebSocket, public std::enable_shared_from_this<WebSocketImpl> {
 public:
  using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;

  // `on_end` runs once, on the strand, when the socket has closed.
  WebSocketImpl(std::shared_ptr<void> owner, Transport::Stream& stream, ThreadPool& pool,
                size_t max_queue_bytes, std::function<void()> on_end);

  // Answers the handshake of `request`, then hands the socket to `starter` on the pool.
  void Start(RequestMessage request, WebSocketStarter starter);
  // Closes at once, without a close frame (the server is stopping). On the strand.
  void Abort();

  bool Send(std::string text) override;
  void Close(uint16_t code, std::string reason) override;
  bool closed() const override;
  size_t unsent_bytes() const override;
  void OnClose(std::function<void()> callback) override;

 private:
  void OnAccepted(boost::system::error_code ec, WebSocketStarter starter);
  void ReadNext();
  void OnRead(boost::system::error_code ec);
  void Flush();
  void OnWritten(boost::system::error_code ec);
  void Finish();

  std::shared_ptr<void> owner_;
  boost::beast::websocket::stream<Transport::Stream&> ws_;
  ThreadPool& pool_;
  const size_t max_queue_bytes_;
  std::function<void()> on_end_;                 // on the strand
  boost::beast::flat_buffer in_;                 // on the strand
  std::function<void(std::string)> on_message_;  // set once before the first read
  bool writing_ = false;                         // on the strand
  bool finished_ = false;                        // on the strand

  mutable std::mutex mu_;
  std::deque<std::string> queue_;  // guarded by mu_, like the fields below
  size_t queued_bytes_ = 0;
  bool closing_ = false;  // Close() was called: no more Send()
  bool closed_ = false;
  uint16_t close_code_ = 1000;
  std::string close_reason_;
  std::vector<std::function<void()>> on_close_;
};

}  // namespace warden::api
