// What the server tells its operator: `warden serve` says at start which LLM task jobs will use,
// or that there is none; /readyz shows it; without one, a task (a job, a session's message, a
// retry) is refused with 503 saying how to configure the server, while steps jobs run; a job
// naming an unknown provider is a 400 before anything is stored. Its log has a line per job state
// change and per request, as JSON lines with --log-format json.
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "fake_llm.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;

// Nothing to find: no provider configured, no key in the environment, and OLLAMA_HOST pointing
// at a port where nothing listens (loopback port 1).
const std::vector<std::string> kNoLlmEnv = {"OLLAMA_HOST=http://127.0.0.1:1"};

class ServeLlmTest : public ServeTest {
 protected:
  size_t JobCount() { return Arr(client().Get("/v1/jobs").Json(), "jobs").size(); }
};

TEST_F(ServeLlmTest, WithoutAnLlmTasksGet503SayingHowToConfigureOneAndStepsStillRun) {
  ASSERT_NO_FATAL_FAILURE(Start({}, kNoLlmEnv));
  EXPECT_THAT(server().Describe(), HasSubstr("no LLM: steps jobs run, task jobs are refused"));

  HttpResponse task =
      client().PostJson("/v1/jobs", json::object{{"task", "count the files in /usr"}});
  EXPECT_EQ(task.status, 503) << task.Describe();
  EXPECT_EQ(task.ErrorCode(), "llm_unavailable");
  EXPECT_THAT(task.body, HasSubstr("export OPENAI_API_KEY"));
  EXPECT_THAT(task.body, HasSubstr("[llm]"));

  HttpResponse session = client().Post("/v1/sessions", "");
  ASSERT_EQ(session.status, 201) << session.Describe();
  HttpResponse message =
      client().PostJson("/v1/sessions/" + Str(session.Json(), "id") + "/messages",
                        json::object{{"message", "hello"}});
  EXPECT_EQ(message.status, 503) << message.Describe();
  EXPECT_EQ(message.ErrorCode(), "llm_unavailable");
  EXPECT_EQ(JobCount(), 0U);  // nothing was stored

  // Steps need no model.
  std::string steps = Str(Submit(StepsJob({Shell("echo fine")})), "id");
  EXPECT_EQ(Str(WaitForState(steps, "succeeded"), "state"), "succeeded");

  HttpResponse ready = client().Get("/readyz");
  ASSERT_EQ(ready.status, 200) << ready.Describe();
  EXPECT_THAT(Str(Obj(ready.Json(), "llm"), "problem"), HasSubstr("no LLM is configured"));
}

TEST_F(ServeLlmTest, TheLlmIsLoggedAndShownAndAnUnknownProviderIsABadRequest) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  WriteConfig(fmt::format(
      "[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n",
      fake.BaseUrl()));
  ASSERT_NO_FATAL_FAILURE(Start({}, kNoLlmEnv));
  EXPECT_THAT(
      server().Describe(),
      HasSubstr(fmt::format("LLM: openai-compatible model fake-model at {}", fake.BaseUrl())));

  HttpResponse ready = client().Get("/readyz");
  ASSERT_EQ(ready.status, 200) << ready.Describe();
  json::object llm = Obj(ready.Json(), "llm");
  EXPECT_EQ(Str(llm, "provider"), "openai-compatible");
  EXPECT_EQ(Str(llm, "model"), "fake-model");
  EXPECT_EQ(Str(llm, "base_url"), fake.BaseUrl());

  HttpResponse unknown = client().PostJson(
      "/v1/jobs", json::value{{"task", "hi"}, {"options", json::object{{"provider", "nope"}}}});
  EXPECT_EQ(unknown.status, 400) << unknown.Describe();
  EXPECT_EQ(unknown.ErrorCode(), "invalid_job");
  EXPECT_THAT(unknown.body, HasSubstr("unknown provider 'nope'"));
  // A provider the server has no key for cannot run here either: said at submission.
  HttpResponse keyless = client().PostJson(
      "/v1/jobs",
      json::value{{"task", "hi"}, {"options", json::object{{"provider", "anthropic"}}}});
  EXPECT_EQ(keyless.status, 503) << keyless.Describe();
  EXPECT_THAT(keyless.body, HasSubstr("ANTHROPIC_API_KEY"));
  EXPECT_EQ(JobCount(), 0U);
}

TEST_F(ServeLlmTest, WithLogFormatJsonEveryLineIsAnObjectAndJobsLogTheirStates) {
  ASSERT_NO_FATAL_FAILURE(Start({"--log-format", "json"}, kNoLlmEnv));
  std::string id = Str(Submit(StepsJob({Shell("true")})), "id");
  EXPECT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");
  ASSERT_EQ(server().Stop(), 0);

  std::istringstream lines(ReadFile(dir() / "serve.log"));
  std::vector<std::string> states;
  std::vector<json::object> requests;
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    const json::object& object = value.as_object();
    ASSERT_TRUE(object.contains("time") && object.contains("level") && object.contains("msg"))
        << line;
    ++parsed;
    if (Str(object, "msg") == "request") {
      requests.push_back(object);
    }
    if (Str(object, "job") == id) {
      states.push_back(Str(object, "state"));
      if (Str(object, "state") == "succeeded") {
        EXPECT_EQ(Str(object, "reason"), "finished") << line;
        EXPECT_TRUE(object.at("seconds").is_double()) << line;
      }
    }
  }
  EXPECT_GE(parsed, 4);  // keys, store, workspaces, LLM, at least
  EXPECT_EQ(states, (std::vector<std::string>{"running", "succeeded"}));
  // One line per request, the submission among them.
  bool submission = false;
  for (const json::object& request : requests) {
    if (Str(request, "method") == "POST" && Str(request, "path") == "/v1/jobs") {
      submission = true;
      EXPECT_EQ(Str(request, "route"), "/v1/jobs");
      EXPECT_EQ(Int(request, "status"), 201);
      EXPECT_EQ(Str(request, "key"), "-");  // a server without keys
      EXPECT_TRUE(request.at("ms").is_double()) << json::serialize(request);
    }
  }
  EXPECT_TRUE(submission) << requests.size() << " request lines";
  EXPECT_GE(requests.size(), 2U);  // the submission and the polls of the job

  Exit bad = RunWarden(
      {"serve", "--log-format", "xml", "--listen", "127.0.0.1:0", "--data-dir", data_dir()},
      {"HOME=" + (dir() / "home")});
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("--log-format"));
}

}  // namespace
}  // namespace warden::serve_test
