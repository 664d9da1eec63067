// The end of an HTTP connection: after the last response, lingering (plain TCP: draining input;
// TLS: close_notify) so that the client reads it; closing; the one deadline of each phase.
#include <array>

#include "api/http_internal.h"
#include "base/log.h"

namespace warden::api {
using Clock = std::chrono::steady_clock;

namespace {

// After the last response, how long input is drained before the socket is closed. Closing with
// unread input sends a RST, which can destroy the response (a 413) before the client reads it.
constexpr auto kLingerTimeout = std::chrono::seconds(2);

}  // namespace

void Connection::FinishResponse() {
  if (keep_alive_) {
    ReadRequest();
  } else {
    LingerClose();
  }
}

void Connection::LingerClose() {
  phase_ = Phase::kLingering;
  if (stream_) {
    stream_->Abandon();
  }
  ArmTimer(kLingerTimeout);
  if (transport_->encrypted()) {
    // close_notify, then whatever the client sends until its own or its EOF.
    transport_->AsyncShutdown(
        [self = shared_from_this()](boost::system::error_code) { self->CloseNow(); });
    return;
  }
  boost::system::error_code ec;
  transport_->socket().shutdown(Tcp::socket::shutdown_send, ec);
  if (ec) {
    CloseNow();
    return;
  }
  WatchPeer();
}

// Waits until the socket is readable, without a buffer: a follower's connection costs no read
// buffer. Used while streaming, to notice at once that the client left (EOF or RST make the
// socket readable), and while lingering. Plain TCP only: it reads past TLS.
void Connection::WatchPeer() {
  if (watching_peer_ || transport_->encrypted()) {
    return;
  }
  watching_peer_ = true;
  transport_->socket().async_wait(Tcp::socket::wait_read,
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
    Tcp::socket& socket = transport_->socket();
    socket.non_blocking(true, ec);
    if (!ec) {
      socket.read_some(asio::buffer(discard), ec);
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
  transport_->socket().close(ignored);  // completes the pending operations, which drop their refs
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
    case Phase::kHandshaking:
    case Phase::kReading:
    case Phase::kWriting:
    case Phase::kPulling:
    case Phase::kLingering:
      LOG_DEBUG("HTTP connection from {} timed out", remote_);
      CloseNow();
      return;
    case Phase::kHandling:
    case Phase::kWebSocket:  // the socket keeps its own timeouts
    case Phase::kClosed:
      return;
  }
}

}  // namespace warden::api
