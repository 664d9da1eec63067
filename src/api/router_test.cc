#include "api/router.h"

#include <gtest/gtest.h>

namespace warden::api {
namespace {

Request MakeRequest(std::string method, std::string_view target) {
  Request request;
  request.method = std::move(method);
  EXPECT_TRUE(ParseTarget(target, &request)) << target;
  return request;
}

// A handler that answers with the name of its route and the parameters it got.
Handler Named(std::string name) {
  return [name](Request& request) {
    json::object params;
    for (const auto& [key, value] : request.params) {
      params[key] = value;
    }
    return Response::Json(200, json::object{{"route", name}, {"params", params}});
  };
}

json::value Body(const Response& response) {
  return json::parse(response.body);
}

Router JobsRouter() {
  Router router;
  router.Add("GET", "/v1/jobs", Named("list"));
  router.Add("POST", "/v1/jobs", Named("create"));
  router.Add("GET", "/v1/jobs/stats", Named("stats"));
  router.Add("GET", "/v1/jobs/{id}", Named("get"));
  router.Add("DELETE", "/v1/jobs/{id}", Named("delete"));
  router.Add("GET", "/v1/jobs/{id}/files/{path...}", Named("file"));
  return router;
}

TEST(RouterTest, MatchesLiteralRoutesByMethod) {
  Router router = JobsRouter();
  Request list = MakeRequest("GET", "/v1/jobs?limit=3");
  Request create = MakeRequest("POST", "/v1/jobs");
  EXPECT_EQ(Body(router.Handle(list)).at("route").as_string(), "list");
  EXPECT_EQ(Body(router.Handle(create)).at("route").as_string(), "create");
}

TEST(RouterTest, FillsParametersFromTheirSegments) {
  Router router = JobsRouter();
  Request request = MakeRequest("DELETE", "/v1/jobs/j-42");
  Response response = router.Handle(request);
  EXPECT_EQ(Body(response).at("route").as_string(), "delete");
  EXPECT_EQ(request.params.at("id"), "j-42");
}

TEST(RouterTest, RoutesAddedFirstWin) {
  Router router = JobsRouter();
  Request request = MakeRequest("GET", "/v1/jobs/stats");
  EXPECT_EQ(Body(router.Handle(request)).at("route").as_string(), "stats");
}

TEST(RouterTest, TailParameterTakesTheRestOfThePathWithSlashes) {
  Router router = JobsRouter();
  Request request = MakeRequest("GET", "/v1/jobs/7/files/out/report%20final.txt");
  Response response = router.Handle(request);
  EXPECT_EQ(Body(response).at("route").as_string(), "file");
  EXPECT_EQ(request.params.at("id"), "7");
  EXPECT_EQ(request.params.at("path"), "out/report final.txt");
}

TEST(RouterTest, EncodedSlashStaysInsideOneParameter) {
  Router router = JobsRouter();
  Request request = MakeRequest("GET", "/v1/jobs/a%2Fb");
  Response response = router.Handle(request);
  EXPECT_EQ(Body(response).at("route").as_string(), "get");
  EXPECT_EQ(request.params.at("id"), "a/b");
}

TEST(RouterTest, EmptyParameterDoesNotMatch) {
  Router router = JobsRouter();
  Request empty_id = MakeRequest("GET", "/v1/jobs/");
  Request empty_tail = MakeRequest("GET", "/v1/jobs/7/files/");
  EXPECT_EQ(router.Handle(empty_id).status, 404);
  EXPECT_EQ(router.Handle(empty_tail).status, 404);
}

TEST(RouterTest, UnknownPathIs404JsonError) {
  Router router = JobsRouter();
  Request request = MakeRequest("GET", "/v1/nothing");
  Response response = router.Handle(request);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.Get("content-type"), "application/json");
  EXPECT_EQ(Body(response).at("error").at("code").as_string(), "not_found");
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  Router router = JobsRouter();
  Request request = MakeRequest("PUT", "/v1/jobs/9");
  Response response = router.Handle(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.Get("Allow"), "GET, HEAD, DELETE");
  EXPECT_EQ(Body(response).at("error").at("code").as_string(), "method_not_allowed");
}

TEST(RouterTest, DotSegmentsInParametersAreRejected) {
  Router router = JobsRouter();
  Request dotdot = MakeRequest("GET", "/v1/jobs/7/files/a/../../etc/passwd");
  Request encoded = MakeRequest("GET", "/v1/jobs/7/files/a%2F..%2Fb");
  Request dot_id = MakeRequest("GET", "/v1/jobs/..");
  EXPECT_EQ(router.Handle(dotdot).status, 400);
  EXPECT_EQ(router.Handle(encoded).status, 400);
  EXPECT_EQ(router.Handle(dot_id).status, 400);
}

TEST(RouterTest, MalformedPatternAborts) {
  Router router;
  EXPECT_DEATH(router.Add("GET", "/v1/{path...}/more", Named("x")), "last segment");
  EXPECT_DEATH(router.Add("GET", "/v1/x{id}", Named("x")), "whole segment");
  EXPECT_DEATH(router.Add("GET", "v1", Named("x")), "start with");
}

TEST(RouterTest, HandleQuickAnswersQuickRoutesAndLeavesTheOthersToHandle) {
  Router router;
  int blocking_calls = 0;
  router.AddQuick("GET", "/health", Named("health"));
  router.Add("POST", "/v1/jobs", [&blocking_calls](Request&) {
    ++blocking_calls;
    return Response::Text(201, "created");
  });
  // Answers quickly only the job "ready"; any other is left to the handler.
  router.Add(
      "GET", "/v1/jobs/{id}",
      [](Request& request) -> std::optional<Response> {
        if (request.params.at("id") != "ready") {
          return std::nullopt;
        }
        return Response::Text(200, "quick");
      },
      Named("get"));

  Request health = MakeRequest("GET", "/health");
  Request create = MakeRequest("POST", "/v1/jobs");
  Request ready = MakeRequest("GET", "/v1/jobs/ready");
  Request other = MakeRequest("GET", "/v1/jobs/other");
  std::optional<Response> health_answer = router.HandleQuick(health);
  ASSERT_TRUE(health_answer);
  EXPECT_EQ(Body(*health_answer).at("route").as_string(), "health");
  EXPECT_EQ(health.route, "/health");
  EXPECT_FALSE(router.HandleQuick(create));
  EXPECT_EQ(blocking_calls, 0);
  std::optional<Response> ready_answer = router.HandleQuick(ready);
  ASSERT_TRUE(ready_answer);
  EXPECT_EQ(ready_answer->body, "quick");
  EXPECT_FALSE(router.HandleQuick(other));
  // The same request, left to the pool, is routed again there.
  EXPECT_EQ(Body(router.Handle(other)).at("route").as_string(), "get");
  EXPECT_EQ(other.route, "/v1/jobs/{id}");
  EXPECT_EQ(router.Handle(create).status, 201);
  EXPECT_EQ(blocking_calls, 1);
}

TEST(RouterTest, HandleQuickAnswers404And405Itself) {
  Router router = JobsRouter();
  Request missing = MakeRequest("GET", "/v1/nothing");
  Request wrong = MakeRequest("PUT", "/v1/jobs");
  std::optional<Response> not_found = router.HandleQuick(missing);
  std::optional<Response> not_allowed = router.HandleQuick(wrong);
  ASSERT_TRUE(not_found && not_allowed);
  EXPECT_EQ(not_found->status, 404);
  EXPECT_EQ(not_allowed->status, 405);
  EXPECT_EQ(not_allowed->headers.Get("Allow"), "GET, HEAD, POST");
}

TEST(ParseTargetTest, SplitsAndDecodesPathAndQuery) {
  Request request;
  ASSERT_TRUE(ParseTarget("/a%20b/c?x=1&name=J%C3%B6rg+M&flag&x=2&=v", &request));
  EXPECT_EQ(request.path, "/a b/c");
  EXPECT_EQ(request.raw_target, "/a%20b/c?x=1&name=J%C3%B6rg+M&flag&x=2&=v");
  EXPECT_EQ(request.query.at("x"), "1");  // the first of a repeated key
  EXPECT_EQ(request.query.at("name"), "J\xC3\xB6rg M");
  EXPECT_EQ(request.query.at("flag"), "");
  EXPECT_EQ(request.query.at(""), "v");
}

TEST(ParseTargetTest, PlusIsLiteralInThePath) {
  Request request;
  ASSERT_TRUE(ParseTarget("/a+b", &request));
  EXPECT_EQ(request.path, "/a+b");
}

TEST(ParseTargetTest, RejectsBadEscapesNulAndNonPaths) {
  Request request;
  EXPECT_FALSE(ParseTarget("/a%2", &request));
  EXPECT_FALSE(ParseTarget("/a%zz", &request));
  EXPECT_FALSE(ParseTarget("/a?x=%G1", &request));
  EXPECT_FALSE(ParseTarget("/a%00b", &request));
  EXPECT_FALSE(ParseTarget("http://host/a", &request));
  EXPECT_FALSE(ParseTarget("*", &request));
}

TEST(HttpStatusTest, MapsErrorCodes) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
  Response response = Response::FromError(Error(ErrorCode::kNotFound, "no job 7"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(Body(response).at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(Body(response).at("error").at("message").as_string(), "no job 7");
}

TEST(HttpStatusTest, AnUnavailableStoreIs503WithRetryAfter) {
  Response response = Response::FromError(Error(ErrorCode::kUnavailable, "PostgreSQL is down"));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.headers.Get("Retry-After"), "2");
  EXPECT_EQ(Response::FromError(Error(ErrorCode::kNotFound, "no")).headers.Get("Retry-After"), "");
}

TEST(HeadersTest, LookupIgnoresCaseAndSetReplaces) {
  Headers headers;
  headers.Add("Content-Type", "text/plain");
  headers.Add("X-Tag", "a");
  headers.Add("x-tag", "b");
  EXPECT_EQ(headers.Get("content-type"), "text/plain");
  EXPECT_EQ(headers.Get("X-TAG"), "a");
  headers.Set("X-Tag", "c");
  EXPECT_EQ(headers.size(), 2U);
  EXPECT_EQ(headers.Get("x-tag"), "c");
  EXPECT_FALSE(headers.Has("missing"));
  EXPECT_EQ(headers.Get("missing"), "");
}

}  // namespace
}  // namespace warden::api
