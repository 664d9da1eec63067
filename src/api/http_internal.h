// Internals of HttpServer shared by http_server.cc and http_connection.cc, the only files that
// include this header and with it Boost.Asio and Beast (slow to compile: keep it out of the rest).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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
#include "api/http_stream.h"

namespace warden::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Tcp = asio::ip::tcp;

// Threads that run handlers, body pullers and stream starters, which may block. Tasks run in
// submission order. Thread-safe.
class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  // Returns false, dropping `task`, once Stop() began.
  bool Submit(std::function<void()> task);
  // Runs what is queued, then joins the threads. Not concurrently with itself.
  void Stop();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::jthread> threads_;
};

class ServerImpl;

// One client connection: reads requests, hands them to the pool, writes the responses. Every
// member is touched only on the connection's strand, except where a comment says otherwise.
// Owned by shared_ptrs held by its pending operations and pool tasks.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerImpl& server, Tcp::socket socket, std::string remote);
  ~Connection();

  const Tcp::socket::executor_type& executor() const { return executor_; }
  void Start();
  void OnServerStop();
  // For ServerImpl::Stop() once no thread runs I/O or pool tasks any more.
  void AbandonStream();

 private:
  enum class Phase { kReading, kHandling, kWriting, kPulling, kStreaming, kLingering, kClosed };

  void ReadRequest();
  void OnHeader(boost::system::error_code ec);
  void ReadBody();
  void OnBody(boost::system::error_code ec);
  void OnReadError(boost::system::error_code ec);
  void Reject(int status, std::string_view code, std::string_view message);
  void RunHandler(Request& request);  // on a pool thread
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

  void FinishResponse();
  void LingerClose();
  void WatchPeer();
  void OnPeerReadable(boost::system::error_code ec);
  void CloseNow();
  void ArmTimer(std::chrono::steady_clock::duration duration);
  void DisarmTimer();
  void OnTimer(boost::system::error_code ec);

  ServerImpl& server_;
  const ServerOptions& options_;
  Tcp::socket socket_;
  const Tcp::socket::executor_type executor_;  // read from pool threads too: never changes
  asio::steady_timer timer_;                   // the one deadline of the current phase
  const std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  Phase phase_ = Phase::kReading;
  bool keep_alive_ = true;
  bool chunked_ = true;  // the client speaks HTTP/1.1
  bool watching_peer_ = false;
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
};

// Behind HttpServer: the acceptor, the I/O threads, the pool, the live connections.
// Thread-safe.
class ServerImpl {
 public:
  ServerImpl(ServerOptions options, Handler handler);
  ~ServerImpl() = default;  // HttpServer's destructor Stop()s first

  Status Listen();
  void Stop();
  uint16_t port() const { return port_; }

  // For connections.
  const ServerOptions& options() const { return options_; }
  WorkerPool& pool() { return pool_; }
  bool stopping() const;
  std::string NewRequestId(std::string_view offered);
  // Runs the handler, turning exceptions into 500s; logs and reports the request.
  Response Call(Request& request);
  void Finished(const Request& request, int status, std::chrono::microseconds latency);
  void Unregister(Connection* connection);

 private:
  void RunIo();
  void Accept();
  void OnAccept(boost::system::error_code ec, Tcp::socket socket);
  bool Register(const std::shared_ptr<Connection>& connection);
  std::vector<std::weak_ptr<Connection>> Connections();

  const ServerOptions options_;
  const Handler handler_;
  const std::string id_prefix_;
  std::atomic<uint64_t> next_id_{0};
  WorkerPool pool_;
  uint16_t port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable connections_empty_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
  bool stopping_ = false;
  bool stop_called_ = false;
  bool listening_ = false;  // Listen() succeeded

  // Destroyed in this order by Stop(): the io_context last, taking the connections with it.
  std::optional<asio::io_context> ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_guard_;
  std::optional<Tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> retry_timer_;
  std::vector<std::jthread> io_threads_;
};

}  // namespace warden::api
