// HttpServer over Boost.Asio: the acceptor, the connection cap, the pools and a graceful stop.
// http_connection*.cc have the per-connection part (DESIGN.md §8: Beast stays in these files).
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "api/http_internal.h"
#include "api/http_request.h"
#include "base/log.h"

namespace warden::api {

namespace {

// Asio opens sockets without SOCK_CLOEXEC; a sandbox child must never inherit the server's.
void SetCloseOnExec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) {
    ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

std::string RandomPrefix() {
  std::random_device random;
  return fmt::format("{:08x}", random());
}

// Connections at the cap that are answered 503 at once; more wait in the listen backlog.
constexpr size_t kRefusingConnections = 64;

// Half of what the process may open: the rest is for the store, sandboxes and files.
size_t DefaultMaxConnections() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return 4096;
  }
  return std::max<size_t>(16, static_cast<size_t>(limit.rlim_cur) / 2);
}

}  // namespace

ServerImpl::ServerImpl(ServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      id_prefix_(RandomPrefix()),
      pool_(options_.handler_threads),
      priority_pool_(options_.priority_paths.empty() ? 1 : options_.priority_threads) {}

Status ServerImpl::Listen() {
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("listen address \"{}\" is not an IP address", options_.host));
  }
  Tcp::endpoint endpoint(address, options_.port);
  std::string where = fmt::format("{}:{}", options_.host, options_.port);
  if (options_.tls.enabled()) {
    ASSIGN_OR_RETURN(tls_, LoadTlsContext(options_.tls));
  }
  max_connections_ =
      options_.max_connections > 0 ? options_.max_connections : DefaultMaxConnections();
  ioc_.emplace(static_cast<int>(std::max<size_t>(options_.io_threads, 1)));
  acceptor_.emplace(asio::make_strand(*ioc_));
  if (acceptor_->open(endpoint.protocol(), ec); ec) {
    return Error::FromErrno("socket(" + where + ")", ec.value());
  }
  SetCloseOnExec(acceptor_->native_handle());
  // A restarted server must be able to bind while old connections sit in TIME_WAIT.
  acceptor_->set_option(Tcp::acceptor::reuse_address(true), ec);
  if (acceptor_->bind(endpoint, ec); ec) {
    return Error::FromErrno("bind(" + where + ")", ec.value());
  }
  if (acceptor_->listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Error::FromErrno("listen(" + where + ")", ec.value());
  }
  port_ = acceptor_->local_endpoint(ec).port();
  retry_timer_.emplace(acceptor_->get_executor());
  trim_timer_.emplace(acceptor_->get_executor());
  ArmTrim();
  // Without it, run() would return whenever every connection waits on a handler.
  work_guard_.emplace(ioc_->get_executor());
  Accept();
  for (size_t i = 0; i < std::max<size_t>(options_.io_threads, 1); ++i) {
    io_threads_.emplace_back([this] { RunIo(); });
  }
  listening_ = true;
  LOG_INFO("HTTP{} server listening on {}:{}, at most {} connections", tls_ ? "S" : "",
           options_.host, port_, max_connections_);
  return OkStatus();
}

void ServerImpl::RunIo() {
  while (true) {
    try {
      ioc_->run();
      return;
    } catch (const std::exception& e) {
      // Nothing in the completion handlers throws on purpose; keep serving the others.
      LOG_ERROR("HTTP I/O thread: unexpected exception: {}", e.what());
    }
  }
}

void ServerImpl::ArmTrim() {
  if (options_.trim_after_quiet.count() <= 0) {
    return;
  }
  trim_timer_->expires_after(options_.trim_after_quiet);
  trim_timer_->async_wait([this](boost::system::error_code ec) {
    if (!ec && acceptor_->is_open()) {
      OnTrimTick();
    }
  });
}

// glibc keeps what a thread freed in that thread's arena for reuse; after a burst of big bodies
// on many handler threads, that is the resident memory of the burst, kept for good. Trimming
// when the server has gone quiet returns it without slowing a busy server.
void ServerImpl::OnTrimTick() {
  uint64_t finished = finished_.load(std::memory_order_relaxed);
  if (finished != finished_at_tick_) {
    finished_at_tick_ = finished;
    trim_due_ = true;
  } else if (trim_due_) {
    trim_due_ = false;
    pool_.Submit([] { ::malloc_trim(0); });  // walks every arena: not on an I/O thread
  }
  ArmTrim();
}

void ServerImpl::Accept() {
  acceptor_->async_accept(asio::make_strand(*ioc_),
                          [this](boost::system::error_code ec, Tcp::socket socket) {
                            OnAccept(ec, std::move(socket));
                          });
}

