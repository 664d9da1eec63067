// `warden serve` end to end: the real binary on a loopback port with a fresh data directory,
// driven through its REST and SSE API as a client would, with real sandboxes running the jobs and
// the fake LLM answering task jobs. Each test starts (and stops) its own server.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "fake_llm.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBinary = {'a', '\0', 'b', '\xff', 'c'};

std::string AllBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  return bytes;
}

TEST_F(ServeTest, StepJobRunsAndServesItsEventsLogsFilesAndArchives) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  json::object submitted = Submit(StepsJob({
      WriteFileStep("data/hello.txt", "Hello, serve!\n"),
      Shell("cat data/hello.txt; echo shell-done; printf 'a\\000b\\377c' > bin.dat"),
      Python("print('python-line-1')\nopen('py.bin', 'wb').write(bytes(range(256)))\n"
             "print('python-last')\n"),
  }));
  std::string id = Str(submitted, "id");
  ASSERT_TRUE(id.starts_with("j_")) << json::serialize(submitted);
  EXPECT_EQ(Str(submitted, "state"), "queued");
  EXPECT_EQ(Str(submitted, "kind"), "steps");

  json::object job = WaitForState(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job);
  EXPECT_EQ(Str(job, "reason"), "finished");

  std::vector<json::object> events = Events(id);
  EXPECT_THAT(States(events), ElementsAre("queued", "running", "succeeded"));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(Int(events[i], "seq"), static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(StdoutOf(events, 2), "Hello, serve!\nshell-done\n");
  EXPECT_EQ(StdoutOf(events, 3), "python-line-1\npython-last\n");

  HttpResponse logs = http.Get("/v1/jobs/" + id + "/logs");
  EXPECT_EQ(logs.status, 200);
  EXPECT_EQ(logs.body, "Hello, serve!\nshell-done\npython-line-1\npython-last\n");
  EXPECT_EQ(http.Get("/v1/jobs/" + id + "/logs?tail=1").body, "python-last\n");

  const std::map<std::string, std::string> expected = {
      {"bin.dat", kBinary}, {"data/hello.txt", "Hello, serve!\n"}, {"py.bin", AllBytes()}};
  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  ASSERT_EQ(files.status, 200) << files.Describe();
  json::array manifest = Arr(files.Json(), "files");
  ASSERT_EQ(manifest.size(), expected.size()) << files.body;
  auto want = expected.begin();
  for (const json::value& entry : manifest) {
    const json::object& file = entry.get_object();
    EXPECT_EQ(Str(file, "path"), want->first);
    EXPECT_EQ(Int(file, "size"), static_cast<int64_t>(want->second.size())) << want->first;
    EXPECT_EQ(Str(file, "sha256"), Sha256Sum(dir().path(), want->second)) << want->first;
    HttpResponse content = http.Get("/v1/jobs/" + id + "/files/" + want->first);
    EXPECT_EQ(content.status, 200) << content.Describe();
    EXPECT_EQ(content.body, want->second) << want->first;
    ++want;
  }
  // The job's result carries the same manifest.
  json::array result_files = Arr(Obj(job, "result"), "files");
  ASSERT_EQ(result_files.size(), manifest.size()) << json::serialize(job);
  for (size_t i = 0; i < manifest.size(); ++i) {
    EXPECT_EQ(Str(result_files[i].get_object(), "path"), Str(manifest[i].get_object(), "path"));
    EXPECT_EQ(Str(result_files[i].get_object(), "sha256"), Str(manifest[i].get_object(), "sha256"));
  }

  for (std::string format : {"zip", "tar.gz"}) {
    HttpResponse archive = http.Get(fmt::format("/v1/jobs/{}/archive?format={}", id, format));
    ASSERT_EQ(archive.status, 200) << archive.Describe();
    EXPECT_EQ(Unpack(archive.body, format), expected) << format;
  }
}

