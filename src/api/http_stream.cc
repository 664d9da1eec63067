#include "api/http_stream.h"

#include <algorithm>
#include <exception>

#include "base/log.h"

namespace warden::api {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace

StreamImpl::StreamImpl(std::string head, size_t max_queue_bytes, bool chunked,
                       std::function<void()> wake)
    : max_queue_bytes_(max_queue_bytes), chunked_(chunked), wake_(std::move(wake)) {
  unsent_bytes_ = head.size();
  queue_.push_back(std::move(head));
}

void StreamImpl::QueueLocked(std::string data) {
  unsent_bytes_ += data.size();
  queue_.push_back(std::move(data));
  if (!flush_posted_) {
    flush_posted_ = true;
    wake_();
  }
}

bool StreamImpl::Write(std::string data) {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen) {
    return false;
  }
  if (data.empty()) {
    return true;  // an empty chunk would end the chunked body
  }
  if (chunked_) {
    std::string framed = fmt::format("{:x}\r\n", data.size());
    framed.reserve(framed.size() + data.size() + kCrlf.size());
    framed += data;
    framed += kCrlf;
    data = std::move(framed);
  }
  if (unsent_bytes_ + data.size() > max_queue_bytes_) {
    // The client reads slower than events arrive: drop it rather than grow without bound. The
    // strand sees kAbandoned, closes the connection and runs the callbacks.
    LOG_DEBUG("SSE stream closed: the client is {} bytes behind", unsent_bytes_);
    state_ = State::kAbandoned;
    queue_.clear();
    if (!flush_posted_) {
      flush_posted_ = true;
      wake_();
    }
    return false;
  }
  QueueLocked(std::move(data));
  return true;
}

void StreamImpl::QueuePing() {
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen) {
    QueueLocked(chunked_ ? std::string("8\r\n: ping\n\n\r\n") : std::string(": ping\n\n"));
  }
}

void StreamImpl::Close() {
  std::lock_guard lock(mu_);
  if (state_ != State::kOpen) {
    return;
  }
  state_ = State::kEnding;
  // Even without a last chunk to send (HTTP/1.0), the strand must learn that the body ended.
  QueueLocked(chunked_ ? std::string(kLastChunk) : std::string());
}

bool StreamImpl::closed() const {
  std::lock_guard lock(mu_);
  return state_ != State::kOpen;
}

size_t StreamImpl::unsent_bytes() const {
  std::lock_guard lock(mu_);
  return unsent_bytes_;
}

void StreamImpl::OnClose(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kOpen) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

StreamImpl::Next StreamImpl::Take(std::vector<std::string>* out) {
  std::lock_guard lock(mu_);
  flush_posted_ = false;
  if (state_ == State::kAbandoned) {
    return Next::kAbandoned;
  }
  out->swap(queue_);
  return state_ == State::kEnding ? Next::kLast : Next::kMore;
}

void StreamImpl::Sent(size_t bytes) {
  std::lock_guard lock(mu_);
  unsent_bytes_ -= std::min(bytes, unsent_bytes_);
}

void StreamImpl::RunCloseCallbacks() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kOpen) {
      return;
    }
    callbacks.swap(callbacks_);
  }
  for (std::function<void()>& callback : callbacks) {
    try {
      callback();
    } catch (const std::exception& e) {
      LOG_ERROR("SSE OnClose callback threw: {}", e.what());
    }
  }
}

void StreamImpl::Abandon() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    state_ = State::kAbandoned;
    queue_.clear();
    wake.swap(wake_);
  }
  RunCloseCallbacks();
}

}  // namespace warden::api
