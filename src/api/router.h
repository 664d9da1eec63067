// Routes requests to handlers by method and path pattern, answering 404 and 405 itself.
//
//   Router router;
//   router.Add("GET", "/v1/jobs/{id}", GetJob);
//   router.Add("GET", "/v1/jobs/{id}/files/{path...}", GetJobFile);
//   auto server = HttpServer::Start(options, [router](Request& r) { return router.Handle(r); });
#pragma once

#include <map>
#include <optional>
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
  // Adds a route whose handler never blocks (it answers from memory): HandleQuick() runs it.
  void AddQuick(std::string method, std::string_view pattern, Handler handler);
  // Adds a route that `quick` answers in HandleQuick() when it can do so without blocking, and
  // `handler` in Handle() otherwise (when `quick` returned std::nullopt).
  void Add(std::string method, std::string_view pattern, QuickHandler quick, Handler handler);

  // Runs the handler of the first route matching the method and path of `request` (a GET route
  // matches HEAD too: the server drops the body). Otherwise:
  // 404 when no route has this path, 405 with an Allow header when routes have it for other
  // methods, 400 when the path has a bad escape or a parameter has a "." or ".." segment (a
  // safety net for handlers that turn parameters into file paths).
  Response Handle(Request& request) const;
  // The same on an I/O thread (ServerOptions::quick): the answer of a route added with AddQuick(),
  // of the quick handler of one added with both, and the 400, 404 and 405 answers above;
  // std::nullopt for a request that Handle() must answer on the pool.
  std::optional<Response> HandleQuick(Request& request) const;

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
    QuickHandler quick;   // empty: the route may block
    std::string pattern;  // for Request::route: "/v1/jobs/{id}/files/{path...}"
  };
  enum class Match { kNo, kYes, kBadParam };

  // The pattern the route was added with, rebuilt: "/v1/jobs/{id}/files/{path...}".
  static std::string PatternOf(const std::vector<Segment>& segments);
  static Match MatchPath(const Route& route, std::string_view raw_path,
                         std::map<std::string, std::string>* params);
  // The route of `request`, its parameters and pattern set in it; nullptr with `refusal` set to
  // the 400, 404 or 405 answer when there is none.
  const Route* Find(Request& request, Response* refusal) const;

  std::vector<Route> routes_;
};

}  // namespace warden::api
