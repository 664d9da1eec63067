// `warden run` end to end: the real binary, real sandboxes over a real workspace, and FakeLlm
// scripted on each wire. Every test checks what a user would notice: the files left in the
// workspace, the events printed, the exit code, and what the model was told (the requests FakeLlm
// recorded). The text formats of models without native tool calls are in
// agent_run_formats_test.cc; the helpers both use are in agent_run_util.h.
#include <signal.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent_run_util.h"

namespace warden::agent_run {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHelloPy[] = "print('hello from warden')\n";

// write_file(hello.py) -> run_shell(python3 hello.py) -> finish, as native calls.
std::vector<FakeReply> HelloScript() {
  return {
      ToolCallReply("write_file",
                    R"({"path": "hello.py", "content": "print('hello from warden')\n"})"),
      ToolCallReply("run_shell", R"({"command": "/usr/bin/python3 hello.py"})"),
      ToolCallReply("finish", R"({"summary": "printed the greeting", "files": ["hello.py"]})"),
  };
}

class AgentRunWireTest : public AgentRunTest, public ::testing::WithParamInterface<Wire> {};

TEST_P(AgentRunWireTest, WritesAScriptRunsItAndKeepsTheFile) {
  FakeLlm fake(GetParam());
  fake.Script({TextReply("1. Write hello.py\n2. Run it")});
  fake.Script(HelloScript());

  Finished r = Run(fake, GetParam(), {}, "write hello.py that greets, and run it");

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(WorkspaceFile("hello.py"), kHelloPy);
  std::vector<json::object> plans = OfType(r, "plan");
  ASSERT_EQ(plans.size(), 1u) << r.Describe();
  EXPECT_EQ(json::serialize(plans[0].at("steps")), R"(["Write hello.py","Run it"])");
  std::vector<json::object> actions = OfType(r, "action");
  ASSERT_EQ(actions.size(), 2u) << r.Describe();  // finish is no action
  EXPECT_EQ(Str(actions[0], "tool"), "write_file");
  EXPECT_EQ(Str(actions[1], "tool"), "run_shell");
  EXPECT_EQ(StdoutOf(r, 2), "hello from warden\n") << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "status"), "succeeded");
  EXPECT_EQ(Str(final_event, "reason"), "finished");
  EXPECT_EQ(Str(final_event, "summary"), "printed the greeting");
  EXPECT_EQ(json::serialize(final_event["files"]),
            fmt::format(R"([{{"path":"hello.py","size":{}}}])", sizeof(kHelloPy) - 1));
  EXPECT_EQ(Int(final_event, "steps"), 3);
  // The plan, then one request per reply; the results went back as tool results (FakeLlm rejects
  // a request whose tool results do not answer the calls before them).
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 4u);
  EXPECT_TRUE(Says(bodies[3], {"hello from warden"}));
}

INSTANTIATE_TEST_SUITE_P(Wires, AgentRunWireTest,
                         ::testing::Values(Wire::kOpenAi, Wire::kOllama, Wire::kAnthropic),
                         [](const ::testing::TestParamInfo<Wire>& param) {
                           return WireName(param.param);
                         });

TEST_F(AgentRunTest, FailedStepGoesBackWithTheTaskAndIsCorrected) {
  FakeLlm fake(Wire::kOpenAi);
  const std::string task = "print the answer with python";
  fake.Script({
      TextReply("1. Print it"),
      ToolCallReply("run_shell", R"({"command": "python3 -c 'import nosuchmodule'"})"),
      ToolCallReply("run_shell", R"({"command": "python3 -c 'print(6 * 7)' > answer.txt"})"),
      ToolCallReply("finish", R"({"summary": "answer.txt holds it"})"),
  });

  Finished r = Run(fake, Wire::kOpenAi, {}, task);

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(WorkspaceFile("answer.txt"), "42\n");
  std::vector<json::object> observations = OfType(r, "observation");
  ASSERT_EQ(observations.size(), 2u) << r.Describe();
  EXPECT_EQ(observations[0].at("ok"), false);
  EXPECT_EQ(Int(observations[0], "exit_code"), 1);
  EXPECT_EQ(observations[1].at("ok"), true);
  EXPECT_EQ(Int(Final(r), "execution_errors"), 1);
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 4u);
  // Before the failure nothing speaks of it; after it, one result carries the error and the task.
  EXPECT_FALSE(Says(bodies[1], {"No module named"}));
  EXPECT_TRUE(Says(bodies[2], {"ModuleNotFoundError: No module named 'nosuchmodule'", "exit code 1",
                               "That action failed. The task is still: \"" + task}))
      << json::serialize(bodies[2]);
  EXPECT_FALSE(Says(bodies[3], {"That action failed", "exit code 0"}));
}

