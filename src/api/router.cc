#include "api/router.h"

#include <cstdlib>
#include <map>
#include <utility>

#include "base/log.h"

namespace warden::api {
namespace {

// "/v1/jobs/" → {"v1", "jobs", ""}. `path` starts with '/'.
std::vector<std::string_view> SplitSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      return segments;
    }
    path.remove_prefix(slash + 1);
  }
}

bool HasDotSegment(std::string_view value) {
  while (true) {
    size_t slash = value.find('/');
    std::string_view piece = value.substr(0, slash);
    if (piece == "." || piece == "..") {
      return true;
    }
    if (slash == std::string_view::npos) {
      return false;
    }
    value.remove_prefix(slash + 1);
  }
}

}  // namespace

void Router::Add(std::string method, std::string_view pattern, Handler handler) {
  Add(std::move(method), pattern, QuickHandler(), std::move(handler));
}

void Router::AddQuick(std::string method, std::string_view pattern, Handler handler) {
  QuickHandler quick = [handler](Request& request) -> std::optional<Response> {
    return handler(request);
  };
  Add(std::move(method), pattern, std::move(quick), std::move(handler));
}

void Router::Add(std::string method, std::string_view pattern, QuickHandler quick,
                 Handler handler) {
  auto fail = [pattern](std::string_view why) {
    LOG_ERROR("route pattern \"{}\": {}", pattern, why);
    std::abort();
  };
  if (pattern.empty() || pattern.front() != '/') {
    fail("does not start with '/'");
  }
  Route route{std::move(method), {}, std::move(handler), std::move(quick), ""};
  for (std::string_view piece : SplitSegments(pattern)) {
    if (!route.segments.empty() && route.segments.back().kind == Segment::Kind::kTail) {
      fail("a {name...} parameter must be the last segment");
    }
    if (!piece.starts_with('{')) {
      if (piece.find_first_of("{}") != std::string_view::npos) {
        fail("a parameter must be a whole segment");
      }
      route.segments.push_back({Segment::Kind::kLiteral, std::string(piece)});
      continue;
    }
    if (!piece.ends_with('}')) {
      fail("unterminated parameter");
    }
    std::string_view name = piece.substr(1, piece.size() - 2);
    Segment::Kind kind = Segment::Kind::kParam;
    if (name.ends_with("...")) {
      name.remove_suffix(3);
      kind = Segment::Kind::kTail;
    }
    if (name.empty() || name.find_first_of("{}/") != std::string_view::npos) {
      fail("bad parameter name");
    }
    route.segments.push_back({kind, std::string(name)});
  }
  route.pattern = PatternOf(route.segments);
  routes_.push_back(std::move(route));
}

std::string Router::PatternOf(const std::vector<Segment>& segments) {
  std::string pattern;
  for (const Segment& segment : segments) {
    pattern += segment.kind == Segment::Kind::kLiteral ? "/" : "/{";
    pattern += segment.text;
    pattern += segment.kind == Segment::Kind::kLiteral ? ""
               : segment.kind == Segment::Kind::kTail  ? "...}"
                                                       : "}";
  }
  return pattern;
}

Router::Match Router::MatchPath(const Route& route, std::string_view raw_path,
                                std::map<std::string, std::string>* out) {
  std::vector<std::string_view> pieces = SplitSegments(raw_path);
  std::map<std::string, std::string>& params = *out;
  params.clear();
  size_t i = 0;
  for (const Segment& segment : route.segments) {
    if (i == pieces.size()) {
      return Match::kNo;
    }
    // The tail is everything from this segment on, as sent, slashes included.
    std::string_view raw = segment.kind == Segment::Kind::kTail
                               ? raw_path.substr(pieces[i].data() - raw_path.data())
                               : pieces[i];
    std::optional<std::string> value = PercentDecode(raw, DecodeMode::kPath);
    if (!value) {
      return Match::kBadParam;
    }
    if (segment.kind == Segment::Kind::kLiteral) {
      if (*value != segment.text) {
        return Match::kNo;
      }
      ++i;
      continue;
    }
    if (value->empty()) {
      return Match::kNo;
    }
    if (HasDotSegment(*value)) {
      return Match::kBadParam;
    }
    params[segment.text] = std::move(*value);
    i = segment.kind == Segment::Kind::kTail ? pieces.size() : i + 1;
  }
  if (i != pieces.size()) {
    return Match::kNo;
  }
  return Match::kYes;
}

Response Router::Handle(Request& request) const {
  Response refusal;
  const Route* route = Find(request, &refusal);
  return route == nullptr ? refusal : route->handler(request);
}

std::optional<Response> Router::HandleQuick(Request& request) const {
  Response refusal;
  const Route* route = Find(request, &refusal);
  if (route == nullptr) {
    return refusal;
  }
  return route->quick ? route->quick(request) : std::nullopt;
}

const Router::Route* Router::Find(Request& request, Response* refusal) const {
  request.route.clear();
  std::string_view raw_path = request.raw_target.empty() ? request.path : request.raw_target;
  raw_path = raw_path.substr(0, raw_path.find('?'));
  if (raw_path.empty() || raw_path.front() != '/') {
    *refusal = Response::Error(400, "invalid_argument", "the request target is not a path");
    return nullptr;
  }
  std::string allowed;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    Match match = MatchPath(route, raw_path, &params);
    if (match == Match::kNo) {
      continue;
    }
    // HEAD is answered by the GET route; the server sends the headers alone.
    if (route.method != request.method && !(request.method == "HEAD" && route.method == "GET")) {
      if (!allowed.empty()) {
        allowed += ", ";
      }
      allowed += route.method == "GET" ? "GET, HEAD" : route.method;
      continue;
    }
    request.route = route.pattern;
    if (match == Match::kBadParam) {
      *refusal = Response::Error(400, "invalid_argument", "bad path parameter");
      return nullptr;
    }
    // Parameters set before routing (the caller's owner, by the key check) are kept, and win: a
    // path cannot choose whom the request acts as.
    for (auto& [name, value] : params) {
      request.params.try_emplace(name, std::move(value));
    }
    return &route;
  }
  if (allowed.empty()) {
    *refusal = Response::Error(404, "not_found", "no such resource: " + std::string(raw_path));
    return nullptr;
  }
  *refusal = Response::Error(405, "method_not_allowed",
                             request.method + " is not allowed here; allowed: " + allowed);
  refusal->headers.Set("Allow", std::move(allowed));
  return nullptr;
}

}  // namespace warden::api
