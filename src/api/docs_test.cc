#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/docs_api.h"
#include "api/exec_api.h"
#include "api/jobs_api.h"
#include "api/metrics_api.h"
#include "api/sessions_api.h"
#include "jobs/sqlite_store.h"
#include "sandbox/sandbox.h"
#include "sys/fs.h"

namespace warden::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch"};

// (METHOD, path) with paths as OpenAPI writes them: "/v1/jobs/{id}/files/{path}".
using Operation = std::pair<std::string, std::string>;

json::object Document() {
  boost::system::error_code ec;
  json::value document = json::parse(OpenApiDocument(), ec);
  EXPECT_FALSE(ec) << "openapi.json is not JSON: " << ec.message();
  return document.is_object() ? document.get_object() : json::object{};
}

std::string Upper(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

// The router's pattern in OpenAPI's spelling: a "{path...}" tail is just "{path}" there.
std::string OpenApiPath(std::string pattern) {
  for (size_t at; (at = pattern.find("...}")) != std::string::npos;) {
    pattern.erase(at, 3);
  }
  return pattern;
}

std::set<Operation> Documented(const json::object& document) {
  std::set<Operation> operations;
  for (const auto& [path, item] : document.at("paths").get_object()) {
    for (const char* method : kMethods) {
      if (item.get_object().contains(method)) {
        operations.insert({Upper(method), std::string(path)});
      }
    }
  }
  return operations;
}

// A concrete path for a documented one: every parameter becomes a value of its own.
std::string Concrete(const std::string& path) {
  static const std::regex param(R"(\{[^}]+\})");
  return std::regex_replace(path, param, "p1");
}

// Every API registered on one router, as `warden serve` does: a real store in a temporary
// directory, no workers, and a supervisor that is never asked to run anything.
class DocsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-docs-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    jobs::SqliteStoreOptions options;
    options.path = dir_->path() + "/warden.db";
    options.store.workspace_root = dir_->path() + "/workspaces";
    auto store = jobs::SqliteStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(*store);
    sandbox::SupervisorOptions supervisor_options;
    supervisor_options.unsandboxed = true;  // no host probing: requests here never reach a run
    supervisor_options.background_cleanup = false;
    auto supervisor = sandbox::Supervisor::Create(supervisor_options);
    ASSERT_TRUE(supervisor.ok()) << supervisor.error().ToString();
    supervisor_ = std::move(*supervisor);

    jobs_api_ = std::make_unique<JobsApi>(*store_, nullptr, JobsApiOptions{});
    jobs_api_->AddRoutes(router_);
    exec_api_ = std::make_unique<ExecApi>(*supervisor_, ExecApiOptions{});
    exec_api_->AddRoutes(router_);
    sessions_api_ = std::make_unique<SessionsApi>(*store_);
    sessions_api_->AddRoutes(router_);
    metrics_api_ = std::make_unique<MetricsApi>(*store_, nullptr);
    metrics_api_->AddRoutes(router_);
    AddDocsRoutes(router_);
    // /mcp is served by cli/mcp_http.cc (mcp/ sits beside api/ in the layering, so api/ cannot
    // link it): stand-ins let the checks below hold the document to the same rules.
    for (const char* method : {"POST", "DELETE"}) {
      router_.Add(method, "/mcp", [](Request&) { return Response::Text(200, "mcp"); });
    }
    // The dashboard is served by web/ (above api/): stand-ins for its routes too.
    for (const char* pattern : {"/", "/new", "/jobs/{id}", "/sessions", "/sessions/{id}", "/server",
                                "/assets/{name}", "/v1/live"}) {
      router_.Add("GET", pattern, [](Request&) { return Response::Text(200, "dashboard"); });
    }
  }

  // The pattern of the route `method` `path` reaches, "" when none; and the response.
  std::pair<std::string, Response> Route(const std::string& method, const std::string& path) {
    Request request;
    request.method = method;
    EXPECT_TRUE(ParseTarget(path, &request)) << path;
    Response response = router_.Handle(request);
    return {request.route, std::move(response)};
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::unique_ptr<jobs::SqliteStore> store_;
  std::unique_ptr<sandbox::Supervisor> supervisor_;
  std::unique_ptr<JobsApi> jobs_api_;
  std::unique_ptr<ExecApi> exec_api_;
  std::unique_ptr<SessionsApi> sessions_api_;
  std::unique_ptr<MetricsApi> metrics_api_;
  Router router_;
};