// --- Bounds ---------------------------------------------------------------------------------

TEST_F(AgentRunTest, MaxStepsStopsAModelThatNeverFinishes) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({ToolCallReply("run_shell", R"({"command": "echo one >> steps.txt"})"),
               ToolCallReply("run_shell", R"({"command": "echo two >> steps.txt"})"),
               ToolCallReply("run_shell", R"({"command": "echo three >> steps.txt"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan", "--max-steps", "2"}, "count forever");

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "status"), "failed");
  EXPECT_EQ(Str(final_event, "reason"), "max_steps");
  EXPECT_EQ(Int(final_event, "steps"), 2);
  EXPECT_EQ(WorkspaceFile("steps.txt"), "one\ntwo\n");
  EXPECT_EQ(fake.ChatBodies().size(), 2u);
  EXPECT_EQ(fake.pending_replies(), 1u);
}

TEST_F(AgentRunTest, TheSameFailureThreeTimesIsStuck) {
  FakeLlm fake(Wire::kOpenAi);
  FakeReply failing = ToolCallReply("run_shell", R"({"command": "ls /no/such/dir"})");
  fake.Script({failing, failing, failing, ToolCallReply("finish", R"({"summary": "never"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan"}, "list /no/such/dir");

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "reason"), "stuck");
  EXPECT_THAT(Str(final_event, "summary"), HasSubstr("failed the same way 3 times"));
  EXPECT_EQ(Int(final_event, "execution_errors"), 3);
  EXPECT_EQ(OfType(r, "observation").size(), 3u);
  EXPECT_EQ(fake.pending_replies(), 1u);  // no fourth request
}

TEST_F(AgentRunTest, TheSameSuccessThreeTimesInARowIsStuck) {
  FakeLlm fake(Wire::kOpenAi);
  FakeReply same = ToolCallReply("run_shell", R"({"command": "echo again"})");
  fake.Script({same, same, same, ToolCallReply("finish", R"({"summary": "never"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan"}, "say again");

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "reason"), "stuck");
  EXPECT_THAT(Str(final_event, "summary"), HasSubstr("gave the same result 3 times in a row"));
  EXPECT_EQ(Int(final_event, "execution_errors"), 0);
  EXPECT_EQ(fake.pending_replies(), 1u);  // no fourth request
}

TEST_F(AgentRunTest, MaxTimeStopsTheRunningActionAtTheDeadline) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({ToolCallReply("run_shell", R"({"command": "sleep 60"})"),
               ToolCallReply("finish", R"({"summary": "never"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan", "--max-time", "2s"}, "wait a minute");

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(Str(Final(r), "reason"), "wall_time");
  std::vector<json::object> observations = OfType(r, "observation");
  ASSERT_EQ(observations.size(), 1u) << r.Describe();
  EXPECT_EQ(Str(observations[0], "outcome"), "task_time");
  EXPECT_THAT(Str(observations[0], "summary"), HasSubstr("--max-time"));
  // Stopped at the task's deadline, not at the action's own limit (2 minutes) or its end.
  EXPECT_LT(Int(observations[0], "duration_ms"), 30'000);
}

TEST_F(AgentRunTest, TokenBudgetStopsTheRun) {
  FakeLlm fake(Wire::kOpenAi);
  FakeReply costly = ToolCallReply("run_shell", R"({"command": "echo spent > spent.txt"})");
  costly.input_tokens = 700;
  costly.output_tokens = 400;
  fake.Script({costly, ToolCallReply("finish", R"({"summary": "never"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan", "--token-budget", "1000"}, "spend tokens");

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "reason"), "token_budget");
  EXPECT_EQ(Int(final_event, "input_tokens"), 700);
  EXPECT_EQ(Int(final_event, "output_tokens"), 400);
  std::vector<json::object> usage = OfType(r, "usage");
  ASSERT_EQ(usage.size(), 1u) << r.Describe();
  EXPECT_EQ(Int(usage[0], "total_tokens"), 1100);
  EXPECT_EQ(WorkspaceFile("spent.txt"), "spent\n");  // the step under budget ran
  EXPECT_EQ(fake.pending_replies(), 1u);
}

