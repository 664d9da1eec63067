// The Beast-free half of http.h: headers, response builders, URL decoding.
#include "api/http.h"

#include <strings.h>

#include <cstdlib>

#include <fmt/format.h>

#include "base/hex.h"
#include "base/json_text.h"

namespace warden::api {
namespace {

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

const std::string* Headers::Find(std::string_view name) const {
  for (const Field& field : fields_) {
    if (SameName(field.first, name)) {
      return &field.second;
    }
  }
  return nullptr;
}

std::string_view Headers::Get(std::string_view name) const {
  const std::string* value = Find(name);
  if (value == nullptr) {
    return {};
  }
  return *value;
}

void Headers::Set(std::string_view name, std::string value) {
  Remove(name);
  fields_.emplace_back(std::string(name), std::move(value));
}

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [name](const Field& field) { return SameName(field.first, name); });
}

Response Response::Json(int status, const json::value& value) {
  Response response;
  response.status = status;
  response.headers.Set("Content-Type", "application/json");
  response.body = SerializeJson(value);  // valid UTF-8 whatever bytes the value holds
  return response;
}

Response Response::Text(int status, std::string text) {
  Response response;
  response.status = status;
  response.headers.Set("Content-Type", "text/plain; charset=utf-8");
  response.body = std::move(text);
  return response;
}

Response Response::Error(int status, std::string_view code, std::string_view message) {
  json::object error;
  error["code"] = code;
  error["message"] = message;
  json::object body;
  body["error"] = std::move(error);
  return Json(status, body);
}

Response Response::FromError(const warden::Error& error) {
  Response response =
      Error(HttpStatusFor(error.code()), ErrorCodeName(error.code()), error.message());
  if (error.code() == ErrorCode::kUnavailable) {
    // The job store (or another dependency) is away for now: clients may try again shortly.
    response.headers.Set("Retry-After", "2");
  }
  return response;
}

Response Response::Pull(std::string content_type, BodyPuller pull) {
  Response response;
  response.headers.Set("Content-Type", std::move(content_type));
  response.pull = std::move(pull);
  return response;
}

Response Response::EventStream(StreamStarter push) {
  Response response;
  response.headers.Set("Content-Type", "text/event-stream");
  response.headers.Set("Cache-Control", "no-cache");
  // nginx and similar proxies buffer responses unless told otherwise; events must arrive now.
  response.headers.Set("X-Accel-Buffering", "no");
  response.push = std::move(push);
  return response;
}

Response Response::Deferred(DeferredStarter start) {
  Response response;
  response.defer = std::move(start);
  return response;
}

// The one table from error codes to HTTP statuses (STYLE.md: api/ maps them in one place).
int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kCancelled:
      return 499;  // nginx's "client closed request", as gRPC gateways map it
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:
      return 400;
    case ErrorCode::kDeadlineExceeded:
      return 504;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kAborted:
      return 409;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kFailedPrecondition:
      return 412;
    case ErrorCode::kUnimplemented:
      return 501;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kUnknown:
    case ErrorCode::kInternal:
    case ErrorCode::kDataLoss:
      return 500;
  }
  return 500;
}

std::optional<std::string> PercentDecode(std::string_view text, DecodeMode mode) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      int high = HexDigitValue(text[i + 1]);
      int low = HexDigitValue(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && mode == DecodeMode::kQuery) {
      c = ' ';
    }
    // A NUL would cut the string short wherever it meets a C API (paths, SQLite text).
    if (c == '\0') {
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

bool ParseTarget(std::string_view target, Request* request) {
  if (target.empty() || target.front() != '/') {
    return false;
  }
  request->raw_target = std::string(target);
  std::string_view path = target;
  std::string_view query;
  if (size_t mark = target.find('?'); mark != std::string_view::npos) {
    path = target.substr(0, mark);
    query = target.substr(mark + 1);
  }
  if (size_t hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);  // a fragment is never sent by a browser, but curl passes it
  }
  std::optional<std::string> decoded_path = PercentDecode(path, DecodeMode::kPath);
  if (!decoded_path) {
    return false;
  }
  request->path = std::move(*decoded_path);
  request->query.clear();
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    std::optional<std::string> key = PercentDecode(pair.substr(0, eq), DecodeMode::kQuery);
    std::optional<std::string> value =
        PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), DecodeMode::kQuery);
    if (!key || !value) {
      return false;
    }
    request->query.emplace(std::move(*key), std::move(*value));  // keeps the first value
  }
  return true;
}

Result<int64_t> QueryInt(const Request& request, const std::string& name, int64_t fallback,
                         int64_t low, int64_t high) {
  auto it = request.query.find(name);
  if (it == request.query.end() || it->second.empty()) {
    return fallback;
  }
  char* end = nullptr;
  int64_t value = std::strtoll(it->second.c_str(), &end, 10);
  if (*end != '\0' || value < low || value > high) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("{} must be a number from {} to {}", name, low, high));
  }
  return static_cast<int64_t>(value);
}

}  // namespace warden::api
