// The HTTP server as handlers see it: plain requests and responses, pulled bodies for big
// downloads, server-pushed streams for SSE and deferred answers for long work. Boost.Beast, Asio
// and OpenSSL stay inside http_server.cc, http_connection*.cc and http_transport.cc, so including
// this header costs little to compile.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace warden::api {

// Header fields in arrival order. Lookups ignore the case of names, as HTTP requires.
// A plain value type; not thread-safe.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // The value of the first field named `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  // The value of the first field named `name`, or "" when there is none.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  // Replaces every field named `name` with a single one.
  void Set(std::string_view name, std::string value);
  // Appends a field, keeping any of the same name (Set-Cookie style).
  void Add(std::string name, std::string value);
  void Remove(std::string_view name);

  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

// Whether the client of a request is still connected. The server watches while a deferred
// response (Response::Deferred) is pending, so that long work can stop once nobody waits for it.
// Thread-safe.
class ClientWatch {
 public:
  virtual ~ClientWatch() = default;
  // True once the client closed or reset its connection before its response was sent.
  virtual bool gone() const = 0;
  // Runs `callback` once the client goes: on an I/O thread, or at once on the calling thread when
  // it has gone already. Callbacks still waiting when the response is sent are dropped unrun.
  // They must be quick.
  virtual void OnGone(std::function<void()> callback) = 0;
};

struct Request {
  std::string method;      // as sent, case-sensitive: "GET"
  std::string path;        // percent-decoded, without the query: "/v1/jobs/a b"
  std::string raw_target;  // as sent: "/v1/jobs/a%20b?limit=10"
  // Percent-decoded, '+' read as a space; of a repeated key the first value counts.
  std::map<std::string, std::string> query;
  Headers headers;
  std::string body;
  std::string remote;      // the peer: "127.0.0.1:52344"
  std::string request_id;  // also sent back as X-Request-Id
  // Path parameters, filled by the Router from patterns such as "/v1/jobs/{id}".
  std::map<std::string, std::string> params;
  // The pattern of the route that matched, set by the Router: "/v1/jobs/{id}"; "" when none did
  // (404, 405). Bounded, unlike `path`: what metrics label requests by.
  std::string route;
  // Set by the server for the handler (null in requests made up by tests, and for the quick
  // handler, whose answer nobody waits for long).
  std::shared_ptr<ClientWatch> client;
  // Set by Auth once it checked the request's key and set params["owner"] on an I/O thread, when
  // the request then went on to the pool: the check there lets it pass as it is, so that the
  // request is counted against its key's rate once.
  bool key_checked = false;
};

// A server-pushed stream (SSE): the body of a response that the handler keeps writing to after it
// returned. Thread-safe: any thread may call any method at any time, also after the server stopped.
class Stream {
 public:
  virtual ~Stream() = default;

  // Queues `data` to be sent as is (the handler formats SSE events: "data: ...\n\n"), in order.
  // Never blocks. Returns false, dropping `data`, once the stream is closed: by Close(), because
  // the client went away, because more than ServerOptions::max_stream_queue_bytes were waiting to
  // be sent (a client that stopped reading, or a burst faster than the network), or because the
  // server stopped.
  virtual bool Write(std::string data) = 0;
  // Ends the response after what is queued has been sent. Idempotent.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  // Bytes written but not yet taken by the client: a writer with much to send waits while this is
  // high instead of overflowing the queue (which closes the stream).
  virtual size_t unsent_bytes() const = 0;
  // Runs `callback` once when the stream closes, for whatever reason (the client left within
  // moments, not at the next write); at once, on the calling thread, if it is already closed.
  // Otherwise callbacks run on an I/O thread (or in Stop()), never inside Write() or Close(), so
  // a callback may take a lock that a writer holds while it writes. They must be quick.
  virtual void OnClose(std::function<void()> callback) = 0;
};

// A WebSocket connection the server accepted (Response::WebSocket): text messages both ways.
// Thread-safe: any thread may call any method at any time, also after the server stopped.
class WebSocket {
 public:
  virtual ~WebSocket() = default;