TEST_F(AgentRunTest, ThreeUnusableRepliesInARowStopTheRunAfterQuotedRePrompts) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({TextReply("I am not sure what to do here."),
               TextReply(R"(<tool_call>{"name": "launch_rockets", "arguments": {}}</tool_call>)"),
               TextReply("Still thinking about it."),
               ToolCallReply("finish", R"({"summary": "never"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan"}, "do something");

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "reason"), "format_errors");
  EXPECT_EQ(Int(final_event, "format_errors"), 3);
  EXPECT_EQ(OfType(r, "error").size(), 3u);
  EXPECT_EQ(fake.pending_replies(), 1u);
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 3u);
  const std::string example =
      R"({"name": "run_shell", "arguments": {"command": "ls -la /workspace"}})";
  EXPECT_FALSE(Says(bodies[0], {"could not be used"}));
  EXPECT_TRUE(Says(bodies[1], {"Your last reply could not be used: it contained no tool call",
                               "<tool_call>", example}))
      << json::serialize(bodies[1]);
  EXPECT_TRUE(Says(bodies[2], {"Your last reply could not be used", "launch_rockets", example}))
      << json::serialize(bodies[2]);
}

// --- Approval and policy --------------------------------------------------------------------

TEST_F(AgentRunTest, ApprovalWithoutATerminalIsRefusedAndNothingRuns) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({ToolCallReply("run_shell", R"({"command": "echo ran > refused.txt"})"),
               ToolCallReply("finish", R"({"summary": "it was not allowed"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan", "--approve", "always"}, "write a file");

  // The model finished, but nothing it needed ran: not a success.
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(Str(Final(r), "status"), "failed");
  EXPECT_EQ(Str(Final(r), "reason"), "refused");
  EXPECT_THAT(Str(Final(r), "summary"),
              HasSubstr("nothing was done: 1 action was not run (the user did not approve"));
  EXPECT_FALSE(std::filesystem::exists(workspace() + "/refused.txt"));
  std::vector<json::object> approvals = OfType(r, "approval");
  ASSERT_EQ(approvals.size(), 1u) << r.Describe();
  EXPECT_EQ(Str(approvals[0], "decision"), "refused");
  EXPECT_THAT(Str(approvals[0], "reason"), HasSubstr("no terminal"));
  EXPECT_TRUE(OfType(r, "observation").empty());
  EXPECT_TRUE(OfType(r, "output").empty());
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_TRUE(Says(bodies[1], {"Not run: the user did not approve this action", "no terminal"}))
      << json::serialize(bodies[1]);
}

TEST_F(AgentRunTest, SomeActionsRefusedIsPartlyDoneAndSaysWhatWasNotRun) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({ToolCallReply("run_shell", R"({"command": "rm -rf /"})"),
               ToolCallReply("run_shell", R"({"command": "echo kept > kept.txt"})"),
               ToolCallReply("finish", R"({"summary": "kept the file"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan"}, "keep a file");

  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "status"), "succeeded");
  EXPECT_EQ(Str(final_event, "reason"), "finished_with_refusals");
  EXPECT_THAT(Str(final_event, "summary"),
              HasSubstr("kept the file\nNot done: 1 action was not run (refused by a built-in"));
  EXPECT_EQ(WorkspaceFile("kept.txt"), "kept\n");
}

