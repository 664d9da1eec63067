// StreamImpl: the Stream behind a pushed (SSE) response, a queue between the threads that write
// events and the connection that sends them. No Asio here: the connection hands in a wake-up call.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "api/http.h"

namespace warden::api {

// The Stream of a pushed response. Writers on any thread queue framed chunks; the connection's
// strand takes them and writes them. `wake` posts a flush to that strand; it is called with the
// mutex held, which is what lets ServerImpl::Stop() know that no post can follow an Abandon().
// Thread-safe.
class StreamImpl final : public Stream {
 public:
  enum class Next { kMore, kLast, kAbandoned };

  // `head` (the response headers) goes out first. `chunked`: HTTP/1.1 framing, else the body
  // ends when the connection closes (HTTP/1.0 clients).
  StreamImpl(std::string head, size_t max_queue_bytes, bool chunked, std::function<void()> wake);

  bool Write(std::string data) override;
  void Close() override;
  bool closed() const override;
  size_t unsent_bytes() const override;
  void OnClose(std::function<void()> callback) override;

  // For the connection's strand. Moves what is queued into *out: kLast when that ends the response,
  // kAbandoned when nothing more must be sent.
  Next Take(std::vector<std::string>* out);
  void Sent(size_t bytes);
  void QueuePing();
  // Runs the OnClose callbacks once the stream is closed (not from Write() or Close(), whose
  // callers may hold a lock that a callback takes).
  void RunCloseCallbacks();
  // Ends the stream at once, dropping what is queued: the client left or the server stops.
  void Abandon();

 private:
  enum class State { kOpen, kEnding, kAbandoned };

  void QueueLocked(std::string data);

  const size_t max_queue_bytes_;
  const bool chunked_;
  mutable std::mutex mu_;
  // Holds a copy of the connection's executor, which must not outlive the io_context: Abandon()
  // drops it, and the server abandons every stream before its io_context goes.
  std::function<void()> wake_;
  State state_ = State::kOpen;
  bool flush_posted_ = false;
  std::vector<std::string> queue_;
  size_t unsent_bytes_ = 0;  // queued or being written
  std::vector<std::function<void()>> callbacks_;
};

}  // namespace warden::api
