#include "api/http_deferred.h"

#include <utility>

#include "base/log.h"

namespace warden::api {

bool ClientWatchImpl::gone() const {
  std::lock_guard lock(mu_);
  return gone_;
}

void ClientWatchImpl::OnGone(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (!gone_) {
      if (!released_) {
        callbacks_.push_back(std::move(callback));
      }
      return;
    }
  }
  callback();
}

void ClientWatchImpl::MarkGone() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (gone_ || released_) {
      return;
    }
    gone_ = true;
    callbacks.swap(callbacks_);
  }
  for (std::function<void()>& callback : callbacks) {
    callback();
  }
}

void ClientWatchImpl::Release() {
  std::vector<std::function<void()>> dropped;  // destroyed without the lock held
  std::lock_guard lock(mu_);
  released_ = true;
  dropped.swap(callbacks_);
}

// NOLINTNEXTLINE(bugprone-exception-escape): only std::bad_alloc, a process beyond saving.
DeferredReply::~DeferredReply() {
  std::lock_guard lock(mu_);
  if (deliver_) {
    LOG_ERROR("a deferred response was dropped without an answer: sending 500");
    deliver_(Response::Error(500, "internal", "internal error: the request was never answered"));
  }
}

void DeferredReply::Send(Response response) {
  std::lock_guard lock(mu_);
  if (!deliver_) {
    return;
  }
  if (response.defer) {
    LOG_ERROR("a deferred response cannot answer with another deferred response");
    response = Response::Error(500, "internal", "internal error");
  }
  Deliver deliver = std::move(deliver_);
  deliver_ = nullptr;
  deliver(std::move(response));
}

void DeferredReply::Abandon() {
  Deliver dropped;
  std::lock_guard lock(mu_);
  dropped.swap(deliver_);
}

}  // namespace warden::api