TEST_F(AgentRunTest, BuiltInDenyRuleRefusesRmRfRootEvenWithApproveNever) {
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({ToolCallReply("run_shell", R"({"command": "touch ran.txt; rm -rf /"})"),
               ToolCallReply("finish", R"({"summary": "refused"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan"}, "clean up");

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(Str(Final(r), "reason"), "refused");
  EXPECT_FALSE(std::filesystem::exists(workspace() + "/ran.txt"));
  std::vector<json::object> approvals = OfType(r, "approval");
  ASSERT_EQ(approvals.size(), 1u) << r.Describe();
  EXPECT_EQ(Str(approvals[0], "decision"), "denied");
  EXPECT_THAT(Str(approvals[0], "reason"), HasSubstr("built-in rule"));
  EXPECT_TRUE(OfType(r, "observation").empty());
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_TRUE(Says(bodies[1], {"Not run: refused by a built-in rule"}))
      << json::serialize(bodies[1]);
}

// --- Errors ---------------------------------------------------------------------------------

TEST_F(AgentRunTest, NothingConfiguredSaysHowToConfigureAndExits2) {
  // No provider flags, no configuration, no keys, and no Ollama where OLLAMA_HOST points.
  Finished r = RunWarden({"run", "--workspace", workspace(), "--json", "count to three"},
                         {"HOME=" + home(), "OLLAMA_HOST=127.0.0.1:9"});

  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("no LLM is configured"));
  EXPECT_THAT(r.err, HasSubstr("export OPENAI_API_KEY="));
  EXPECT_THAT(r.err, HasSubstr("--base-url"));
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(std::filesystem::exists(workspace()));
}

TEST_F(AgentRunTest, AnthropicWithoutAKeyNamesTheVariableAndExits2) {
  Finished r = RunWarden(
      {"run", "--provider", "anthropic", "--workspace", workspace(), "--json", "count to three"},
      Env());

  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("ANTHROPIC_API_KEY"));
  EXPECT_EQ(r.out, "");
}

TEST_F(AgentRunTest, RejectedKeyEndsWithLlmErrorNamingTheVariableNotTheKey) {
  FakeLlm fake(Wire::kOpenAi);
  fake.RequireApiKey("the-right-key");
  const std::string secret = "sk-wrong-7f3a9c2e51";

  Finished r = Run(fake, Wire::kOpenAi, {}, "count to three", {"OPENAI_API_KEY=" + secret});

  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "status"), "failed");
  EXPECT_EQ(Str(final_event, "reason"), "llm_error");
  EXPECT_THAT(Str(final_event, "summary"), HasSubstr("OPENAI_API_KEY"));
  EXPECT_THAT(Str(final_event, "summary"), HasSubstr("401"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(secret)));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("7f3a9c2e51")));
  EXPECT_EQ(fake.Requests().size(), 1u);  // a 401 is not retried
}

TEST_F(AgentRunTest, EmptyTaskIsAUsageError) {
  FakeLlm fake(Wire::kOpenAi);
  for (const char* task : {"", "  \n "}) {
    Finished r = Run(fake, Wire::kOpenAi, {}, task);
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("the task is empty"));
  }
  EXPECT_TRUE(fake.Requests().empty());
  EXPECT_FALSE(std::filesystem::exists(workspace()));
}

// --- Interruption ---------------------------------------------------------------------------

