#include "sandbox/egress_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/log.h"
#include "base/metrics.h"
#include "sandbox/egress_io.h"
#include "sandbox/egress_request.h"

namespace warden::sandbox {
namespace {

constexpr std::chrono::milliseconds kHeadTimeout{30'000};
constexpr std::chrono::milliseconds kHelloTimeout{5'000};
constexpr size_t kMaxHelloBytes = size_t{64} * 1024;
constexpr size_t kMaxConnections = 256;

bool HeadComplete(std::string_view data) {
  return data.find("\r\n\r\n") != std::string_view::npos ||
         data.find("\n\n") != std::string_view::npos;
}

bool HelloComplete(std::string_view data) {
  return ReadClientHelloName(data).state != ClientHelloName::State::kNeedMore;
}

std::string Response(int status, std::string_view reason, std::string_view body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      status, reason, body.size(), body);
}

std::string DenialReason(EgressDenial denial, std::string_view rule) {
  switch (denial) {
    case EgressDenial::kNotAllowed:
      return "host not on the allow-list";
    case EgressDenial::kDenyRule:
      return fmt::format("host matches the deny rule \"{}\"", rule);
    case EgressDenial::kMethodNotAllowed:
      return fmt::format("the host is allowed only for the methods of \"{}\"{}", rule,
                         " (a tunnel, for HTTPS, needs CONNECT among them)");
    default:
      return "";
  }
}

void SetNonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

std::string EgressDenialMessage(std::string_view reason) {
  return fmt::format(
      "blocked by the job's network policy: {}; ask for it to be added instead of trying another "
      "route",
      reason);
}

EgressProxy::EgressProxy(UniqueFd listener, UniqueFd stop, EgressPolicy policy,
                         EgressDenialCallback on_denial)
    : policy_(std::move(policy)),
      on_denial_(std::move(on_denial)),
      listener_(std::move(listener)),
      stop_(std::move(stop)),
      acceptor_([this] { AcceptLoop(); }) {}

Result<std::unique_ptr<EgressProxy>> EgressProxy::Start(UniqueFd listener, EgressPolicy policy,
                                                        EgressDenialCallback on_denial) {
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop) {
    return ErrnoError("eventfd(egress proxy stop)");
  }
  SetNonBlocking(listener.get());
  return std::unique_ptr<EgressProxy>(new EgressProxy(std::move(listener), std::move(stop),
                                                      std::move(policy), std::move(on_denial)));
}

EgressProxy::~EgressProxy() {
  uint64_t one = 1;
  (void)::write(stop_.get(), &one, sizeof(one));
  acceptor_ = {};  // joins: no connection is added after this
  std::lock_guard lock(mutex_);
  connections_.clear();  // each thread sees the stop descriptor and ends; joined here
}

void EgressProxy::AcceptLoop() {
  for (;;) {
    struct pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      LOG_ERROR("egress proxy: poll: {}", ErrnoDescription(errno));
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) {
      continue;  // EAGAIN, or a connection reset before it was accepted
    }
    std::lock_guard lock(mutex_);
    connections_.remove_if([](const std::unique_ptr<Connection>& c) { return c->done.load(); });
    if (connections_.size() >= kMaxConnections) {
      (void)WriteAll(client.get(), stop_.get(),
                     Response(503, "Service Unavailable",
                              "too many connections through the job's network proxy at once\n"));
      continue;
    }
    auto connection = std::make_unique<Connection>();
    Connection* raw = connection.get();
    raw->thread = std::jthread([this, raw, fd = client.release()] {
      UniqueFd owned(fd);
      try {
        Serve(owned.get());
      } catch (const std::exception& e) {
        LOG_ERROR("egress proxy: {}", e.what());
      }
      raw->done = true;
    });
    connections_.push_back(std::move(connection));
  }
}

void EgressProxy::Serve(int client) {
  auto head = ReadUntil(client, stop_.get(), "", kMaxRequestHeadBytes, kHeadTimeout, HeadComplete);
  if (!head.ok() || !HeadComplete(*head)) {
    return;  // stopped, timed out, too long or closed: nobody to tell
  }
  size_t end = head->find("\r\n\r\n");
  size_t head_size = end == std::string::npos ? head->find("\n\n") + 2 : end + 4;
  std::string rest = head->substr(std::min(head_size, head->size()));
  auto request = ParseProxyRequest(std::string_view{*head}.substr(0, head_size));
  if (!request.ok()) {
    Deny(client, false, "", 0, EgressDenial::kBadRequest, "", request.error().message());
    return;
  }
  const bool tunnel = request->kind == ProxyRequest::Kind::kConnect;
  if (!tunnel && !request->host_header.empty() &&
      (request->host_header != request->host || request->host_header_port != request->port)) {
    Deny(client, false, request->host, request->port, EgressDenial::kHostMismatch, "",
         fmt::format("the Host header ({}) differs from the URL's host ({})", request->host_header,
                     request->host));
    return;
  }
  EgressVerdict verdict =
      CheckEgressHost(policy_, request->host, request->port, tunnel ? "CONNECT" : request->method);
  if (!verdict.allowed) {
    Deny(client, false, request->host, request->port, verdict.denial, verdict.rule,
         DenialReason(verdict.denial, verdict.rule));
    return;
  }
  auto upstream = ConnectUpstream(policy_, request->host, request->port, stop_.get());
  if (!upstream.ok()) {
    if (upstream.error().code() == ErrorCode::kPermissionDenied) {
      Deny(client, false, request->host, request->port, EgressDenial::kForbiddenAddress,
           verdict.rule, upstream.error().message());
    } else {
      (void)WriteAll(client, stop_.get(),
                     Response(502, "Bad Gateway", upstream.error().message() + "\n"));
    }
    return;
  }
  if (!tunnel) {
    if (WriteAll(upstream->get(), stop_.get(), request->upstream_head + rest)) {
      Relay(client, upstream->get(), stop_.get());
    }
    return;
  }
  if (!WriteAll(client, stop_.get(), "HTTP/1.1 200 Connection established\r\n\r\n")) {
    return;
  }
  // A TLS client names its server first thing: it must be the host the tunnel was allowed for.
  // A protocol whose server speaks first gets its tunnel once the wait for a ClientHello ends.
  auto first = ReadUntil(client, stop_.get(), rest, kMaxHelloBytes, kHelloTimeout, HelloComplete);
  if (!first.ok()) {
    return;
  }
  ClientHelloName name = ReadClientHelloName(*first);
  if (name.state == ClientHelloName::State::kFound && name.name != request->host) {
    Deny(client, true, request->host, request->port, EgressDenial::kSniMismatch, "",
         fmt::format("the TLS server name ({}) differs from the CONNECT target ({})", name.name,
                     request->host));
    return;
  }
  if (WriteAll(upstream->get(), stop_.get(), *first)) {
    Relay(client, upstream->get(), stop_.get());
  }
}

void EgressProxy::Deny(int client, bool tunnel_open, std::string_view host, uint16_t port,
                       EgressDenial denial, std::string rule, std::string reason) {
  EgressDenialEvent event;
  event.time = std::chrono::system_clock::now();
  event.host = std::string(host);
  event.port = port;
  event.denial = denial;
  event.rule = std::move(rule);
  event.reason = std::move(reason);
  event.message =
      denial == EgressDenial::kBadRequest
          ? fmt::format("the job's network proxy cannot serve this request: {}", event.reason)
          : EgressDenialMessage(event.reason);
  if (!tunnel_open) {
    bool bad = denial == EgressDenial::kBadRequest;
    (void)WriteAll(
        client, stop_.get(),
        Response(bad ? 400 : 403, bad ? "Bad Request" : "Forbidden", event.message + "\n"));
  }
  denials_.fetch_add(1);
  metrics::RecordEgressDenial(EgressDenialName(denial));
  if (on_denial_) {
    on_denial_(event);
  }
}

}  // namespace warden::sandbox