void ServerImpl::OnAccept(boost::system::error_code ec, Tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_->is_open()) {
    return;
  }
  if (ec) {
    // Typically EMFILE: retrying at once would spin on the same error.
    LOG_WARN("HTTP accept: {}", ec.message());
    retry_timer_->expires_after(std::chrono::milliseconds(100));
    retry_timer_->async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec && acceptor_->is_open()) {
        Accept();
      }
    });
    return;
  }
  SetCloseOnExec(socket.native_handle());
  Tcp::endpoint peer = socket.remote_endpoint(ec);
  std::string remote = ec ? "?" : fmt::format("{}:{}", peer.address().to_string(), peer.port());
  bool accept_more = false;
  if (std::shared_ptr<Connection> connection = Admit(std::move(socket), remote, &accept_more)) {
    asio::post(connection->executor(), [connection] { connection->Start(); });
  }
  if (accept_more) {
    Accept();
  }
}

std::shared_ptr<Connection> ServerImpl::Admit(Tcp::socket socket, std::string remote,
                                              bool* accept_more) {
  std::unique_ptr<Transport> transport =
      tls_ ? MakeTlsTransport(std::move(socket), tls_) : MakePlainTransport(std::move(socket));
  std::lock_guard lock(mu_);
  if (stopping_) {
    return nullptr;
  }
  bool refuse = serving_ >= max_connections_;
  auto connection =
      std::make_shared<Connection>(*this, std::move(transport), std::move(remote), refuse);
  connections_.emplace(connection.get(), connection);
  ++(refuse ? refusing_ : serving_);
  if (refuse && !cap_reached_logged_) {
    cap_reached_logged_ = true;
    LOG_WARN("HTTP: {} connections open, the most allowed: new ones get 503 until some close",
             max_connections_);
  }
  // At the cap and with as many 503s under way as allowed, the listen backlog holds the rest
  // (Unregister() resumes): a flood of connections costs no descriptors beyond these.
  *accept_more = serving_ < max_connections_ || refusing_ < kRefusingConnections;
  accept_paused_ = !*accept_more;
  return connection;
}

void ServerImpl::Unregister(Connection* connection) {
  std::lock_guard lock(mu_);
  if (connections_.erase(connection) == 0) {
    return;
  }
  --(connection->refused() ? refusing_ : serving_);
  if (serving_ < max_connections_) {
    cap_reached_logged_ = false;
  }
  if (accept_paused_ && !stopping_ &&
      (serving_ < max_connections_ || refusing_ < kRefusingConnections)) {
    accept_paused_ = false;
    asio::post(acceptor_->get_executor(), [this] {
      if (acceptor_->is_open()) {
        Accept();
      }
    });
  }
  if (connections_.empty()) {
    connections_empty_.notify_all();
  }
}

void ServerImpl::TrackDeferred(const std::shared_ptr<DeferredReply>& reply) {
  std::lock_guard lock(mu_);
  if (deferred_.size() >= 64 && deferred_.size() == deferred_.capacity()) {
    std::erase_if(deferred_,
                  [](const std::weak_ptr<DeferredReply>& weak) { return weak.expired(); });
  }
  deferred_.push_back(reply);
}

ThreadPool& ServerImpl::PoolFor(const Request& request) {
  for (const std::string& path : options_.priority_paths) {
    if (request.path == path) {
      return priority_pool_;
    }
  }
  return pool_;
}

std::vector<std::weak_ptr<Connection>> ServerImpl::Connections() {
  std::lock_guard lock(mu_);
  std::vector<std::weak_ptr<Connection>> all;
  all.reserve(connections_.size());
  for (const auto& [ptr, weak] : connections_) {
    all.push_back(weak);
  }
  return all;
}

