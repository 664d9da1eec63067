// Internals of HttpServer shared by http_server.cc and http_connection*.cc, the only files that
// include this header and with it Boost.Asio and Beast (slow to compile: keep it out of the rest).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http.h"
#include "api/http_deferred.h"
#include "api/http_stream.h"
#include "api/http_transport.h"
#include "base/thread_pool.h"

namespace warden::api {

namespace beast = boost::beast;

// How a response's body is delimited.
enum class Framing { kLength, kChunked, kUntilClose };

// The status line and header block of `response` (server-owned fields set here, unsafe ones
// dropped), ending with the empty line.
std::string ResponseHead(const Response& response, std::string_view request_id, Framing framing,
                         bool keep_alive, bool http11);

class ServerImpl;
class WebSocketImpl;  // http_websocket.h

// One client connection: reads requests, hands them to a pool, writes the responses. Every member
// is touched only on the connection's strand, except where a comment says otherwise. Owned by
// shared_ptrs held by its pending operations, pool tasks and deferred response.
// http_connection.cc reads requests, http_connection_write.cc writes responses and
// http_connection_end.cc closes the connection.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `refuse`: the server holds its maximum of connections; this one gets a 503 and is closed.
  Connection(ServerImpl& server, std::unique_ptr<Transport> transport, std::string remote,
             bool refuse);
  ~Connection();

  const Tcp::socket::executor_type& executor() const { return executor_; }
  bool refused() const { return refuse_; }
  void Start();
  void OnServerStop();
  // For ServerImpl::Stop() once no thread runs I/O or pool tasks any more.
  void AbandonStream();

 private:
  enum class Phase {
    kHandshaking,
    kReading,
    kHandling,
    kWriting,
    kPulling,
    kStreaming,
    kWebSocket,
    kLingering,
    kClosed
  };
  // A response that waits for the client watch to let go of the read side.
  struct Parked {
    Response response;
    std::string request_id;
  };

  // http_connection.cc
  void OnHandshake(boost::system::error_code ec);
  void ReadRequest();
  void OnHeader(boost::system::error_code ec);
  void ReadBody();
  void OnBody(boost::system::error_code ec);
  void OnReadError(boost::system::error_code ec);
  void Reject(Response response);
  void RunHandler(Request& request);  // on a pool thread
  void StartDeferred(Response response, Request request,
                     std::chrono::steady_clock::time_point start);  // on a pool thread
  void WatchClient();
  void OnClientData(boost::system::error_code ec, size_t bytes);

  // http_websocket.cc: answers a WebSocket handshake (or 426) and hands the transport over.
  void Upgrade(Response response, const Request& request);

  // http_connection_end.cc
  void FinishResponse();
  void LingerClose();
  void WatchPeer();
  void OnPeerReadable(boost::system::error_code ec);
  void CloseNow();
  void ArmTimer(std::chrono::steady_clock::duration duration);
  void DisarmTimer();
  void OnTimer(boost::system::error_code ec);

  // http_connection_write.cc
  void Reply(Response response, const std::string& request_id);
  void WriteFixed(std::string head, std::string body);
  void OnFixedWritten(boost::system::error_code ec);
  void StartPull(Response response, const std::string& request_id);
  void PullNext();
  void RunPull();  // on a pool thread
  void OnPulled(Result<std::optional<std::string>> piece);
  void WritePull(bool last);
  void OnPullWritten(boost::system::error_code ec, bool last);
  void StartStream(Response response, const std::string& request_id);
  void FlushStream();
  void OnStreamWritten(boost::system::error_code ec, size_t bytes, bool last);
  void OnPingTick();

