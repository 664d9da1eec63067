#include "fake_llm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "base/result.h"
#include "fake_llm_wire.h"

namespace warden::testing {
namespace {

using std::chrono::milliseconds;
using wire_format::ChatContext;
using wire_format::CheckChat;
using wire_format::ErrorBody;
using wire_format::Event;
using wire_format::Fill;
using wire_format::Frame;
using wire_format::kNotJson;
using wire_format::kOllamaDetails;
using wire_format::Rendered;
using wire_format::Ser;
using wire_format::StringField;

constexpr size_t kMaxHeaderBytes = size_t{64} * 1024;
constexpr size_t kMaxBodyBytes = size_t{64} * 1024 * 1024;
constexpr std::string_view kDefaultModel = "fake-model";

[[noreturn]] void Die(std::string_view what) {
  std::string message = ErrnoError(what).ToString();
  (void)std::fprintf(stderr, "FakeLlm: %s\n", message.c_str());
  std::abort();
}

enum class Ready { kSocket, kShutdown, kTimeout };

// Waits for `events` on `fd` (ignored when negative) or for the wake eventfd, which wins ties so
// that shutdown is never starved by a busy socket. EINTR counts as a timeout: callers loop.
Ready Poll(int fd, int16_t events, int wake_fd, int timeout_ms) {
  pollfd fds[2] = {{wake_fd, POLLIN, 0}, {fd, events, 0}};
  int ready = ::poll(fds, 2, timeout_ms);
  if (ready == 0 || (ready < 0 && errno == EINTR)) {
    return Ready::kTimeout;
  }
  return ready < 0 || fds[0].revents != 0 ? Ready::kShutdown : Ready::kSocket;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  return begin == std::string_view::npos
             ? ""
             : text.substr(begin, text.find_last_not_of(" \t") + 1 - begin);
}

}  // namespace

// One accepted socket: parses requests and writes responses. Every wait also watches the wake
// eventfd, so FakeLlm's destructor interrupts reads, writes and pauses alike. One thread only.
class FakeConnection {
 public:
  FakeConnection(UniqueFd fd, int wake_fd) : fd_(std::move(fd)), wake_fd_(wake_fd) {}

  enum class Read { kOk, kClosed, kMalformed };
  Read ReadRequest(RecordedRequest* request, bool* keep_alive);
  // False when the peer is gone or the server shuts down.
  bool Send(std::string_view data);
  // Waits `duration`; false when the server shuts down first.
  bool Pause(milliseconds duration) const;
  // Returns once the peer closes or resets the connection, or the server shuts down; what the
  // peer sends meanwhile is discarded.
  void HoldUntilPeerCloses() {
    while (Fill()) {
      buffer_.clear();
    }
  }

 private:
  // Appends what the socket has to buffer_; false on end of stream, error or shutdown.
  bool Fill();