  // Queues `text` to be sent as one text message, in order. Never blocks. Returns false, dropping
  // it, once the socket is closed or closing, or when more than
  // ServerOptions::max_stream_queue_bytes would be waiting (the socket is then closed: a client
  // that stopped reading).
  virtual bool Send(std::string text) = 0;
  // Sends a close frame with `code` (1000: normal; 4000-4999: the application's) and `reason`
  // after what is queued, then ends the connection. Idempotent.
  virtual void Close(uint16_t code, std::string reason) = 0;
  virtual bool closed() const = 0;
  // Bytes queued but not yet taken by the client.
  virtual size_t unsent_bytes() const = 0;
  // Runs `callback` once when the socket closes, for whatever reason; at once, on the calling
  // thread, if it is already closed. Otherwise on an I/O thread, never inside Send() or Close().
  // Whoever holds the WebSocket must let it go then. Callbacks must be quick.
  virtual void OnClose(std::function<void()> callback) = 0;
};

// Receives a WebSocket once its handshake is done, on a handler thread, and returns what handles
// each text message the client sends. Messages are handled one at a time, in order, on handler
// threads; the next one is read only once the handler returned. Binary messages, and text over
// 64 KiB, close the socket (1003, 1009).
using WebSocketStarter =
    std::function<std::function<void(std::string)>(std::shared_ptr<WebSocket>)>;

// True when `request` asks to become a WebSocket (GET with Upgrade: websocket, Connection:
// upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key).
bool IsWebSocketUpgrade(const Request& request);

// Produces a download body piece by piece, on a handler thread (it may read files). Returns the
// next piece, std::nullopt at the end, or an error, which cuts the response short: the client sees
// a truncated chunked body. Never called again after the end or an error, nor concurrently.
using BodyPuller = std::function<Result<std::optional<std::string>>()>;
// Receives the stream of a pushed response once its headers are queued; runs on a handler thread.
using StreamStarter = std::function<void(std::shared_ptr<Stream>)>;
class Responder;
// Receives the Responder of a deferred response; runs on a handler thread and must return at once,
// having handed the work to threads of its own.
using DeferredStarter = std::function<void(std::shared_ptr<Responder>)>;

struct Response {
  int status = 200;
  // The server sets Server, X-Request-Id, Content-Length or Transfer-Encoding, and Connection,
  // ignoring them here; Content-Type defaults to text/plain. Fields with CR, LF or NUL are dropped.
  Headers headers;
  std::string body;
  // At most one of these: then `body` is ignored and the response is sent with chunked
  // transfer-encoding (to HTTP/1.0 clients: until the connection closes), piece by piece, never
  // all in memory. A pushed response ends its connection.
  BodyPuller pull;
  StreamStarter push;
  // Or neither: the answer comes later, from another thread, through a Responder. The handler
  // thread is free meanwhile, and the server watches the client (Request::client).
  DeferredStarter defer;
  // Or the request becomes a WebSocket (only for a request where IsWebSocketUpgrade() holds; for
  // any other, a 426 is sent instead). Status and headers are ignored: the handshake answers 101.
  WebSocketStarter websocket;

  static Response Json(int status, const json::value& value);
  static Response Text(int status, std::string text);
  // {"error": {"code": code, "message": message}}
  static Response Error(int status, std::string_view code, std::string_view message);
  // An Error as a JSON error, its code mapped to a status by HttpStatusFor().
  static Response FromError(const warden::Error& error);
  // A download: `content_type` (e.g. "application/octet-stream") and its pieces.
  static Response Pull(std::string content_type, BodyPuller pull);
  // An SSE stream: text/event-stream, not cached, not buffered by proxies.
  static Response EventStream(StreamStarter push);
  // A response sent later: `start` gets the Responder that sends it.
  static Response Deferred(DeferredStarter start);
  // Accepts a WebSocket upgrade: `start` gets the socket once the handshake is done.
  static Response WebSocketUpgrade(WebSocketStarter start);
};

// Sends the response of a deferred request, from any thread. Thread-safe. The first Send() counts;
// it does nothing once the client left or the server stopped. Destroyed without a Send(), it sends
// a 500, so that no client waits for ever. The response sent may be pulled or pushed, not deferred.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Send(Response response) = 0;
};

// The HTTP status for an error code: kNotFound → 404, kInvalidArgument → 400, ...
int HttpStatusFor(ErrorCode code);

// Percent-decoding of URL parts. kQuery also reads '+' as a space. std::nullopt when an escape is
// malformed or decodes to a NUL byte.
enum class DecodeMode { kPath, kQuery };
std::optional<std::string> PercentDecode(std::string_view text, DecodeMode mode);

// The query parameter `name` as a whole number from `low` to `high`; `fallback` when it is absent
// or empty; kInvalidArgument (naming the range) otherwise.
Result<int64_t> QueryInt(const Request& request, const std::string& name, int64_t fallback,
                         int64_t low, int64_t high);

