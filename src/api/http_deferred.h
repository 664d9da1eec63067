// The two halves of a deferred response that live outside the connection's strand: the
// ClientWatch a handler asks whether its client is still there, and the Responder it answers
// through. No Asio here: the connection hands in a delivery call, as it does to a stream.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "api/http.h"

namespace warden::api {

// The ClientWatch of one request. The connection calls MarkGone() when the client leaves while
// the response is pending, and Release() once it has the response. Thread-safe.
class ClientWatchImpl final : public ClientWatch {
 public:
  bool gone() const override;
  void OnGone(std::function<void()> callback) override;

  // Runs the callbacks, on the calling thread, without the lock held.
  void MarkGone();
  // Drops the callbacks unrun: the response is on its way, nothing needs stopping any more.
  void Release();

 private:
  mutable std::mutex mu_;
  bool gone_ = false;
  bool released_ = false;
  std::vector<std::function<void()>> callbacks_;
};

// The Responder of one deferred response. `deliver` hands the response to the connection (it posts
// to the connection's strand and holds the connection, so it must not outlive the io_context):
// it runs at most once, with the mutex held, which lets the server know that no delivery follows
// an Abandon(). Thread-safe.
class DeferredReply final : public Responder {
 public:
  using Deliver = std::function<void(Response)>;

  explicit DeferredReply(Deliver deliver) : deliver_(std::move(deliver)) {}
  ~DeferredReply() override;  // a 500 when nothing was sent
  DeferredReply(const DeferredReply&) = delete;
  DeferredReply& operator=(const DeferredReply&) = delete;

  void Send(Response response) override;
  // Later Send()s do nothing: the server stops. Releases the delivery call and what it holds.
  void Abandon();

 private:
  std::mutex mu_;
  Deliver deliver_;  // empty once used or abandoned
};

}  // namespace warden::api