void ServerImpl::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_called_) {
      return;
    }
    stop_called_ = true;
    stopping_ = true;
  }
  if (!listening_) {
    return;  // nothing ran; the members clean up
  }
  asio::post(acceptor_->get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    retry_timer_->cancel();
    trim_timer_->cancel();
  });
  for (const std::weak_ptr<Connection>& weak : Connections()) {
    if (std::shared_ptr<Connection> connection = weak.lock()) {
      asio::post(connection->executor(), [connection] { connection->OnServerStop(); });
    }
  }
  // Running handlers finish; their responses are posted to the I/O threads, which still run.
  pool_.Stop();
  priority_pool_.Stop();
  {
    std::unique_lock lock(mu_);
    connections_empty_.wait_for(lock, options_.stop_grace, [this] { return connections_.empty(); });
  }
  work_guard_.reset();
  ioc_->stop();
  io_threads_.clear();
  // What is left was cut off. Its streams must be closed before the io_context goes: a Write()
  // from another thread posts to it until then.
  for (const std::weak_ptr<Connection>& weak : Connections()) {
    if (std::shared_ptr<Connection> connection = weak.lock()) {
      connection->AbandonStream();
    }
  }
  std::vector<std::weak_ptr<DeferredReply>> deferred;
  {
    std::lock_guard lock(mu_);
    deferred.swap(deferred_);
  }
  for (const std::weak_ptr<DeferredReply>& weak : deferred) {
    if (std::shared_ptr<DeferredReply> reply = weak.lock()) {
      reply->Abandon();  // its delivery holds a connection and the io_context's executor
    }
  }
  acceptor_.reset();
  retry_timer_.reset();
  trim_timer_.reset();
  ioc_.reset();  // destroys the pending handlers and with them the remaining connections
  LOG_INFO("HTTP server on port {} stopped", port_);
}

bool ServerImpl::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

std::string ServerImpl::NewRequestId(std::string_view offered) {
  if (UsableRequestId(offered)) {
    return std::string(offered);
  }
  return fmt::format("{}-{:x}", id_prefix_, next_id_.fetch_add(1) + 1);
}

namespace {

// Runs `handler` (a Handler or a QuickHandler), turning what it throws into a 500.
template <typename Answer>
Answer Guarded(const std::function<Answer(Request&)>& handler, Request& request) {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    LOG_ERROR("{} {} {}: handler threw: {}", request.request_id, request.method, request.raw_target,
              e.what());
  } catch (...) {
    LOG_ERROR("{} {} {}: handler threw a non-exception", request.request_id, request.method,
              request.raw_target);
  }
  return Response::Error(500, "internal", "internal error");
}

std::chrono::microseconds Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

}  // namespace

Response ServerImpl::Call(Request& request) {
  auto start = std::chrono::steady_clock::now();
  Response response = Guarded(handler_, request);
  if ((response.pull ? 1 : 0) + (response.push ? 1 : 0) + (response.defer ? 1 : 0) > 1) {
    LOG_ERROR("{} {} {}: a response is pulled, pushed or deferred, not more", request.request_id,
              request.method, request.raw_target);
    response = Response::Error(500, "internal", "internal error");
  }
  if (!response.defer) {
    // A WebSocket answer is what the connection then sends: 101, or 426 to a plain request.
    int status = !response.websocket                                       ? response.status
                 : IsWebSocketUpgrade(request) && request.method != "HEAD" ? 101
                                                                           : 426;
    Finished(request, status, Since(start));
  }
  return response;
}

std::optional<Response> ServerImpl::CallQuick(Request& request) {
  if (!options_.quick) {
    return std::nullopt;
  }
  auto start = std::chrono::steady_clock::now();
  std::optional<Response> response = Guarded(options_.quick, request);
  if (!response) {
    return std::nullopt;
  }
  if (response->defer || response->websocket || (response->pull && response->push)) {
    LOG_ERROR("{} {} {}: a quick answer is a plain, pulled or pushed response", request.request_id,
              request.method, request.raw_target);
    response = Response::Error(500, "internal", "internal error");
  }
  Finished(request, response->status, Since(start));
  return response;
}

void ServerImpl::Finished(const Request& request, int status, std::chrono::microseconds latency) {
  finished_.fetch_add(1, std::memory_order_relaxed);
  LOG_DEBUG("http {} {} {} {} {} {}us", request.request_id, request.remote, request.method,
            request.raw_target, status, latency.count());
  if (!options_.on_request) {
    return;
  }
  try {
    options_.on_request(request, status, latency);
  } catch (const std::exception& e) {
    LOG_ERROR("HTTP on_request hook threw: {}", e.what());
  }
}

HttpServer::HttpServer(std::unique_ptr<ServerImpl> impl) : impl_(std::move(impl)) {}

// Stop() throws only std::system_error from a mutex or a thread join, a process beyond saving.
HttpServer::~HttpServer() {  // NOLINT(bugprone-exception-escape)
  Stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options, Handler handler) {
  auto impl = std::make_unique<ServerImpl>(std::move(options), std::move(handler));
  RETURN_IF_ERROR(impl->Listen());
  return std::make_unique<HttpServer>(std::move(impl));
}

uint16_t HttpServer::port() const {
  return impl_->port();
}

size_t HttpServer::max_connections() const {
  return impl_->max_connections();
}

void HttpServer::Stop() {
  impl_->Stop();
}

}  // namespace warden::api
