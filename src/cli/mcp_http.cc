#include "cli/mcp_http.h"

#include <random>

#include <fmt/format.h>

#include "base/json_text.h"
#include "base/log.h"

namespace warden::cli {

// Where the notifications of one call go: the SSE stream of its POST, once it is open.
struct McpSink {
  std::mutex mu;
  std::shared_ptr<api::Stream> stream;  // guarded by mu; null for a JSON reply

  void Send(const json::object& message) {
    std::lock_guard lock(mu);
    if (stream) {
      stream->Write(fmt::format("event: message\ndata: {}\n\n", SerializeJson(message)));
    }
  }
};

namespace {

constexpr std::string_view kSessionHeader = "Mcp-Session-Id";

api::Response RpcError(int status, int code, std::string_view message) {
  return api::Response::Json(status, mcp::ErrorReply(nullptr, code, message));
}

bool IsLoopbackOrigin(std::string_view origin) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!origin.starts_with(scheme)) {
      continue;
    }
    std::string_view host = origin.substr(scheme.size());
    for (std::string_view name : {"localhost", "127.0.0.1", "[::1]"}) {
      if (host.starts_with(name) && (host.size() == name.size() || host[name.size()] == ':')) {
        return true;
      }
    }
  }
  return false;
}

std::string NewSessionId() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

std::string OwnerOf(const api::Request& request) {
  auto it = request.params.find("owner");
  return it != request.params.end() ? it->second : "anonymous";
}

// True when the request has an "initialize" method: the one message without a session.
bool IsInitialize(std::string_view body) {
  json::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return false;
  }
  const json::value* method = value.get_object().if_contains("method");
  return method != nullptr && method->is_string() && method->get_string() == "initialize";
}

}  // namespace

McpHttp::McpHttp(mcp::ToolSet& tools, McpHttpOptions options)
    : tools_(tools), options_(std::move(options)), calls_(options_.call_threads) {}

McpHttp::~McpHttp() {
  {
    std::lock_guard lock(mu_);
    for (auto& [id, entry] : sessions_) {
      entry.session->CancelAll();
    }
  }
  calls_.Stop();
}

void McpHttp::AddRoutes(api::Router& router) {
  router.Add("POST", "/mcp", [this](api::Request& request) { return Post(request); });
  router.Add("DELETE", "/mcp", [this](api::Request& request) { return Delete(request); });
  // No GET: this server sends no messages of its own, so GET /mcp is the router's 405.
}

bool McpHttp::OriginAllowed(const api::Request& request) const {
  const std::string* origin = request.headers.Find("Origin");
  if (origin == nullptr || IsLoopbackOrigin(*origin)) {
    return true;
  }
  for (const std::string& allowed : options_.allowed_origins) {
    if (allowed == *origin) {
      return true;
    }
  }
  return false;
}

std::string McpHttp::Open(std::shared_ptr<mcp::Session> session) {
  std::string id = NewSessionId();
  std::lock_guard lock(mu_);
  if (sessions_.size() >= options_.max_sessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      oldest = it->second.last_used < oldest->second.last_used ? it : oldest;
    }
    LOG_INFO("MCP session of {} closed: {} sessions are open, the most",
             oldest->second.session->owner(), sessions_.size());
    sessions_.erase(oldest);
  }
  sessions_[id] = Entry{std::move(session), std::chrono::steady_clock::now()};
  return id;
}

std::shared_ptr<mcp::Session> McpHttp::Find(const api::Request& request, api::Response* refusal) {
  const std::string* id = request.headers.Find(kSessionHeader);
  if (id == nullptr) {
    *refusal = RpcError(400, mcp::kInvalidRequest,
                        "no Mcp-Session-Id header: send initialize first, then its "
                        "Mcp-Session-Id with every request");
    return nullptr;
  }
  std::lock_guard lock(mu_);
  auto it = sessions_.find(*id);
  if (it == sessions_.end() || it->second.session->owner() != OwnerOf(request)) {
    *refusal = RpcError(404, mcp::kInvalidRequest,
                        "unknown or expired Mcp-Session-Id: initialize a new session");
    return nullptr;
  }
  it->second.last_used = std::chrono::steady_clock::now();
  return it->second.session;
}