  UniqueFd fd_;
  int wake_fd_;
  std::string buffer_;  // received and not yet consumed (a pipelined next request)
};

bool FakeConnection::Fill() {
  Ready ready = Ready::kTimeout;
  while (ready == Ready::kTimeout) {
    ready = Poll(fd_.get(), POLLIN, wake_fd_, -1);
  }
  if (ready == Ready::kShutdown) {
    return false;
  }
  char chunk[16384];
  ssize_t n = 0;
  do {
    n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

bool FakeConnection::Send(std::string_view data) {
  while (!data.empty()) {
    // Non-blocking, so that a client that stops reading cannot pin this thread past shutdown.
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (Poll(fd_.get(), POLLOUT, wake_fd_, -1) == Ready::kShutdown) {
        return false;
      }
    } else if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

bool FakeConnection::Pause(milliseconds duration) const {
  auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    // Rounded up: poll() would otherwise wake up to a millisecond early, every time.
    auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return true;
    }
    if (Poll(-1, 0, wake_fd_, static_cast<int>(left.count())) == Ready::kShutdown) {
      return false;
    }
  }
}

FakeConnection::Read FakeConnection::ReadRequest(RecordedRequest* request, bool* keep_alive) {
  size_t header_end = 0;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeaderBytes) {
      return Read::kMalformed;
    }
    if (!Fill()) {
      return Read::kClosed;
    }
  }
  std::string_view head(buffer_.data(), header_end);
  std::string_view line = head.substr(0, head.find("\r\n"));
  size_t first_space = line.find(' ');
  size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || last_space == first_space) {
    return Read::kMalformed;
  }
  request->method = line.substr(0, first_space);
  request->path = line.substr(first_space + 1, last_space - first_space - 1);
  std::string_view version = line.substr(last_space + 1);
  head.remove_prefix(line.size());
  while (!head.empty()) {
    head.remove_prefix(2);  // the CRLF that ended the previous line
    std::string_view header = head.substr(0, head.find("\r\n"));
    head.remove_prefix(header.size());
    size_t colon = header.find(':');
    if (colon == std::string_view::npos) {
      return Read::kMalformed;
    }
    std::string& value = request->headers[Lower(Trim(header.substr(0, colon)))];
    value += value.empty() ? "" : ", ";
    value += Trim(header.substr(colon + 1));
  }
  auto header = [&](const std::string& name) {
    auto it = request->headers.find(name);
    return it == request->headers.end() ? std::string() : Lower(it->second);
  };
  // Clients send bodies with Content-Length; chunked request bodies are out of scope.
  size_t length = 0;
  std::string length_text = header("content-length");
  const char* length_end = length_text.data() + length_text.size();
  if (!header("transfer-encoding").empty() ||
      (!length_text.empty() &&
       std::from_chars(length_text.data(), length_end, length).ptr != length_end) ||
      length > kMaxBodyBytes) {
    return Read::kMalformed;
  }
  *keep_alive = version == "HTTP/1.1" ? header("connection") != "close"
                                      : header("connection") == "keep-alive";
  size_t body_start = header_end + 4;
  // libcurl waits (up to a second) for this before it sends a large body.
  if (header("expect") == "100-continue" && buffer_.size() < body_start + length &&
      !Send("HTTP/1.1 100 Continue\r\n\r\n")) {
    return Read::kClosed;
  }
  while (buffer_.size() < body_start + length) {
    if (!Fill()) {
      return Read::kClosed;
    }
  }
  request->body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return Read::kOk;
}

namespace {

std::string_view Reason(int status) {
  static constexpr std::pair<int, std::string_view> kReasons[] = {
      {200, "OK"},          {400, "Bad Request"},         {401, "Unauthorized"},
      {403, "Forbidden"},   {404, "Not Found"},           {405, "Method Not Allowed"},
      {413, "Too Large"},   {429, "Too Many Requests"},   {500, "Internal Server Error"},
      {502, "Bad Gateway"}, {503, "Service Unavailable"}, {529, "Site Overloaded"}};
  for (const auto& [code, reason] : kReasons) {
    if (code == status) {
      return reason;
    }
  }
  return "Unknown";
}

// `framing` is the Content-Length or Transfer-Encoding header line.
std::string ResponseHead(int status, std::string_view content_type, std::string_view framing,
                         bool keep_alive, const std::map<std::string, std::string>& headers) {
  std::string head =
      fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\n{}\r\nConnection: {}\r\n", status,
                  Reason(status), content_type, framing, keep_alive ? "keep-alive" : "close");
  for (const auto& [name, value] : headers) {
    head += fmt::format("{}: {}\r\n", name, value);
  }
  return head + "\r\n";
}

// Sends `rendered` with the faults of `reply` applied (see FakeReply); returns whether the
// connection may serve another request.
bool SendWithFaults(FakeConnection& conn, Wire wire, int status, const Rendered& rendered,
                    const FakeReply& reply, const std::map<std::string, std::string>& headers,
                    milliseconds chunk_delay, bool keep_alive) {
  if (reply.stall.count() > 0 && !conn.Pause(reply.stall)) {
    return false;
  }
  // A server that dies mid-response has not announced it: the headers still say keep-alive.
  bool cut_short = reply.drop_connection || reply.stall_mid_stream;
  auto end_early = [&] {
    if (reply.stall_mid_stream) {
      conn.HoldUntilPeerCloses();
    }
    return false;
  };
  if (!rendered.stream) {
    std::string body = reply.invalid_json ? std::string(kNotJson) : rendered.body;
    if (reply.truncate_stream) {
      body.resize(body.size() / 2);
    }
    std::string head =
        ResponseHead(status, rendered.content_type, fmt::format("Content-Length: {}", body.size()),
                     keep_alive, headers);
    if (cut_short) {
      conn.Send(head + body.substr(0, body.size() / 2));
      return end_early();
    }
    return conn.Send(head + body) && keep_alive;
  }
  keep_alive = keep_alive && !cut_short;
  if (!conn.Send(ResponseHead(status, rendered.content_type, "Transfer-Encoding: chunked",
                              keep_alive, headers))) {
    return false;
  }
  size_t count = rendered.events.size();
  size_t not_json_at = std::min<size_t>(1, count - 1);
  for (size_t i = 0; i < (reply.truncate_stream ? count - rendered.final_events : count); ++i) {
    if (i > 0 && chunk_delay.count() > 0 && !conn.Pause(chunk_delay)) {
      return false;
    }
    Event event = rendered.events[i];
    if (reply.invalid_json && i == not_json_at) {
      event.data = kNotJson;
    }
    std::string framed = Frame(wire, event);
    if (!conn.Send(fmt::format("{:x}\r\n{}\r\n", framed.size(), framed))) {
      return false;
    }
    if (cut_short) {
      return end_early();
    }
  }
  return conn.Send("0\r\n\r\n") && keep_alive;
}

