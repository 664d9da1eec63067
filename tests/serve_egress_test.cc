// The egress proxy through `warden serve`: a job's and a /v1/exec run's "network" allow-list, a
// denied connection recorded as a "network_denied" job event (and in the /v1/exec answer), the
// operator's [network] bound refusing more at submission. No test here reaches an outside host:
// each connects to a name off its list, which the proxy refuses before resolving it.
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;

constexpr const char* kFetch =
    "import urllib.request\n"
    "try:\n"
    "    urllib.request.urlopen('http://blocked.example/data.csv', timeout=10)\n"
    "except Exception as e:\n"
    "    print('refused:', e)\n";

class ServeEgressTest : public ServeTest {
 protected:
  void SetUp() override {
    WriteConfig("[network]\nallow = [\"pypi.org\", \"files.pythonhosted.org\"]\n");
    ASSERT_NO_FATAL_FAILURE(Start());
  }
};

TEST_F(ServeEgressTest, AJobsDeniedConnectionIsAnEventWordedAsPolicy) {
  json::object body = StepsJob({Python(kFetch)});
  body["options"] = json::object{{"network", json::object{{"allow", json::array{"pypi.org"}}}}};
  std::string id = Str(Submit(body), "id");
  EXPECT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");

  std::vector<json::object> denied;
  std::string stderr_text;
  for (const json::object& event : Events(id)) {
    if (Str(event, "type") == "network_denied") {
      denied.push_back(Obj(event, "data"));
    }
    if (Str(event, "type") == "output" && Str(Obj(event, "data"), "stream") == "stderr") {
      stderr_text += Str(Obj(event, "data"), "text");
    }
  }
  ASSERT_EQ(denied.size(), 1U);
  EXPECT_EQ(Str(denied[0], "host"), "blocked.example");
  EXPECT_EQ(Int(denied[0], "port"), 80);
  EXPECT_EQ(Str(denied[0], "reason"), "not_allowed");
  EXPECT_THAT(Str(denied[0], "message"), HasSubstr("blocked by the job's network policy"));
  EXPECT_THAT(stderr_text, HasSubstr("warden: blocked by the job's network policy"));
  EXPECT_THAT(client().Get("/v1/jobs/" + id + "/logs").body, HasSubstr("refused: HTTP Error 403"));

  // Beyond the operator's bound: a 400 naming the rule, and no job.
  json::object greedy = StepsJob({Shell("true")});
  greedy["options"] =
      json::object{{"network", json::object{{"allow", json::array{"evil.example"}}}}};
  HttpResponse refused = client().PostJson("/v1/jobs", greedy);
  EXPECT_EQ(refused.status, 400) << refused.Describe();
  EXPECT_THAT(refused.body, HasSubstr("evil.example"));
}

TEST_F(ServeEgressTest, ExecTakesTheSameAllowListAndAnswersWithItsDenials) {
  HttpResponse ran = client().PostJson(
      "/v1/exec", json::object{{"language", "python"},
                               {"code", kFetch},
                               {"network", json::object{{"allow", json::array{"pypi.org"}}}}});
  ASSERT_EQ(ran.status, 200) << ran.Describe();
  json::object result = ran.Json();
  EXPECT_THAT(Str(result, "stdout"), HasSubstr("refused: HTTP Error 403"));
  EXPECT_THAT(Str(result, "stderr"), HasSubstr("warden: blocked by the job's network policy"));
  json::array denied = Arr(result, "network_denied");
  ASSERT_EQ(denied.size(), 1U) << ran.body;
  EXPECT_EQ(Str(denied[0].get_object(), "host"), "blocked.example");

  HttpResponse greedy = client().PostJson(
      "/v1/exec", json::object{{"language", "python"},
                               {"code", "print(1)"},
                               {"network", json::object{{"allow", json::array{"*"}}}}});
  EXPECT_EQ(greedy.status, 400) << greedy.Describe();
  EXPECT_THAT(greedy.body, HasSubstr("\\\"*\\\""));
  // Without "network", no network at all, and no list of denials.
  HttpResponse plain =
      client().PostJson("/v1/exec", json::object{{"language", "python"}, {"code", "print(1)"}});
  ASSERT_EQ(plain.status, 200) << plain.Describe();
  EXPECT_FALSE(plain.Json().contains("network_denied"));
}

}  // namespace
}  // namespace warden::serve_test