// Splits an origin-form target ("/a%20b?x=1") into request->raw_target, path and query. Returns
// false for anything else: absolute-form, "*", bad escapes.
bool ParseTarget(std::string_view target, Request* request);

// Handles one request. May block (handlers run on a pool of their own threads) and may throw:
// an exception becomes a 500 JSON error. A HEAD request is handled as it comes (the Router runs
// the GET route); the server sends the headers of the answer without its body.
using Handler = std::function<Response(Request&)>;

// Answers a request on the I/O thread that read it, without handing it to the pool, when it can
// do so without blocking (no waiting for a lock held long, a disk write, the network or another
// thread); otherwise returns std::nullopt, and the Handler answers the same request on the pool.
// Its answer is a plain, pulled or pushed response (pulled pieces and the starter of a pushed one
// still run on the pool), not a deferred one nor a WebSocket. May throw, like a Handler.
using QuickHandler = std::function<std::optional<Response>(Request&)>;

// TLS for a server: both files empty means plain HTTP.
struct TlsOptions {
  std::string cert_file;  // PEM: the server's certificate, then any intermediate ones
  std::string key_file;   // PEM: its private key
  // PEM CA certificates. When set, a client must present a certificate signed by one of them, or
  // the handshake fails.
  std::string client_ca_file;

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IPv4 or IPv6 address
  uint16_t port = 8000;            // 0: any free port, see HttpServer::port()
  size_t io_threads = 1;
  size_t handler_threads = 4;
  // Tried first for every request, on the I/O thread (QuickHandler); optional. A request it
  // answers costs no handoff to the pool and back, and is answered while every handler thread is
  // busy.
  QuickHandler quick;
  size_t max_body_bytes = 10 << 20;         // larger request bodies get 413
  size_t max_header_bytes = 16 << 10;       // larger request headers get 431
  size_t max_stream_queue_bytes = 1 << 20;  // per stream; beyond it the stream is closed
  // Connections served at once; 0: half of the process's RLIMIT_NOFILE. One more is answered 503
  // with Retry-After and closed; while 64 such answers are under way, the server stops accepting
  // until a connection closes (the kernel's listen backlog holds the rest).
  size_t max_connections = 0;
  // Requests for these exact paths run on threads of their own (priority_threads), so that they
  // are answered while every handler thread is busy: health checks and metrics.
  std::vector<std::string> priority_paths;
  size_t priority_threads = 2;
  TlsOptions tls;
  // A connection is closed when the next request (or, over TLS, the handshake) does not arrive in
  // full, or a write is not taken by the client, within this time.
  std::chrono::seconds idle_timeout{60};
  // An idle stream gets an SSE comment line (": ping") this often, so proxies keep it open.
  std::chrono::seconds keepalive_ping{15};
  // How long Stop() lets responses in progress finish writing before it cuts them off.
  std::chrono::seconds stop_grace{5};
  // Once no request has finished for this long after some did, the heap's free memory is given
  // back to the kernel (malloc_trim): what a burst of big requests freed would otherwise stay in
  // the process's resident memory. 0: never.
  std::chrono::seconds trim_after_quiet{5};
  // Called once per request after the handler returned, with the handler's latency; also for
  // requests the server refused itself (400, 413, 431; latency 0). Runs on a handler or I/O
  // thread: must be quick and thread-safe. Optional.
  std::function<void(const Request&, int status, std::chrono::microseconds latency)> on_request;
};

class ServerImpl;  // http_internal.h

// An HTTP/1.1 server: keep-alive, limits, timeouts, streaming. The I/O threads move bytes and run
// ServerOptions::quick; handlers, pulled bodies and stream starters run on the handler pool.
// Thread-safe; Stop() and the destructor must not be called from a handler or a stream callback.
class HttpServer {
 public:
  // Binds and starts serving. Errors: kInvalidArgument (bad host), or the failed bind()/listen().
  static Result<std::unique_ptr<HttpServer>> Start(ServerOptions options, Handler handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // NOLINT(bugprone-exception-escape): see the definition. Stop()s.

  // The bound port (useful with ServerOptions::port = 0).
  uint16_t port() const;
  // The connection cap in force (ServerOptions::max_connections, or its default).
  size_t max_connections() const;

  // Graceful shutdown: stops accepting, closes idle connections and streams, waits for running
  // handlers and lets their responses finish (up to stop_grace), then joins every thread.
  // Idempotent.
  void Stop();

  explicit HttpServer(std::unique_ptr<ServerImpl> impl);  // for Start()

 private:
  std::unique_ptr<ServerImpl> impl_;
};

}  // namespace warden::api
