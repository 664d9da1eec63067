#include "web/live.h"

#include <set>
#include <utility>

#include <fmt/format.h>

#include "base/json_text.h"
#include "base/log.h"
#include "web/live_internal.h"

namespace warden::web {
namespace {

std::string ErrorMessage(std::string_view sub, std::string_view code, std::string_view text) {
  json::object message{{"type", "error"}, {"code", code}, {"message", text}};
  if (!sub.empty()) {
    message["sub"] = sub;
  }
  return Message(message);
}

std::string StringField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

}  // namespace

LiveHub::LiveHub(jobs::JobStore& store, LiveOptions options)
    : store_(store), options_(std::move(options)), followers_(store) {
  watcher_ = std::thread([this] { WatchJobs(); });
}

LiveHub::~LiveHub() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  watcher_.join();
}

void LiveHub::AddRoutes(api::Router& router) {
  router.Add("GET", "/v1/live", [this](api::Request& request) { return Accept(request); });
}

api::Response LiveHub::Accept(api::Request& /*request*/) {
  return api::Response::WebSocketUpgrade([this](const std::shared_ptr<api::WebSocket>& socket) {
    auto client = std::make_shared<Client>();
    client->socket = socket;
    {
      std::lock_guard lock(mu_);
      clients_.push_back(client);
    }
    std::weak_ptr<Client> weak = client;
    socket->OnClose([this, weak] {
      if (std::shared_ptr<Client> gone = weak.lock()) {
        Forget(gone);
      }
    });
    return [this, weak](const std::string& text) {
      if (std::shared_ptr<Client> self = weak.lock()) {
        OnMessage(self, text);
      }
    };
  });
}

void LiveHub::Forget(const std::shared_ptr<Client>& client) {
  std::map<std::string, std::shared_ptr<SubscriptionStream>> follows;
  {
    std::lock_guard lock(client->mu);
    follows.swap(client->follows);
    client->job_lists.clear();
  }
  for (auto& [sub, stream] : follows) {
    stream->Stop();
  }
  std::lock_guard lock(mu_);
  clients_.remove(client);
}

void LiveHub::OnMessage(const std::shared_ptr<Client>& client, const std::string& text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    client->socket->Send(
        ErrorMessage("", "invalid_argument",
                     "a message is a JSON object with a \"type\": auth, subscribe or "
                     "unsubscribe"));
    return;
  }
  const json::object& message = parsed.get_object();
  std::string type = StringField(message, "type");
  bool authenticated = false;
  {
    std::lock_guard lock(client->mu);
    authenticated = client->owner.has_value();
  }
  if (type == "auth") {
    Authenticate(*client, message);
  } else if (!authenticated) {
    client->socket->Send(
        ErrorMessage("", "unauthorized", "send {\"type\": \"auth\", \"key\": KEY} first"));
    client->socket->Close(kCloseUnauthorized, "not authenticated");
  } else if (type == "subscribe") {
    Subscribe(client, message);
  } else if (type == "unsubscribe") {
    Unsubscribe(*client, message);
  } else {
    client->socket->Send(ErrorMessage(
        StringField(message, "sub"), "invalid_argument",
        fmt::format("unknown message type \"{}\": use auth, subscribe or unsubscribe", type)));
  }
}

void LiveHub::Authenticate(Client& client, const json::object& message) {
  std::string key = StringField(message, "key");
  std::optional<std::string> owner = std::string();
  if (options_.check_key) {
    owner = key.empty() ? std::nullopt : options_.check_key(key);
  }
  if (!owner) {
    std::string why = key.empty() ? "this server needs an API key" : "the API key is not valid";
    client.socket->Send(ErrorMessage("", "unauthorized", why));
    client.socket->Close(kCloseUnauthorized, why);
    return;
  }
  {
    std::lock_guard lock(client.mu);
    client.owner = *owner;
  }
  client.socket->Send(
      Message({{"type", "ready"}, {"owner", *owner}, {"defaults", options_.defaults}}));
}