TEST(OpenApiTest, DocumentIsOpenApi3WithInfoPathsAndUniqueOperationIds) {
  json::object document = Document();
  ASSERT_TRUE(document.contains("openapi"));
  EXPECT_THAT(std::string(document.at("openapi").as_string()), StartsWith("3."));
  EXPECT_EQ(document.at("info").at("title").as_string(), "Warden");
  EXPECT_FALSE(document.at("info").at("version").as_string().empty());
  ASSERT_TRUE(document.at("paths").is_object());
  std::set<std::string> ids;
  for (const auto& [path, item] : document.at("paths").get_object()) {
    for (const char* method : kMethods) {
      const json::value* op = item.get_object().if_contains(method);
      if (op == nullptr) {
        continue;
      }
      SCOPED_TRACE(std::string(method) + " " + std::string(path));
      EXPECT_FALSE(op->at("summary").as_string().empty());
      EXPECT_TRUE(ids.insert(std::string(op->at("operationId").as_string())).second);
      bool success = false;
      for (const auto& [status, response] : op->at("responses").get_object()) {
        // 101: a WebSocket's handshake succeeded.
        success = success || status.starts_with('2') || status == "101";
      }
      EXPECT_TRUE(success) << "no 2xx (or 101) response";
    }
  }
}

// Follows a local JSON pointer ("#/components/schemas/Job"); nullptr when it names nothing.
const json::value* Pointer(const json::value& root, std::string_view ref) {
  if (!ref.starts_with("#/")) {
    return nullptr;
  }
  const json::value* at = &root;
  std::stringstream parts{std::string(ref.substr(2))};
  for (std::string part; std::getline(parts, part, '/');) {
    for (size_t i; (i = part.find("~1")) != std::string::npos;) {
      part.replace(i, 2, "/");
    }
    for (size_t i; (i = part.find("~0")) != std::string::npos;) {
      part.replace(i, 2, "~");
    }
    at = at->is_object() ? at->get_object().if_contains(part) : nullptr;
    if (at == nullptr) {
      return nullptr;
    }
  }
  return at;
}

void CollectRefs(const json::value& value, std::vector<std::string>* refs) {
  if (const json::object* object = value.if_object(); object != nullptr) {
    for (const auto& [key, item] : *object) {
      if (key == "$ref" && item.is_string()) {
        refs->emplace_back(item.get_string());
      } else {
        CollectRefs(item, refs);
      }
    }
  } else if (const json::array* array = value.if_array(); array != nullptr) {
    for (const json::value& item : *array) {
      CollectRefs(item, refs);
    }
  }
}

TEST(OpenApiTest, EveryRefResolvesAndEverySchemaIsUsed) {
  json::value document = Document();
  std::vector<std::string> refs;
  CollectRefs(document, &refs);
  ASSERT_GT(refs.size(), 20u);
  std::set<std::string> used;
  for (const std::string& ref : refs) {
    EXPECT_NE(Pointer(document, ref), nullptr) << ref << " names nothing";
    used.insert(ref);
  }
  for (const auto& [name, schema] : document.at("components").at("schemas").get_object()) {
    EXPECT_TRUE(used.contains("#/components/schemas/" + std::string(name)))
        << "schema " << std::string(name) << " is never referred to";
  }
}

TEST(OpenApiTest, EveryPathParameterIsDescribed) {
  json::value document = Document();
  static const std::regex param(R"(\{([^}]+)\})");
  for (const auto& [path, item] : document.at("paths").get_object()) {
    std::set<std::string> described;
    const json::value* parameters = item.get_object().if_contains("parameters");
    for (const json::value& p : parameters != nullptr ? parameters->get_array() : json::array()) {
      const json::value* resolved =
          p.get_object().contains("$ref") ? Pointer(document, p.at("$ref").as_string()) : &p;
      ASSERT_NE(resolved, nullptr);
      if (resolved->at("in").as_string() == "path") {
        described.insert(std::string(resolved->at("name").as_string()));
      }
    }
    std::string text(path);
    for (std::sregex_iterator it(text.begin(), text.end(), param), end; it != end; ++it) {
      EXPECT_TRUE(described.contains((*it)[1].str()))
          << std::string(path) << ": {" << (*it)[1].str() << "} is not described";
    }
  }
}

TEST_F(DocsTest, EveryDocumentedOperationReachesTheRouteOfThatPattern) {
  std::set<Operation> documented = Documented(Document());
  ASSERT_GE(documented.size(), 19u);
  for (const auto& [method, path] : documented) {
    auto [route, response] = Route(method, Concrete(path));
    EXPECT_EQ(OpenApiPath(route), path) << method << " " << path << " is not routed: HTTP "
                                        << response.status << " " << response.body;
  }
}