TEST_F(ServeTest, FailingStepFailsTheJobAndLaterStepsDoNotRun) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  std::string id =
      Str(Submit(StepsJob({Shell("echo first > first.txt"), Shell("echo about to fail; exit 3"),
                           Shell("echo never > never.txt")})),
          "id");

  json::object job = WaitForState(id, "failed");
  EXPECT_EQ(Str(job, "state"), "failed");
  EXPECT_EQ(Str(job, "reason"), "step_failed");
  EXPECT_THAT(Str(job, "summary"), HasSubstr("step 2"));
  std::vector<json::object> events = Events(id);
  EXPECT_EQ(StdoutOf(events, 2), "about to fail\n");
  for (const json::object& event : events) {
    EXPECT_NE(Int(Obj(event, "data"), "step"), 3) << json::serialize(event);
  }
  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  EXPECT_THAT(files.body, HasSubstr("first.txt"));
  EXPECT_THAT(files.body, Not(HasSubstr("never.txt")));
}

// POST /v1/exec runs code now and answers with its result; nothing is stored as a job.
TEST_F(ServeTest, ExecRunsCodeAtOnceAndReportsItsResult) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();

  HttpResponse python = http.PostJson(
      "/v1/exec", json::object{{"language", "python"},
                               {"code", "import sys\nprint(sys.stdin.read().upper())\nsys.exit(4)"},
                               {"stdin", "from stdin"}});
  ASSERT_EQ(python.status, 200) << python.Describe();
  json::object result = python.Json();
  EXPECT_EQ(Str(result, "status"), "exited");
  EXPECT_EQ(Int(result, "exit_code"), 4);
  EXPECT_EQ(Str(result, "stdout"), "FROM STDIN\n");

  HttpResponse slow =
      http.PostJson("/v1/exec", json::object{{"language", "bash"},
                                             {"code", "echo started; sleep 5"},
                                             {"limits", json::object{{"timeout", "300ms"}}}});
  ASSERT_EQ(slow.status, 200) << slow.Describe();
  EXPECT_EQ(Str(slow.Json(), "status"), "timeout");
  EXPECT_EQ(Str(slow.Json(), "stdout"), "started\n");

  HttpResponse bomb =
      http.PostJson("/v1/exec", json::object{{"code", "x = bytearray(1 << 30)"},
                                             {"limits", json::object{{"memory", "64M"}}}});
  ASSERT_EQ(bomb.status, 200) << bomb.Describe();
  EXPECT_EQ(Str(bomb.Json(), "status"), "memory_limit");

  EXPECT_EQ(http.PostJson("/v1/exec", json::object{{"language", "cobol"}, {"code", "x"}}).status,
            400);
  EXPECT_EQ(http.PostJson("/v1/exec", json::object{{"code", ""}}).status, 400);
  EXPECT_EQ(http.PostJson("/v1/exec",
                          json::object{{"code", "1"}, {"limits", json::object{{"cpus", "2"}}}})
                .ErrorCode(),
            "invalid_argument");
  EXPECT_EQ(http.Post("/v1/exec", "{not json").ErrorCode(), "invalid_json");
  HttpResponse jobs = http.Get("/v1/jobs");
  EXPECT_EQ(jobs.Json().at("jobs").as_array().size(), 0u) << jobs.body;
}