enum class Endpoint { kNone, kChat, kModels, kShow, kVersion, kRoot };

// The endpoint at `path` on `wire`, and the method it takes.
Endpoint Route(Wire wire, std::string_view path, std::string_view* method) {
  struct Entry {
    std::string_view path;
    std::string_view method;
    Wire wire;
    Endpoint endpoint;
  };
  static constexpr Entry kRoutes[] = {
      {"/v1/chat/completions", "POST", Wire::kOpenAi, Endpoint::kChat},
      {"/v1/models", "GET", Wire::kOpenAi, Endpoint::kModels},
      {"/api/chat", "POST", Wire::kOllama, Endpoint::kChat},
      {"/api/show", "POST", Wire::kOllama, Endpoint::kShow},
      {"/api/tags", "GET", Wire::kOllama, Endpoint::kModels},
      {"/api/version", "GET", Wire::kOllama, Endpoint::kVersion},
      {"/", "GET", Wire::kOllama, Endpoint::kRoot},
      {"/v1/messages", "POST", Wire::kAnthropic, Endpoint::kChat},
  };
  for (const Entry& entry : kRoutes) {
    if (entry.wire == wire && entry.path == path) {
      *method = entry.method;
      return entry.endpoint;
    }
  }
  return Endpoint::kNone;
}

}  // namespace

FakeReply TextReply(std::string text) {
  FakeReply reply;
  reply.text = std::move(text);
  return reply;
}

FakeReply ToolCallReply(std::string name, std::string arguments_json) {
  FakeReply reply;
  reply.tool_calls.push_back({std::move(name), std::move(arguments_json)});
  return reply;
}

FakeReply ErrorReply(int status, std::optional<int> retry_after_seconds) {
  FakeReply reply;
  reply.status = status;
  if (retry_after_seconds.has_value()) {
    reply.headers["Retry-After"] = std::to_string(*retry_after_seconds);
  }
  return reply;
}

FakeLlm::FakeLlm(Wire wire) : wire_(wire) {
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!wake_fd_) {
    Die("eventfd()");
  }
  listen_fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_) {
    Die("socket(AF_INET)");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
    Die("bind(127.0.0.1:0)");
  }
  if (::listen(listen_fd_.get(), SOMAXCONN) != 0 ||
      ::getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Die("listen(127.0.0.1)");
  }
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::jthread([this] { AcceptLoop(); });
}

FakeLlm::~FakeLlm() {
  // The eventfd is never read back, so it stays readable for every wait, present and future.
  uint64_t one = 1;
  ssize_t written = ::write(wake_fd_.get(), &one, sizeof one);
  (void)written;
  accept_thread_.join();
  workers_.clear();  // joins each connection thread
}

void FakeLlm::AcceptLoop() {
  for (;;) {
    Ready ready = Poll(listen_fd_.get(), POLLIN, wake_fd_.get(), -1);
    if (ready == Ready::kShutdown) {
      return;
    }
    UniqueFd fd(
        ready == Ready::kSocket ? ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC) : -1);
    if (!fd) {
      continue;  // interrupted, or the client gave up before it was accepted
    }
    // Stream events must leave at once, not wait for Nagle's algorithm to batch them.
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::erase_if(workers_, [](const Worker& worker) { return worker.finished->load(); });
    auto finished = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back({std::jthread([this, finished, fd = std::move(fd)]() mutable {
                          Serve(std::move(fd));
                          finished->store(true);
                        }),
                        finished});
  }
}