api::Response McpHttp::Post(api::Request& request) {
  if (!OriginAllowed(request)) {
    return RpcError(403, mcp::kInvalidRequest,
                    fmt::format("Origin {} may not use this server (only loopback origins)",
                                request.headers.Get("Origin")));
  }
  std::shared_ptr<mcp::Session> session;
  std::string new_id;
  if (IsInitialize(request.body)) {
    // The links a tool gives name this server as the client reached it (a Host of other
    // characters than a host name's and port's gives none).
    std::string host(request.headers.Get("Host"));
    if (host.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
        std::string::npos) {
      host.clear();
    }
    session = std::make_shared<mcp::Session>(tools_, OwnerOf(request),
                                             host.empty() ? "" : options_.scheme + "://" + host,
                                             options_.tasks);
  } else {
    api::Response refusal;
    session = Find(request, &refusal);
    if (!session) {
      return refusal;
    }
  }
  auto sink = std::make_shared<McpSink>();
  mcp::Handled handled =
      session->Handle(request.body, [sink](const json::object& message) { sink->Send(message); });
  api::Response response;
  if (handled.call) {
    response = RunCall(request, session, std::move(handled), sink);
  } else if (handled.reply) {
    bool initialized = handled.reply->contains("result") && IsInitialize(request.body);
    response = api::Response::Json(200, *handled.reply);
    if (initialized) {
      response.headers.Set(kSessionHeader, Open(session));
    }
  } else {
    response.status = 202;  // a notification or a response: accepted, nothing to say
  }
  return response;
}

api::Response McpHttp::RunCall(const api::Request& request,
                               const std::shared_ptr<mcp::Session>& session, mcp::Handled handled,
                               const std::shared_ptr<McpSink>& sink) {
  auto call = std::move(handled.call);
  json::value id = handled.id;
  if (request.headers.Get("Accept").find("text/event-stream") != std::string_view::npos) {
    return api::Response::EventStream(
        [this, session, sink, call, id](const std::shared_ptr<api::Stream>& stream) {
          {
            std::lock_guard lock(sink->mu);
            sink->stream = stream;
          }
          stream->OnClose([session, id] { session->CancelCall(id); });
          calls_.Submit([sink, call, stream] {
            sink->Send(call());
            stream->Close();
          });
        });
  }
  std::shared_ptr<api::ClientWatch> client = request.client;
  return api::Response::Deferred(
      [this, session, call, id, client](const std::shared_ptr<api::Responder>& responder) {
        if (client) {
          client->OnGone([session, id] { session->CancelCall(id); });
        }
        calls_.Submit([call, responder] { responder->Send(api::Response::Json(200, call())); });
      });
}

api::Response McpHttp::Delete(api::Request& request) {
  api::Response refusal;
  std::shared_ptr<mcp::Session> session = Find(request, &refusal);
  if (!session) {
    return refusal;
  }
  session->CancelAll();
  std::lock_guard lock(mu_);
  sessions_.erase(std::string(request.headers.Get(kSessionHeader)));
  api::Response response;
  response.status = 204;
  return response;
}

Result<std::unique_ptr<McpEndpoint>> McpEndpoint::Create(sandbox::Supervisor& supervisor,
                                                         jobs::JobStore* store,
                                                         McpEndpointOptions options) {
  std::unique_ptr<McpEndpoint> endpoint(new McpEndpoint());
  mcp::PoolOptions pool_options;
  pool_options.root = options.workspace_root + "/.mcp";
  pool_options.sandbox_uid = options.sandbox_uid;
  pool_options.max_per_owner = options.max_sandboxes;
  pool_options.idle_ttl = options.idle_ttl;
  ASSIGN_OR_RETURN(endpoint->pool_, mcp::SandboxPool::Create(pool_options));
  endpoint->sandbox_tools_ =
      std::make_unique<mcp::SandboxTools>(supervisor, *endpoint->pool_, mcp::ToolOptions{});
  std::vector<mcp::ToolSet*> sets{endpoint->sandbox_tools_.get()};
  if (store != nullptr) {
    endpoint->job_tools_ = std::make_unique<mcp::JobTools>(*store, std::move(options.jobs));
    options.http.tasks = endpoint->job_tools_.get();
    sets.push_back(endpoint->job_tools_.get());
  }
  endpoint->tools_ = std::make_unique<mcp::CombinedTools>(std::move(sets));
  endpoint->http_ = std::make_unique<McpHttp>(*endpoint->tools_, std::move(options.http));
  return endpoint;
}

}  // namespace warden::cli