// The job prints a line, then waits for the test to answer it (a file in the workspace) before
// the next: a follower must see each line while the job is still running.
TEST_F(ServeTest, EventStreamFollowsAJobLiveAndResumesAfterLastEventId) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  // The job waits for the test to write the number of lines it saw into a file the job made:
  // a file the host adds to a live workspace would not be seen (the sandbox's overlay of the
  // workspace remembers names and listings), but the content of one it holds is the host's.
  json::object job = Submit(StepsJob(
      {Python("import time\n"
              "open('seen', 'w').close()\n"
              "for i in (1, 2, 3):\n"
              "    print(f'live-{i}', flush=True)\n"
              "    deadline = time.time() + 15\n"
              "    while i < 3 and open('seen').read() != str(i) and time.time() < deadline:\n"
              "        time.sleep(0.02)\n")}));
  std::string id = Str(job, "id");
  SseStream stream(http.port(), "/v1/jobs/" + id + "/events");
  ASSERT_EQ(stream.head().status, 200) << stream.head().Describe();
  EXPECT_THAT(stream.head().Header("content-type"), HasSubstr("text/event-stream"));

  std::vector<SseEvent> received;
  std::string printed;  // stdout so far: output events need not hold whole lines
  int lines = 0;
  while (std::optional<SseEvent> event = stream.Next(milliseconds(10'000))) {
    received.push_back(*event);
    json::object data = Obj(json::parse(event->data).get_object(), "data");
    if (event->event != "output") {
      continue;
    }
    printed += Str(data, "text");
    while (printed.find(fmt::format("live-{}\n", lines + 1)) != std::string::npos) {
      ++lines;
      // Answered only now: the job cannot print the next line before this one was seen.
      WriteFile(Str(job, "workspace") + "/seen", std::to_string(lines));
    }
  }
  EXPECT_TRUE(stream.clean_end()) << "the stream did not end with the job (" << received.size()
                                  << " events)\n"
                                  << server().Describe();
  EXPECT_EQ(printed, "live-1\nlive-2\nlive-3\n");
  ASSERT_FALSE(received.empty());
  EXPECT_EQ(received.front().event, "state");
  EXPECT_EQ(received.back().event, "state");
  EXPECT_THAT(received.back().data, HasSubstr(R"("state":"succeeded")"));
  // The stream carries exactly the stored history.
  std::vector<json::object> stored = Events(id);
  ASSERT_EQ(received.size(), stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(received[i].id, std::to_string(Int(stored[i], "seq")));
    EXPECT_EQ(received[i].data, json::serialize(stored[i]));
  }

  // Resuming after the first output event yields exactly the events after it.
  size_t cut = 0;
  while (cut < received.size() && received[cut].event != "output") {
    ++cut;
  }
  ASSERT_LT(cut, received.size());
  SseStream resumed(http.port(), "/v1/jobs/" + id + "/events", received[cut].id);
  std::vector<SseEvent> rest = resumed.Rest(milliseconds(10'000));
  EXPECT_TRUE(resumed.clean_end());
  ASSERT_EQ(rest.size(), received.size() - cut - 1);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].id, received[cut + 1 + i].id);
    EXPECT_EQ(rest[i].data, received[cut + 1 + i].data);
  }
}

TEST_F(ServeTest, EventStreamDeliversAHistoryLargerThanItsQueueToASlowReader) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // Eight steps of 1,000,000 bytes each: far more than a stream may hold unsent (1 MiB).
  json::array steps;
  for (int i = 0; i < 8; ++i) {
    steps.push_back(Shell("head -c 1000000 /dev/zero | tr '\\0' 'a'"));
  }
  std::string id = Str(Submit(StepsJob(steps)), "id");
  ASSERT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");

  SseStream stream(client().port(), "/v1/jobs/" + id + "/events");
  ASSERT_EQ(stream.head().status, 200) << stream.head().Describe();
  // Not reading for a while: the server must wait for this client, not drop it.
  std::this_thread::sleep_for(milliseconds(1500));
  size_t printed = 0;
  std::optional<SseEvent> last;
  while (std::optional<SseEvent> event = stream.Next(milliseconds(20'000))) {
    if (event->event == "output") {
      printed += Str(Obj(json::parse(event->data).get_object(), "data"), "text").size();
    }
    last = std::move(event);
  }
  EXPECT_TRUE(stream.clean_end()) << server().Describe();
  EXPECT_EQ(printed, 8'000'000U);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->event, "state");
  EXPECT_THAT(last->data, HasSubstr(R"("state":"succeeded")"));
}