TEST_F(AgentRunTest, CtrlCKillsTheRunningActionAndExits130) {
  FakeLlm fake(Wire::kOpenAi);
  // A background sleep with an unusual duration (other runs on this machine may sleep 30) and a
  // foreground Python that says when it is up; its argv carries a marker to find it by.
  const std::string marker = fmt::format("agent-run-ctrl-c-{}", ::getpid());
  fake.Script(
      {ToolCallReply("run_shell", json::serialize(json::object{
                                      {"command",
                                       "sleep 30.017 & /usr/bin/python3 -c 'import time; "
                                       "print(f\"ready-{6 * 7}\", flush=True); time.sleep(30)' " +
                                           marker}})),
       ToolCallReply("finish", R"({"summary": "never"})")});

  RunningWarden warden(RunArgs(fake, Wire::kOpenAi, {"--no-plan"}, "wait a while"), Env());
  ASSERT_TRUE(warden.WaitForStdout("ready-42", std::chrono::seconds(10)))
      << warden.Wait(std::chrono::seconds(1)).Describe();
  ASSERT_FALSE(hostile::ProcessesWithMarker(marker).empty());
  ASSERT_FALSE(ProcessesWithArgv({"sleep", "30.017"}).empty());  // the scans see them running
  auto signalled = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(warden.pid(), SIGINT), 0);
  Finished r = warden.Wait(std::chrono::seconds(10));
  auto took = std::chrono::steady_clock::now() - signalled;

  EXPECT_EQ(r.exit_code, 130) << r.Describe();
  EXPECT_LT(took, std::chrono::seconds(20));  // not the sleep's 30 s: it was killed
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "status"), "cancelled");
  EXPECT_EQ(Str(final_event, "reason"), "cancelled");
  EXPECT_THAT(hostile::ProcessesWithMarker(marker), ::testing::IsEmpty());
  EXPECT_THAT(ProcessesWithArgv({"sleep", "30.017"}), ::testing::IsEmpty());
  EXPECT_EQ(fake.pending_replies(), 1u);  // no request after the interruption
}

TEST_F(AgentRunTest, CtrlCDuringAModelRequestExits130AtOnce) {
  FakeLlm fake(Wire::kOpenAi);
  FakeReply slow = TextReply("1. Think");
  slow.stall = std::chrono::seconds(30);
  fake.Script({slow});

  RunningWarden warden(RunArgs(fake, Wire::kOpenAi, {}, "plan slowly"), Env());
  ASSERT_TRUE(fake.WaitForRequests(1, std::chrono::seconds(10)));
  auto signalled = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(warden.pid(), SIGINT), 0);
  Finished r = warden.Wait(std::chrono::seconds(10));

  EXPECT_EQ(r.exit_code, 130) << r.Describe();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(3));
  json::object final_event = Final(r);
  EXPECT_EQ(Str(final_event, "status"), "cancelled");
  EXPECT_TRUE(OfType(r, "plan").empty());
}

// --- Human output ---------------------------------------------------------------------------

TEST_F(AgentRunTest, HumanOutputShowsPlanStepsLiveOutputAndSummary) {
  FakeLlm fake(Wire::kOpenAi);
  FakeReply plan = TextReply("1. Write hello.py\n2. Run it");
  plan.stall = std::chrono::milliseconds(600);  // long enough for a spinner, were there one
  fake.Script({plan});
  fake.Script(HelloScript());
  std::vector<std::string> args = RunArgs(fake, Wire::kOpenAi, {}, "greet");
  args.erase(std::find(args.begin(), args.end(), "--json"));

  Finished r = RunWarden(args, Env());

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("Task: greet\n"));
  EXPECT_THAT(r.out, HasSubstr("Plan:\n  1. Write hello.py\n  2. Run it\n"));
  EXPECT_THAT(r.out, HasSubstr("▶ step 1 write_file\n    hello.py (27)\n"));
  EXPECT_THAT(r.out, HasSubstr("▶ step 2 run_shell\n    /usr/bin/python3 hello.py\n"));
  EXPECT_THAT(r.out, HasSubstr("  │ hello from warden\n"));
  EXPECT_THAT(r.out, HasSubstr("\nDone: printed the greeting\n"));
  EXPECT_THAT(r.out, HasSubstr("Files in " + workspace() + ":\n  hello.py "));
  EXPECT_THAT(r.out, HasSubstr("3 steps"));
  EXPECT_THAT(r.out, Not(HasSubstr("\"seq\"")));   // no JSON
  EXPECT_THAT(r.out, Not(HasSubstr("\033[")));     // no colour without a terminal
  EXPECT_THAT(r.err, Not(HasSubstr("thinking")));  // nor a spinner
}

}  // namespace
}  // namespace warden::agent_run