  ServerImpl& server_;
  const ServerOptions& options_;
  std::unique_ptr<Transport> transport_;
  const Tcp::socket::executor_type executor_;  // read from pool threads too: never changes
  asio::steady_timer timer_;                   // the one deadline of the current phase
  const std::string remote_;
  const bool refuse_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  Phase phase_ = Phase::kReading;
  bool keep_alive_ = true;
  bool chunked_ = true;     // the client speaks HTTP/1.1
  bool head_only_ = false;  // the request being answered is a HEAD
  bool watching_peer_ = false;
  // While a deferred response is pending: the request's ClientWatch, and whether a read into
  // buffer_ is under way to learn that the client left (or to keep what it sends next).
  std::shared_ptr<ClientWatchImpl> client_;
  bool watch_reading_ = false;
  std::optional<Parked> parked_;
  // The response being written: head, then the body or the current piece of a pulled body.
  std::string head_;
  std::string chunk_line_;
  std::string body_;
  BodyPuller pull_;  // touched by the pool thread while the strand waits for its piece
  std::shared_ptr<StreamImpl> stream_;
  std::vector<std::string> stream_out_;
  bool stream_writing_ = false;
  bool wrote_since_ping_ = false;
  std::chrono::steady_clock::time_point write_started_;
  std::weak_ptr<WebSocketImpl> websocket_;  // once upgraded
};

// Behind HttpServer: the acceptor, the I/O threads, the pools, the live connections.
// Thread-safe.
class ServerImpl {
 public:
  ServerImpl(ServerOptions options, Handler handler);
  ~ServerImpl() = default;  // HttpServer's destructor Stop()s first

  Status Listen();
  void Stop();
  uint16_t port() const { return port_; }
  size_t max_connections() const { return max_connections_; }

  // For connections.
  const ServerOptions& options() const { return options_; }
  ThreadPool& pool() { return pool_; }
  // The pool that runs the handler of `request`: the priority pool for its paths.
  ThreadPool& PoolFor(const Request& request);
  bool stopping() const;
  std::string NewRequestId(std::string_view offered);
  // Runs the handler, turning exceptions into 500s; logs and reports the request, unless its
  // response is deferred (then the connection reports it once the answer came).
  Response Call(Request& request);
  // Runs ServerOptions::quick likewise, on an I/O thread: std::nullopt when it leaves the request
  // to the pool (or there is none).
  std::optional<Response> CallQuick(Request& request);
  void Finished(const Request& request, int status, std::chrono::microseconds latency);
  // Remembers a deferred response, which Stop() abandons (it holds the io_context's executor).
  void TrackDeferred(const std::shared_ptr<DeferredReply>& reply);
  void Unregister(Connection* connection);

 private:
  void RunIo();
  void ArmTrim();
  void OnTrimTick();
  void Accept();
  void OnAccept(boost::system::error_code ec, Tcp::socket socket);
  // A new connection, admitted (serving or refusing) under the cap; null when stopping.
  std::shared_ptr<Connection> Admit(Tcp::socket socket, std::string remote, bool* accept_more);
  std::vector<std::weak_ptr<Connection>> Connections();

  const ServerOptions options_;
  const Handler handler_;
  const std::string id_prefix_;
  std::atomic<uint64_t> next_id_{0};
  std::atomic<uint64_t> finished_{0};  // requests answered, for the trim timer
  uint64_t finished_at_tick_ = 0;      // on the trim timer's strand
  bool trim_due_ = false;              // likewise
  ThreadPool pool_;
  ThreadPool priority_pool_;
  uint16_t port_ = 0;
  size_t max_connections_ = 0;
  std::shared_ptr<TlsContext> tls_;  // null: plain HTTP

  mutable std::mutex mu_;
  std::condition_variable connections_empty_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
  size_t serving_ = 0;   // connections in connections_ that are served
  size_t refusing_ = 0;  // and those being refused
  bool accept_paused_ = false;
  bool cap_reached_logged_ = false;
  std::vector<std::weak_ptr<DeferredReply>> deferred_;
  bool stopping_ = false;
  bool stop_called_ = false;
  bool listening_ = false;  // Listen() succeeded

  // Destroyed in this order by Stop(): the io_context last, taking the connections with it.
  std::optional<asio::io_context> ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_guard_;
  std::optional<Tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> retry_timer_;
  std::optional<asio::steady_timer> trim_timer_;
  std::vector<std::jthread> io_threads_;
};

}  // namespace warden::api