TEST_F(ServeTest, ASlowFollowerBesideAFastOneGetsEveryEventInOrder) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // Output that keeps coming for a while: 8 steps of 1,000,000 bytes, in 10,000-byte writes.
  json::array steps;
  for (int i = 0; i < 8; ++i) {
    steps.push_back(
        Python("import sys, time\n"
               "for _ in range(100):\n"
               "    sys.stdout.write('b' * 10000); sys.stdout.flush(); time.sleep(0.004)\n"));
  }
  std::string id = Str(Submit(StepsJob(steps)), "id");
  SseStream fast(client().port(), "/v1/jobs/" + id + "/events");
  // The slow reader holds little in its kernel buffer and reads in pauses: the server sees its
  // queue grow and shrink while the fast one keeps up with the job.
  SseStream slow(client().port(), "/v1/jobs/" + id + "/events", "", 4096);
  ASSERT_EQ(fast.head().status, 200);
  ASSERT_EQ(slow.head().status, 200);
  std::vector<SseEvent> fast_events;
  std::thread fast_reader([&] { fast_events = fast.Rest(milliseconds(60'000)); });
  std::vector<SseEvent> slow_events;
  std::this_thread::sleep_for(milliseconds(1000));
  Deadline deadline = After(milliseconds(60'000));
  while (std::optional<SseEvent> event = slow.Next(milliseconds(MsLeft(deadline)))) {
    slow_events.push_back(std::move(*event));
    std::this_thread::sleep_for(milliseconds(2));
  }
  fast_reader.join();
  for (const auto* events : {&fast_events, &slow_events}) {
    ASSERT_FALSE(events->empty());
    size_t printed = 0;
    for (size_t i = 0; i < events->size(); ++i) {
      ASSERT_EQ((*events)[i].id, std::to_string(i + 1)) << "a gap before event " << i + 1;
      if ((*events)[i].event == "output") {
        printed += Str(Obj(json::parse((*events)[i].data).get_object(), "data"), "text").size();
      }
    }
    EXPECT_EQ(printed, 8'000'000U);
    EXPECT_THAT(events->back().data, HasSubstr(R"("state":"succeeded")"));
  }
  EXPECT_TRUE(fast.clean_end());
  EXPECT_TRUE(slow.clean_end());
}

TEST_F(ServeTest, AStreamResumedAfterTheLastEventOfAnEndedJobEndsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string id = Str(Submit(StepsJob({Shell("echo hi")})), "id");
  json::object job = WaitForState(id, "succeeded");
  std::string last = std::to_string(Int(job, "last_event_seq"));
  for (const std::string& from : {last, std::to_string(Int(job, "last_event_seq") + 5)}) {
    SseStream resumed(client().port(), "/v1/jobs/" + id + "/events", from);
    ASSERT_EQ(resumed.head().status, 200);
    EXPECT_TRUE(resumed.Rest(milliseconds(10'000)).empty());
    EXPECT_TRUE(resumed.clean_end()) << "the stream stayed open after " << from;
  }
}

TEST_F(ServeTest, CancelKillsARunningJobsProcessesAndAFinishedJobCannotBeCancelled) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  const std::string duration = fmt::format("30.1{}", ::getpid());
  std::string id = Str(Submit(StepsJob({Shell("sleep " + duration), Shell("echo never")})), "id");
  WaitForState(id, "running");
  Deadline started = After(milliseconds(10'000));
  while (ProcessesMatching("sleep " + duration).empty() && MsLeft(started) > 0) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_FALSE(ProcessesMatching("sleep " + duration).empty()) << server().Describe();

  HttpResponse cancel = http.Post("/v1/jobs/" + id + "/cancel", "");
  EXPECT_EQ(cancel.status, 202) << cancel.Describe();
  json::object job = WaitForState(id, "cancelled", milliseconds(3'000));
  EXPECT_EQ(Str(job, "state"), "cancelled");
  EXPECT_EQ(Str(job, "reason"), "cancelled");
  EXPECT_EQ(StdoutOf(Events(id), 2), "");
  EXPECT_THAT(ProcessesMatching("sleep " + duration), ::testing::IsEmpty());

  HttpResponse again = http.Post("/v1/jobs/" + id + "/cancel", "");
  EXPECT_EQ(again.status, 409) << again.Describe();
  EXPECT_EQ(again.ErrorCode(), "already_finished");
}

TEST_F(ServeTest, RetryRunsTheSameStepsAsANewJobNamingItsParent) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  json::object original = Submit(StepsJob({Shell("echo run >> out.txt; cat out.txt")}));
  std::string id = Str(original, "id");
  EXPECT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");

  HttpResponse retry = http.Post("/v1/jobs/" + id + "/retry", "");
  ASSERT_EQ(retry.status, 201) << retry.Describe();
  std::string retry_id = Str(retry.Json(), "id");
  EXPECT_NE(retry_id, id);
  EXPECT_EQ(Str(retry.Json(), "parent_id"), id);
  EXPECT_EQ(json::serialize(retry.Json().at("input")), json::serialize(original.at("input")));
  json::object done = WaitForState(retry_id, "succeeded");
  EXPECT_EQ(Str(done, "state"), "succeeded");
  // Its own workspace: the step ran once there.
  EXPECT_EQ(http.Get("/v1/jobs/" + retry_id + "/logs").body, "run\n");
  EXPECT_EQ(http.Get("/v1/jobs/" + retry_id + "/files/out.txt").body, "run\n");

  // Newest first, one page at a time.
  HttpResponse first = http.Get("/v1/jobs?limit=1&status=succeeded");
  ASSERT_EQ(first.status, 200) << first.Describe();
  ASSERT_EQ(Arr(first.Json(), "jobs").size(), 1u);
  EXPECT_EQ(Str(Arr(first.Json(), "jobs")[0].get_object(), "id"), retry_id);
  std::string cursor = Str(first.Json(), "next_cursor");
  HttpResponse second = http.Get("/v1/jobs?limit=1&status=succeeded&cursor=" + cursor);
  ASSERT_EQ(Arr(second.Json(), "jobs").size(), 1u) << second.Describe();
  EXPECT_EQ(Str(Arr(second.Json(), "jobs")[0].get_object(), "id"), id);
  EXPECT_TRUE(second.Json().at("next_cursor").is_null()) << second.body;
}

TEST_F(ServeTest, BadRequestsGetJsonErrorsAndNeverReachOutsideTheWorkspace) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  EXPECT_EQ(http.Post("/v1/jobs", "{\"steps\": [").ErrorCode(), "invalid_json");
  EXPECT_EQ(http.Post("/v1/jobs", "[1, 2]").status, 400);
  EXPECT_EQ(http.Post("/v1/jobs", "{}").ErrorCode(), "invalid_job");
  EXPECT_EQ(http.Post("/v1/jobs", R"({"task": "x", "steps": []})").status, 400);
  EXPECT_EQ(http.Post("/v1/jobs", R"({"steps": [{"rm": "-rf /"}]})").status, 400);
  for (std::string id : {"j_00000000000000000000000000", "garbage", "j_.."}) {
    EXPECT_EQ(http.Get("/v1/jobs/" + id).status, 404) << id;
    EXPECT_EQ(http.Post("/v1/jobs/" + id + "/cancel", "").status, 404) << id;
  }
  EXPECT_EQ(http.Get("/v1/jobs/j_00000000000000000000000000").ErrorCode(), "not_found");
  EXPECT_EQ(http.Post("/v1/jobs/j_00000000000000000000000000/retry", "").status, 404);

  // 20 MB announced, 4 KiB sent: refused from the header alone.
  HttpResponse huge = http.Raw(
      "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 20971520\r\n\r\n" +
          std::string(4096, ' '),
      milliseconds(5'000));
  EXPECT_EQ(huge.status, 413) << huge.Describe();
  // Under the server's limit but over a job's.
  json::object big{{"task", std::string(2 << 20, 'x')}};
  EXPECT_EQ(http.PostJson("/v1/jobs", big).status, 413);

  std::string id = Str(Submit(StepsJob({Shell("echo fine > ok.txt; ln -s /etc/passwd leak; "
                                              "ln -s / root; mkdir sub; ln -s ../.. sub/up")})),
                       "id");
  ASSERT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");
  ASSERT_EQ(http.Get("/v1/jobs/" + id + "/files/ok.txt").body, "fine\n");
  std::string passwd_line = ReadFile("/etc/passwd").substr(0, ReadFile("/etc/passwd").find('\n'));
  for (std::string path :
       {"../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "%2Fetc%2Fpasswd", "/etc/passwd", "leak", "root/etc/passwd", "sub/up/etc/passwd",
        "ok.txt/../leak", "sub/%2e%2e/leak", "ok.txt%00"}) {
    HttpResponse response = http.Get(fmt::format("/v1/jobs/{}/files/{}", id, path));
    EXPECT_TRUE(response.status == 400 || response.status == 404) << path << "\n"
                                                                  << response.Describe();
    EXPECT_THAT(response.body, Not(HasSubstr(passwd_line))) << path;
    EXPECT_NE(response.ErrorCode(), "") << path << "\n" << response.Describe();
  }
  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  ASSERT_EQ(Arr(files.Json(), "files").size(), 1u) << files.body;  // no symlink listed
  std::map<std::string, std::string> only_ok = {{"ok.txt", "fine\n"}};
  EXPECT_EQ(Unpack(http.Get("/v1/jobs/" + id + "/archive?format=zip").body, "zip"), only_ok);
  EXPECT_EQ(Unpack(http.Get("/v1/jobs/" + id + "/archive?format=tar.gz").body, "tar.gz"), only_ok);
  EXPECT_EQ(http.Get("/v1/jobs/" + id + "/archive?format=rar").status, 400);

  EXPECT_EQ(http.Get("/v1/jobs?status=bogus").status, 400);
  EXPECT_EQ(http.Get("/v1/jobs?limit=0").status, 400);
  EXPECT_EQ(http.Get("/v1/jobs?limit=ten").status, 400);
  EXPECT_EQ(http.Get("/v1/jobs/" + id + "/logs?tail=-1").status, 400);
  HttpResponse unknown = http.Get("/v1/nothing/here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.ErrorCode(), "") << unknown.Describe();
  EXPECT_EQ(http.Raw("DELETE /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status,
            405);
  EXPECT_EQ(http.Get("/healthz").status, 200);
  EXPECT_EQ(http.Get("/readyz").status, 200);
}

TEST_F(ServeTest, AFullQueueAnswers429WithRetryAfter) {
  ASSERT_NO_FATAL_FAILURE(Start({"--workers", "1", "--max-queued", "2"}));
  HttpClient& http = client();
  std::string running = Str(Submit(StepsJob({Shell("sleep 30")})), "id");
  WaitForState(running, "running");
  Submit(StepsJob({Shell("echo queued 1")}));
  Submit(StepsJob({Shell("echo queued 2")}));

  HttpResponse refused = http.PostJson("/v1/jobs", StepsJob({Shell("echo one too many")}));
  EXPECT_EQ(refused.status, 429) << refused.Describe();
  EXPECT_EQ(refused.ErrorCode(), "queue_full");
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_EQ(http.Post("/v1/jobs/" + running + "/retry", "").status, 429);
  EXPECT_EQ(http.Post("/v1/jobs/" + running + "/cancel", "").status, 202);
}

// kill -9 of the server: its running job ends failed (server_restart) with its events kept, the
// sandbox dies with it, and a queued job runs after the restart.
TEST_F(ServeTest, AfterACrashTheRunningJobFailsAndTheQueuedOneRuns) {
  ASSERT_NO_FATAL_FAILURE(Start({"--workers", "1"}));
  const std::string duration = fmt::format("30.4{}", ::getpid());
  std::string crashed =
      Str(Submit(StepsJob({Shell("echo before-crash; sleep " + duration)})), "id");
  WaitForState(crashed, "running");
  std::string queued = Str(Submit(StepsJob({Shell("echo after-restart")})), "id");
  ASSERT_TRUE(WaitForEvent(crashed, "output", "before-crash", milliseconds(10'000)))
      << "the output line was not stored while the job ran\n"
      << server().Describe();
  ASSERT_FALSE(ProcessesMatching("sleep " + duration).empty());
  EXPECT_EQ(Str(GetJob(queued), "state"), "queued");

  server().Kill();
  Deadline gone = After(milliseconds(5'000));
  while (!ProcessesMatching("sleep " + duration).empty() && MsLeft(gone) > 0) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_THAT(ProcessesMatching("sleep " + duration), ::testing::IsEmpty())
      << "the job's sandbox outlived its server";

  ASSERT_NO_FATAL_FAILURE(Start({"--workers", "1"}));
  json::object job = GetJob(crashed);
  EXPECT_EQ(Str(job, "state"), "failed");
  EXPECT_EQ(Str(job, "reason"), "server_restart");
  std::vector<json::object> events = Events(crashed);
  EXPECT_EQ(StdoutOf(events, 1), "before-crash\n");
  EXPECT_THAT(States(events), ElementsAre("queued", "running", "failed"));
  EXPECT_EQ(Str(WaitForState(queued, "succeeded"), "state"), "succeeded");
  EXPECT_EQ(client().Get("/v1/jobs/" + queued + "/logs").body, "after-restart\n");
}

constexpr char kHelloPy[] = "print('hello from warden')\n";

TEST_F(ServeTest, TaskJobRunsTheAgentAgainstTheConfiguredModel) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script(
      {testing::TextReply("1. Write hello.py\n2. Run it"),
       testing::ToolCallReply("write_file",
                              R"({"path": "hello.py", "content": "print('hello from warden')\n"})"),
       testing::ToolCallReply("run_shell", R"({"command": "/usr/bin/python3 hello.py"})"),
       testing::ToolCallReply("finish", R"({"summary": "printed the greeting"})")});
  WriteConfig(fmt::format(
      "[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n"
      "retry_base_ms = 20\nmax_retries = 1\n",
      fake.BaseUrl()));
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  json::object submitted = Submit(json::object{{"task", "write hello.py that greets, and run it"}});
  std::string id = Str(submitted, "id");
  EXPECT_EQ(Str(submitted, "kind"), "task");

  json::object job = WaitForState(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job) << "\n" << server().Describe();
  EXPECT_EQ(Str(job, "reason"), "finished");
  EXPECT_EQ(Str(job, "summary"), "printed the greeting");
  json::object usage = Obj(Obj(job, "result"), "usage");
  EXPECT_GT(Int(usage, "input_tokens"), 0) << json::serialize(job);
  EXPECT_GT(Int(usage, "output_tokens"), 0) << json::serialize(job);

  std::vector<json::object> events = Events(id);
  std::set<std::string> types = TypesOf(events);
  for (const char* type : {"plan", "action", "observation", "final"}) {
    EXPECT_TRUE(types.contains(type)) << type;
  }
  EXPECT_THAT(http.Get("/v1/jobs/" + id + "/logs").body, HasSubstr("hello from warden\n"));
  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  ASSERT_EQ(Arr(files.Json(), "files").size(), 1u) << files.body;
  json::object file = Arr(files.Json(), "files")[0].get_object();
  EXPECT_EQ(Str(file, "path"), "hello.py");
  EXPECT_EQ(Str(file, "sha256"), Sha256Sum(dir().path(), kHelloPy));
  EXPECT_EQ(http.Get("/v1/jobs/" + id + "/files/hello.py").body, kHelloPy);
  EXPECT_EQ(fake.ChatBodies().size(), 4u);  // the plan, then one request per tool call
}

}  // namespace
}  // namespace warden::serve_test