void LiveHub::Subscribe(const std::shared_ptr<Client>& client, const json::object& message) {
  std::string sub = StringField(message, "sub");
  std::string topic = StringField(message, "topic");
  if (sub.empty() || sub.size() > 64) {
    client->socket->Send(ErrorMessage("", "invalid_argument",
                                      "a subscription needs a \"sub\": its name, 1 to 64 "
                                      "characters, unique on this socket"));
    return;
  }
  {
    std::lock_guard lock(client->mu);
    if (client->job_lists.contains(sub) || client->follows.contains(sub)) {
      client->socket->Send(ErrorMessage(sub, "already_exists", "this sub is in use: pick another"));
      return;
    }
    if (client->job_lists.size() + client->follows.size() >= options_.max_subscriptions) {
      client->socket->Send(ErrorMessage(
          sub, "resource_exhausted",
          fmt::format("a socket has at most {} subscriptions: unsubscribe from some first",
                      options_.max_subscriptions)));
      return;
    }
  }
  if (topic == "jobs") {
    std::string owner;
    {
      std::lock_guard lock(client->mu);
      owner = *client->owner;
    }
    // The list's state now, so that any change after the page reads it is noticed.
    std::string fingerprint = Fingerprint(owner);
    {
      std::lock_guard lock(mu_);
      fingerprints_.try_emplace(owner, std::move(fingerprint));
    }
    {
      std::lock_guard lock(client->mu);
      client->job_lists.insert(sub);
    }
    client->socket->Send(Message({{"type", "jobs_changed"}, {"sub", sub}}));
    wake_.notify_all();
  } else if (topic == "job") {
    FollowJob(*client, sub, message);
  } else {
    client->socket->Send(ErrorMessage(
        sub, "invalid_argument",
        fmt::format("unknown topic \"{}\": \"jobs\" (the job list) or \"job\" (one job's events)",
                    topic)));
  }
}

void LiveHub::FollowJob(Client& client, const std::string& sub, const json::object& message) {
  std::string job_id = StringField(message, "job");
  int64_t after = 0;
  if (const json::value* value = message.if_contains("after"); value != nullptr) {
    if (!value->is_int64() || value->get_int64() < 0) {
      client.socket->Send(ErrorMessage(sub, "invalid_argument",
                                       "\"after\" is the seq of the last event seen: 0 or more"));
      return;
    }
    after = value->get_int64();
  }
  std::string owner;
  {
    std::lock_guard lock(client.mu);
    owner = *client.owner;
  }
  auto job = store_.Get(job_id, owner);
  if (!job.ok()) {
    std::string code(ErrorCodeName(job.error().code()));
    client.socket->Send(ErrorMessage(sub, code,
                                     job.error().code() == ErrorCode::kNotFound
                                         ? fmt::format("no job \"{}\"", job_id)
                                         : job.error().message()));
    return;
  }
  auto stream = std::make_shared<SubscriptionStream>(client.socket, sub);
  {
    std::lock_guard lock(client.mu);
    client.follows[sub] = stream;
  }
  api::EventFormat format{
      [sub](const jobs::Event& event) {
        return Message({{"type", "event"}, {"sub", sub}, {"event", jobs::ToJson(event)}});
      },
      [sub](const Error& error) {
        return ErrorMessage(sub, ErrorCodeName(error.code()), error.message());
      }};
  followers_.Follow(stream, job_id, after, std::move(format));
}

void LiveHub::Unsubscribe(Client& client, const json::object& message) {
  std::string sub = StringField(message, "sub");
  std::shared_ptr<SubscriptionStream> stream;
  {
    std::lock_guard lock(client.mu);
    client.job_lists.erase(sub);
    if (auto it = client.follows.find(sub); it != client.follows.end()) {
      stream = std::move(it->second);
      client.follows.erase(it);
    }
  }
  if (stream) {
    stream->Stop();
  }
}

}  // namespace warden::web
