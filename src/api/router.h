// Routes requests to handlers by method and path pattern, answering 404 and 405 itself.
//
//   Router router;
//   router.Add("GET", "/v1/jobs/{id}", GetJob);
//   router.Add("GET", "/v1/jobs/{id}/files/{path...}", GetJobFile);
//   auto server = HttpServer::Start(options, [router](Request& r) { return router.Handle(r); });
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"

namespace warden::api {

// A table of routes. Add() everything first; after that Handle() is thread-safe (const).
class Router {
 public:
  // Adds a route. `pattern` starts with '/' and is made of segments: literals, "{name}" (one whole
  // segment, not empty) and, as the last segment only, "{name...}" (the rest of the path, slashes
  // included, not empty). Parameter values are percent-decoded into Request::params (never over a
  // parameter set before routing, such as the owner set by the key check). Routes are
  // tried in the order they were added, so add "/v1/jobs/stats" before "/v1/jobs/{id}".
  // A malformed pattern is a programming error: it is logged and aborts.
  void Add(std::string method, std::string_view pattern, Handler handler);

  // Runs the handler of the first route matching the method and path of `request` (a GET route
  // matches HEAD too: the server drops the body). Otherwise:
  // 404 when no route has this path, 405 with an Allow header when routes have it for other
  // methods, 400 when the path has a bad escape or a parameter has a "." or ".." segment (a
  // safety net for handlers that turn parameters into file paths).
  Response Handle(Request& request) const;

 private:
  struct Segment {
    enum class Kind { kLiteral, kParam, kTail };
    Kind kind;
    std::string text;  // the literal, or the parameter's name
  };
  struct Route {
    std::string method;
    std::vector<Segment> segments;
    Handler handler;
  };
  enum class Match { kNo, kYes, kBadParam };

  static Match MatchPath(const Route& route, std::string_view raw_path,
                         std::map<std::string, std::string>* params);

  std::vector<Route> routes_;
};

}  // namespace warden::api