void FakeLlm::Serve(UniqueFd fd) {
  FakeConnection conn(std::move(fd), wake_fd_.get());
  for (;;) {
    RecordedRequest request;
    bool keep_alive = true;
    FakeConnection::Read read = conn.ReadRequest(&request, &keep_alive);
    if (read == FakeConnection::Read::kMalformed) {
      SendError(conn, 400, "fake LLM: malformed HTTP request", false);
    }
    if (read != FakeConnection::Read::kOk) {
      return;
    }
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
    }
    requests_cv_.notify_all();
    if (!Handle(conn, request, keep_alive)) {
      return;
    }
  }
}

bool FakeLlm::SendJson(FakeConnection& conn, int status, const std::string& body, bool keep_alive) {
  std::string_view type =
      wire_ == Wire::kOllama ? "application/json; charset=utf-8" : "application/json";
  return conn.Send(ResponseHead(status, type, fmt::format("Content-Length: {}", body.size()),
                                keep_alive, {}) +
                   body) &&
         keep_alive;
}

bool FakeLlm::SendError(FakeConnection& conn, int status, std::string_view message,
                        bool keep_alive) {
  return SendJson(conn, status, ErrorBody(wire_, status, message), keep_alive);
}

bool FakeLlm::Handle(FakeConnection& conn, const RecordedRequest& request, bool keep_alive) {
  std::optional<std::string> key;
  {
    std::lock_guard lock(mu_);
    key = api_key_;
  }
  bool anthropic = wire_ == Wire::kAnthropic;
  auto auth = request.headers.find(anthropic ? "x-api-key" : "authorization");
  if (key.has_value() &&
      (auth == request.headers.end() || auth->second != (anthropic ? "" : "Bearer ") + *key)) {
    return SendError(conn, 401,
                     anthropic                ? "invalid x-api-key"
                     : wire_ == Wire::kOllama ? "unauthorized"
                                              : "Incorrect API key provided.",
                     keep_alive);
  }
  std::string_view path = request.path;
  path = path.substr(0, path.find('?'));
  std::string_view method;
  Endpoint endpoint = Route(wire_, path, &method);
  if (endpoint == Endpoint::kNone) {
    return SendError(conn, 404,
                     wire_ == Wire::kOpenAi
                         ? fmt::format("Invalid URL ({} {})", request.method, path)
                     : wire_ == Wire::kOllama ? "404 page not found"
                                              : "Not Found",
                     keep_alive);
  }
  if (request.method != method) {
    return SendError(conn, 405, "405 method not allowed", keep_alive);
  }
  switch (endpoint) {
    case Endpoint::kNone:
      break;
    case Endpoint::kChat:
      return HandleChat(conn, request, keep_alive);
    case Endpoint::kShow:
      return HandleShow(conn, request, keep_alive);
    case Endpoint::kModels:
      return SendJson(conn, 200, Ser(ModelList()), keep_alive);
    case Endpoint::kVersion:
      return SendJson(conn, 200, R"({"version":"0.9.0"})", keep_alive);
    case Endpoint::kRoot: {
      std::string_view body = "Ollama is running";
      return conn.Send(ResponseHead(200, "text/plain; charset=utf-8",
                                    fmt::format("Content-Length: {}", body.size()), keep_alive,
                                    {}) +
                       std::string(body)) &&
             keep_alive;
    }
  }
  return false;
}

