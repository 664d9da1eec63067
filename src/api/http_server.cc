// HttpServer over Boost.Asio, with Beast parsing requests. One of the two files that include Beast
// (DESIGN.md §8: each costs ~15 s to compile); http_connection.cc has the per-connection part.
#include <fcntl.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "api/http_internal.h"
#include "api/http_request.h"
#include "base/log.h"

namespace warden::api {

WorkerPool::WorkerPool(size_t threads) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    threads_.emplace_back([this] { Run(); });
  }
}

WorkerPool::~WorkerPool() {
  Stop();
}

bool WorkerPool::Submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  threads_.clear();  // joins, after the queue ran dry
}

void WorkerPool::Run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) {
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

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

}  // namespace

ServerImpl::ServerImpl(ServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      id_prefix_(RandomPrefix()),
      pool_(options_.handler_threads) {}

Status ServerImpl::Listen() {
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("listen address \"{}\" is not an IP address", options_.host));
  }
  Tcp::endpoint endpoint(address, options_.port);
  std::string where = fmt::format("{}:{}", options_.host, options_.port);
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
  // Without it, run() would return whenever every connection waits on a handler.
  work_guard_.emplace(ioc_->get_executor());
  Accept();
  for (size_t i = 0; i < std::max<size_t>(options_.io_threads, 1); ++i) {
    io_threads_.emplace_back([this] { RunIo(); });
  }
  listening_ = true;
  LOG_INFO("HTTP server listening on {}:{}", options_.host, port_);
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
  auto connection = std::make_shared<Connection>(*this, std::move(socket), std::move(remote));
  if (Register(connection)) {
    asio::post(connection->executor(), [connection] { connection->Start(); });
  }
  Accept();
}

bool ServerImpl::Register(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mu_);
  if (stopping_) {
    return false;
  }
  connections_.emplace(connection.get(), connection);
  return true;
}

void ServerImpl::Unregister(Connection* connection) {
  std::lock_guard lock(mu_);
  connections_.erase(connection);
  if (connections_.empty()) {
    connections_empty_.notify_all();
  }
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
  });
  for (const std::weak_ptr<Connection>& weak : Connections()) {
    if (std::shared_ptr<Connection> connection = weak.lock()) {
      asio::post(connection->executor(), [connection] { connection->OnServerStop(); });
    }
  }
  // Running handlers finish; their responses are posted to the I/O threads, which still run.
  pool_.Stop();
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
  acceptor_.reset();
  retry_timer_.reset();
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

Response ServerImpl::Call(Request& request) {
  auto start = std::chrono::steady_clock::now();
  Response response;
  try {
    response = handler_(request);
  } catch (const std::exception& e) {
    LOG_ERROR("{} {} {}: handler threw: {}", request.request_id, request.method, request.raw_target,
              e.what());
    response = Response::Error(500, "internal", "internal error");
  } catch (...) {
    LOG_ERROR("{} {} {}: handler threw a non-exception", request.request_id, request.method,
              request.raw_target);
    response = Response::Error(500, "internal", "internal error");
  }
  if (response.pull && response.push) {
    LOG_ERROR("{} {} {}: a response cannot be both pulled and pushed", request.request_id,
              request.method, request.raw_target);
    response = Response::Error(500, "internal", "internal error");
  }
  Finished(request, response.status,
           std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start));
  return response;
}

void ServerImpl::Finished(const Request& request, int status, std::chrono::microseconds latency) {
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

void HttpServer::Stop() {
  impl_->Stop();
}

}  // namespace warden::api