TEST_F(DocsTest, NoDocumentedPathTakesAMethodTheDocumentLeavesOut) {
  std::set<Operation> documented = Documented(Document());
  std::set<std::string> paths;
  for (const auto& [method, path] : documented) {
    paths.insert(path);
  }
  for (const std::string& path : paths) {
    for (const char* lower : kMethods) {
      std::string method = Upper(lower);
      // HEAD is answered wherever GET is (the headers alone), as HTTP expects.
      if (documented.contains({method, path}) ||
          (method == "HEAD" && documented.contains({"GET", path}))) {
        continue;
      }
      auto [route, response] = Route(method, Concrete(path));
      EXPECT_NE(OpenApiPath(route), path) << method << " " << path << " is routed, undocumented";
      EXPECT_EQ(response.status, 405) << method << " " << path;
    }
  }
}

// The routes each source file registers: Add("METHOD", "/pattern" and AddQuick(... calls,
// wherever they are.
std::set<Operation> RegisteredInSources() {
  static const std::regex add_call(R"re(\.Add(?:Quick)?\(\s*"([A-Z]+)"\s*,\s*"(/[^"]*)")re");
  std::set<Operation> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(WARDEN_SOURCE_DIR)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !name.ends_with(".cc") || name.ends_with("_test.cc")) {
      continue;
    }
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::sregex_iterator it(text.begin(), text.end(), add_call), end; it != end; ++it) {
      found.insert({(*it)[1].str(), (*it)[2].str()});
    }
  }
  return found;
}

TEST_F(DocsTest, EveryRouteTheServerRegistersIsDocumented) {
  std::set<Operation> registered = RegisteredInSources();
  // The scan itself works: it finds routes of every API, and they are real routes.
  EXPECT_TRUE(registered.contains({"POST", "/v1/jobs"}));
  EXPECT_TRUE(registered.contains({"POST", "/v1/exec"}));
  EXPECT_TRUE(registered.contains({"GET", "/metrics"}));
  EXPECT_TRUE(registered.contains({"GET", "/docs"}));
  std::set<Operation> documented = Documented(Document());
  for (const auto& [method, pattern] : registered) {
    auto [route, response] = Route(method, Concrete(OpenApiPath(pattern)));
    EXPECT_EQ(route, pattern) << method << " " << pattern << " is not registered on the router";
    EXPECT_TRUE(documented.contains({method, OpenApiPath(pattern)}))
        << method << " " << pattern << " is registered but not in openapi.json";
  }
}

TEST_F(DocsTest, OpenApiJsonIsServedAsEmbedded) {
  auto [route, response] = Route("GET", "/openapi.json");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(response.body, OpenApiDocument());
}

TEST_F(DocsTest, DocsPageShowsEveryOperationAndSchemaWithoutScriptsOrExternalResources) {
  auto [route, response] = Route("GET", "/docs");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.Get("Content-Type"), "text/html; charset=utf-8");
  const std::string& page = response.body;
  EXPECT_THAT(page, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(page, HasSubstr("</html>"));
  for (const auto& [method, path] : Documented(Document())) {
    EXPECT_THAT(page, HasSubstr(fmt::format(">{}</span> <code>{}</code></h3>", method, path)));
  }
  json::object document = Document();
  for (const auto& [name, schema] : document.at("components").at("schemas").get_object()) {
    EXPECT_THAT(page, HasSubstr("<section class=\"schema\" id=\"schema-" + std::string(name)));
  }
  // Parameters, bodies, responses and examples of one operation, and links between them.
  EXPECT_THAT(page, HasSubstr("<code>wait</code>"));
  EXPECT_THAT(page, HasSubstr("<a href=\"#schema-MessageInput\">MessageInput</a>"));
  EXPECT_THAT(page, HasSubstr("<b>409</b>"));
  EXPECT_THAT(page, HasSubstr("session_busy"));
  EXPECT_THAT(page, HasSubstr("&quot;print(6 * 7)&quot;"));  // an example, escaped
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, Not(HasSubstr("<link")));
  EXPECT_THAT(page, Not(HasSubstr("src=")));
  EXPECT_THAT(page, Not(HasSubstr("url(")));
}

TEST_F(DocsTest, TheRouterNamesTheMatchedPatternAndNothingWhenNoneMatched) {
  EXPECT_EQ(Route("GET", "/v1/jobs/j_x/files/a/b.txt").first, "/v1/jobs/{id}/files/{path...}");
  EXPECT_EQ(Route("GET", "/v1/jobs/j_x").first, "/v1/jobs/{id}");
  EXPECT_EQ(Route("GET", "/healthz").first, "/healthz");
  auto [none, not_found] = Route("GET", "/v1/nothing-here");
  EXPECT_EQ(none, "");
  EXPECT_EQ(not_found.status, 404);
  auto [wrong_method, not_allowed] = Route("PUT", "/v1/jobs/j_x");
  EXPECT_EQ(wrong_method, "");
  EXPECT_EQ(not_allowed.status, 405);
}

}  // namespace
}  // namespace warden::api