bool FakeLlm::HandleShow(FakeConnection& conn, const RecordedRequest& request, bool keep_alive) {
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  std::string model = body.is_object() ? StringField(body.get_object(), "model") : "";
  if (model.empty() && body.is_object()) {
    model = StringField(body.get_object(), "name");  // the field's name before Ollama 0.5
  }
  if (ec || model.empty()) {
    return SendError(conn, 400, ec ? "fake LLM: request body is not JSON" : "model is required",
                     keep_alive);
  }
  json::array capabilities;
  uint64_t context_length = 0;
  {
    std::lock_guard lock(mu_);
    capabilities = json::array(capabilities_.begin(), capabilities_.end());
    context_length = context_length_;
  }
  json::value show =
      Fill(R"({"license":"","modelfile":"$modelfile","parameters":"stop \"<|eot_id|>\"",
      "template":"{{ .Prompt }}","details":"$details",
      "model_info":{"general.architecture":"llama","general.basename":"fake",
        "general.parameter_count":8030261248,"llama.block_count":32,
        "llama.context_length":"$context","llama.embedding_length":4096},
      "capabilities":"$capabilities","modified_at":"2025-01-01T00:00:00.000000000Z"})",
           {{"modelfile", fmt::format("# Modelfile of the fake LLM\nFROM {}\n", model)},
            {"details", Fill(kOllamaDetails)},
            {"context", context_length},
            {"capabilities", std::move(capabilities)}});
  return SendJson(conn, 200, Ser(show), keep_alive);
}

json::value FakeLlm::ModelList() const {
  std::set<std::string> names;
  {
    std::lock_guard lock(mu_);
    names = models_;
  }
  names.insert(std::string(kDefaultModel));
  json::array models;
  for (const std::string& name : names) {
    std::string tagged = name.find(':') == std::string::npos ? name + ":latest" : name;
    models.push_back(
        wire_ == Wire::kOllama
            ? Fill(R"({"name":"$name","model":"$name","modified_at":"2025-01-01T00:00:00Z",
                       "size":4920753328,"digest":"$digest","details":"$details"})",
                   {{"name", tagged},
                    {"digest", std::string(64, 'f')},
                    {"details", Fill(kOllamaDetails)}})
            : Fill(R"({"id":"$name","object":"model","created":1700000000,"owned_by":"fake-llm"})",
                   {{"name", name}}));
  }
  if (wire_ == Wire::kOllama) {
    return json::object{{"models", std::move(models)}};
  }
  return json::object{{"object", "list"}, {"data", std::move(models)}};
}

bool FakeLlm::HandleChat(FakeConnection& conn, const RecordedRequest& request, bool keep_alive) {
  boost::system::error_code ec;
  json::value parsed = json::parse(request.body, ec);
  if (ec) {
    return SendError(conn, 400,
                     fmt::format("fake LLM: request body is not valid JSON ({})", ec.message()),
                     keep_alive);
  }
  {
    std::lock_guard lock(mu_);
    chat_bodies_.push_back(parsed);
  }
  if (!parsed.is_object()) {
    return SendError(conn, 400, "fake LLM: request body is not a JSON object", keep_alive);
  }
  const json::object& body = parsed.get_object();
  if (std::string problem = CheckChat(wire_, body, request); !problem.empty()) {
    return SendError(conn, 400, problem, keep_alive);
  }

  std::optional<FakeReply> reply;
  milliseconds chunk_delay{0};
  uint64_t serial = 0;
  uint64_t context_length = 0;
  {
    std::lock_guard lock(mu_);
    models_.insert(StringField(body, "model"));
    if (!script_.empty()) {
      reply = std::move(script_.front());
      script_.pop_front();
    }
    serial = ++serial_;
    chunk_delay = chunk_delay_;
    context_length = context_length_;
  }
  if (!reply.has_value()) {
    return SendError(conn, 500, "fake LLM: script exhausted", keep_alive);
  }

  ChatContext context =
      wire_format::MakeContext(wire_, parsed, request.body.size(), *reply, serial, context_length);
  std::map<std::string, std::string> headers = reply->headers;
  if (wire_ != Wire::kOllama) {
    headers.emplace(wire_ == Wire::kOpenAi ? "x-request-id" : "request-id",
                    fmt::format("req_fake{:016x}", serial));
  } else if (reply->prompt_truncated) {
    headers.emplace("x-fake-llm-prompt-truncated", "true");
  }
  Rendered rendered = wire_format::Render(wire_, *reply, context);
  return SendWithFaults(conn, wire_, reply->status, rendered, *reply, headers, chunk_delay,
                        keep_alive);
}

void FakeLlm::Script(std::vector<FakeReply> replies) {
  std::lock_guard lock(mu_);
  for (FakeReply& reply : replies) {
    script_.push_back(std::move(reply));
  }
}

std::string FakeLlm::BaseUrl() const {
  return fmt::format("http://127.0.0.1:{}{}", port_, wire_ == Wire::kOpenAi ? "/v1" : "");
}

}  // namespace warden::testing
