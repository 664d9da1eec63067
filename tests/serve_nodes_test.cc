// Many nodes on one PostgreSQL, end to end: API nodes (`warden serve --workers 0`) and workers
// (`warden worker`) as real processes on loopback, a real PostgreSQL this binary starts, jobs in
// real sandboxes. Submit on one node, follow, cancel and download on another; kill -9 a worker
// mid-job, an API node, and workers at random under load. Leases are short (kLease) so that a
// dead worker's jobs are rescued in about two seconds.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/pg.h"
#include "jobs/pg_test_server.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kLease = "1500ms";

class NodesTest : public ::testing::Test {
 protected:
  NodesTest() : dir_("warden-nodes-test-") {
    std::filesystem::create_directory(dir_ / "home");
    WriteFile(dir_ / "config.toml", "");
  }

  void SetUp() override {
    auto server = jobs::PgTestServer::Shared();
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    auto url = (*server)->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.error().ToString();
    url_ = *url;
  }

  void TearDown() override {
    for (auto& [name, node] : nodes_) {
      if (node->pid() > 0) {
        EXPECT_EQ(node->Stop(), 0) << name << " did not exit cleanly on SIGTERM\n"
                                   << node->Describe();
      }
    }
  }

  // Every node shares the one data directory: the workspace storage all nodes mount at the same
  // path (docs/decisions/0011-files-on-many-nodes.md).
  std::vector<std::string> NodeArgs(std::vector<std::string> args) const {
    args.insert(args.end(), {"--store", url_, "--data-dir", dir_ / "data", "--lease", lease_});
    return args;
  }
  std::vector<std::string> Env() const {
    return {"HOME=" + (dir_ / "home"), "WARDEN_CONFIG=" + (dir_ / "config.toml")};
  }

  // `warden serve --workers 0` named `name`; its client.
  HttpClient StartApi(const std::string& name) {
    auto node =
        std::make_unique<ServeProcess>(NodeArgs({"--workers", "0"}), Env(), dir_ / (name + ".log"));
    EXPECT_NE(node->port(), 0) << node->Describe();
    HttpClient client(node->port());
    nodes_[name] = std::move(node);
    return client;
  }

  // `warden worker` named `name` (its workers' names start with it), replacing one of that name.
  void StartWorker(const std::string& name, int workers = 2) {
    auto node = std::make_unique<ServeProcess>(
        NodeArgs({"--workers", std::to_string(workers), "--name", name}), Env(),
        dir_ / (name + ".log"), "");
    EXPECT_TRUE(node->ready()) << node->Describe();
    nodes_[name] = std::move(node);
  }

  ServeProcess& node(const std::string& name) { return *nodes_.at(name); }

  std::string Logs() const {
    std::string text;
    for (const auto& [name, node] : nodes_) {
      text += "=== " + name + "\n" + node->Describe() + "\n";
    }
    return text;
  }

  static std::string Submit(const HttpClient& client, const json::object& body) {
    HttpResponse response = client.PostJson("/v1/jobs", body);
    EXPECT_EQ(response.status, 201) << response.Describe();
    return Str(response.Json(), "id");
  }

  // Polls the job through `client` until it is `state` or final; returns it as last seen.
  json::object WaitForState(const HttpClient& client, const std::string& id, std::string_view state,
                            milliseconds timeout = milliseconds(30'000)) {
    json::object job;
    for (Deadline deadline = After(timeout);; std::this_thread::sleep_for(milliseconds(50))) {
      job = client.Get("/v1/jobs/" + id).Json();
      std::string now = Str(job, "state");
      if (now == state || now == "succeeded" || now == "failed" || now == "cancelled") {
        return job;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ADD_FAILURE() << "job " << id << " is not " << state << ":\n"
                      << json::serialize(job) << "\n"
                      << Logs();
        return job;
      }
    }
  }

  // Polls the job's events through `client` until an output event holds `text`.
  bool WaitForOutput(const HttpClient& client, const std::string& id, std::string_view text) {
    for (Deadline deadline = After(milliseconds(30'000));
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(milliseconds(50))) {
      json::object page = client.Get("/v1/jobs/" + id + "/events?limit=1000").Json();
      for (const json::value& event : Arr(page, "events")) {
        if (Str(event.get_object(), "type") == "output" &&
            Str(Obj(event.get_object(), "data"), "text").find(text) != std::string::npos) {
          return true;
        }
      }
    }
    ADD_FAILURE() << "job " << id << " never printed " << text << "\n" << Logs();
    return false;
  }

  // One SQL query's rows, each as the text of its first `columns` columns.
  std::vector<std::vector<std::string>> Query(const std::string& sql, int columns) {
    auto conn = jobs::pg::Connection::Open(url_);
    EXPECT_TRUE(conn.ok()) << conn.error().ToString();
    std::vector<std::vector<std::string>> result;
    auto rows = conn.ok() ? conn->Query(sql) : Result<jobs::pg::Rows>(conn.error());
    EXPECT_TRUE(rows.ok()) << rows.error().ToString();
    for (int i = 0; rows.ok() && i < rows->size(); ++i) {
      std::vector<std::string> row;
      for (int c = 0; c < columns; ++c) {
        row.push_back(rows->IsNull(i, c) ? "NULL" : rows->Text(i, c));
      }
      result.push_back(std::move(row));
    }
    return result;
  }
  int64_t Count(const std::string& sql) {
    auto rows = Query(sql, 1);
    return rows.empty() ? -1 : std::stoll(rows[0][0]);
  }

  TempDir dir_;
  std::string url_;
  std::string lease_ = kLease;
  std::map<std::string, std::unique_ptr<ServeProcess>> nodes_;
};

// Jobs whose events hold other than exactly one final state, or events after it.
constexpr const char* kBadEndingsSql = R"sql(
SELECT j.id, j.state,
       (SELECT count(*) FROM events e WHERE e.job_id = j.id AND e.type = 'state'
          AND e.data::json->>'state' IN ('succeeded', 'failed', 'cancelled')) AS finals,
       (SELECT max(seq) FROM events e WHERE e.job_id = j.id) AS last,
       (SELECT max(seq) FROM events e WHERE e.job_id = j.id AND e.type = 'state'
          AND e.data::json->>'state' IN ('succeeded', 'failed', 'cancelled')) AS final_seq
  FROM jobs j)sql";

std::vector<std::string> BadEndings(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::string> bad;
  for (const auto& row : rows) {
    if (row[2] != "1" || row[3] != row[4]) {
      bad.push_back(row[0] + " " + row[1] + " finals=" + row[2] + " last=" + row[3] +
                    " final_seq=" + row[4]);
    }
  }
  return bad;
}

TEST_F(NodesTest, AnyApiNodeFollowsCancelsAndServesTheFilesOfAJobAnyWorkerRuns) {
  HttpClient a = StartApi("api-a");
  HttpClient b = StartApi("api-b");
  StartWorker("node-1");
  StartWorker("node-2");

  // Submitted on A, followed live (SSE) and downloaded on B.
  std::string id =
      Submit(a, StepsJob({WriteFileStep("report.txt", "made on a worker\n"), Shell("echo done")}));
  ASSERT_THAT(id, StartsWith("j_"));
  SseStream follow(b.port(), "/v1/jobs/" + id + "/events");
  ASSERT_EQ(follow.head().status, 200) << follow.head().Describe();
  std::vector<SseEvent> events = follow.Rest(milliseconds(30'000));
  ASSERT_FALSE(events.empty()) << Logs();
  EXPECT_EQ(events.back().event, "state");
  EXPECT_THAT(events.back().data, HasSubstr("\"succeeded\"")) << Logs();
  json::object job = b.Get("/v1/jobs/" + id).Json();
  EXPECT_EQ(Str(job, "state"), "succeeded");
  EXPECT_THAT(Str(job, "worker"), ::testing::AnyOf(StartsWith("node-1-"), StartsWith("node-2-")));
  HttpResponse file = b.Get("/v1/jobs/" + id + "/files/report.txt");
  EXPECT_EQ(file.status, 200) << file.Describe();
  EXPECT_EQ(file.body, "made on a worker\n");
  HttpResponse archive = b.Get("/v1/jobs/" + id + "/archive?format=tar.gz");
  ASSERT_EQ(archive.status, 200) << archive.Describe();

  // Submitted on B, cancelled on A: the sandbox on whichever worker runs it dies.
  std::string slow = Submit(b, StepsJob({Shell("echo ready; sleep 120")}));
  ASSERT_TRUE(WaitForOutput(a, slow, "ready"));
  auto asked = std::chrono::steady_clock::now();
  HttpResponse cancel = a.Post("/v1/jobs/" + slow + "/cancel", "");
  ASSERT_LT(cancel.status, 300) << cancel.Describe();
  json::object cancelled = WaitForState(b, slow, "cancelled");
  EXPECT_EQ(Str(cancelled, "state"), "cancelled") << json::serialize(cancelled);
  std::printf("[ perf     ] cancel on one API node to the job ended on a worker: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - asked)
                      .count()));

  // An API node killed with SIGKILL: the other answers for every job and takes new ones.
  node("api-a").Kill();
  EXPECT_EQ(Str(b.Get("/v1/jobs/" + id).Json(), "state"), "succeeded");
  std::string after = Submit(b, StepsJob({Shell("echo still here")}));
  EXPECT_EQ(Str(WaitForState(b, after, "succeeded"), "state"), "succeeded");

  // Storage this node does not see (here: moved away): a clear answer at once, naming the worker.
  std::filesystem::rename(dir_ / ("data/workspaces/" + id), dir_ / "moved");
  HttpResponse gone = b.Get("/v1/jobs/" + id + "/files/report.txt");
  EXPECT_EQ(gone.status, 503) << gone.Describe();
  EXPECT_EQ(gone.ErrorCode(), "files_unavailable");
  EXPECT_THAT(gone.body, HasSubstr(Str(job, "worker"))) << gone.Describe();
  EXPECT_EQ(b.Get("/v1/jobs/" + id + "/archive").status, 503);
}

TEST_F(NodesTest, AWorkerKilledMidJobHasItsJobsFailedOrQueuedAgainByTheOthers) {
  HttpClient api = StartApi("api");
  StartWorker("node-1");
  std::string plain = Submit(api, StepsJob({Shell("echo ready; sleep 120")}));
  json::object idempotent =
      StepsJob({Shell("if [ -e /workspace/started ]; then echo second attempt; else "
                      "touch /workspace/started; echo ready; sleep 120; fi")});
  idempotent["options"] = json::object{{"requeue_on_crash", true}};
  std::string requeued = Submit(api, idempotent);
  ASSERT_TRUE(WaitForOutput(api, plain, "ready"));
  ASSERT_TRUE(WaitForOutput(api, requeued, "ready"));

  node("node-1").Kill();  // SIGKILL: no goodbye, its leases simply run out
  StartWorker("node-2");

  json::object lost = WaitForState(api, plain, "failed");
  EXPECT_EQ(Str(lost, "state"), "failed");
  EXPECT_EQ(Str(lost, "reason"), "worker_lost");
  EXPECT_THAT(Str(lost, "summary"), HasSubstr("node-1-")) << json::serialize(lost);
  json::object again = WaitForState(api, requeued, "succeeded");
  EXPECT_EQ(Str(again, "state"), "succeeded") << json::serialize(again) << Logs();
  EXPECT_THAT(Str(again, "worker"), StartsWith("node-2-"));
  HttpResponse log = api.Get("/v1/jobs/" + requeued + "/events?limit=1000");
  std::vector<json::object> events;
  for (const json::value& event : Arr(log.Json(), "events")) {
    events.push_back(event.get_object());
  }
  EXPECT_EQ(States(events),
            (std::vector<std::string>{"queued", "running", "queued", "running", "succeeded"}));
  EXPECT_THAT(BadEndings(Query(kBadEndingsSql, 5)), ::testing::IsEmpty());
}

// PostgreSQL restarted (stopped like a crash, then started again) while jobs are submitted and
// run: during the outage the API answers 503 with Retry-After at once, never hangs; afterwards
// both nodes reconnect by themselves; every job the API accepted runs to success, its events and
// its end held by the worker until the database answered again.
TEST_F(NodesTest, PostgresRestartedUnderLoadLosesNoAcceptedJob) {
  auto private_pg = jobs::PgTestServer::Start();
  ASSERT_TRUE(private_pg.ok()) << private_pg.error().ToString();
  std::unique_ptr<jobs::PgTestServer> pg = std::move(*private_pg);
  auto url = pg->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.error().ToString();
  url_ = *url;
  lease_ = "60s";  // longer than the outage: the job's own worker records its end
  HttpClient api = StartApi("api");
  StartWorker("node-1");

  std::mutex mutex;
  std::vector<std::string> accepted;
  int unavailable = 0;
  std::vector<std::string> wrong;  // answers neither 201 nor 503 with Retry-After
  std::atomic<bool> stop{false};
  std::thread submitter([&] {
    for (int i = 0; !stop; ++i) {
      HttpResponse response = api.PostJson(
          "/v1/jobs", StepsJob({Shell(fmt::format("echo job {}; sleep 0.5; echo done {}", i, i))}));
      std::unique_lock lock(mutex);
      if (response.status == 201) {
        accepted.push_back(Str(response.Json(), "id"));
        lock.unlock();
        std::this_thread::sleep_for(milliseconds(100));  // a steady load the workers keep up with
      } else if (response.status == 503 && !response.Header("retry-after").empty()) {
        ++unavailable;
        std::this_thread::sleep_for(milliseconds(20));
      } else {
        wrong.push_back(response.Describe());
      }
    }
  });
  auto wait_until = [&](const std::function<bool()>& done) {
    for (Deadline deadline = After(milliseconds(60'000));
         !done() && std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(milliseconds(20))) {
    }
    return done();
  };
  auto count = [&] {
    std::lock_guard lock(mutex);
    return accepted.size();
  };
  // Stopped while a job runs, so that it prints and ends during the outage.
  EXPECT_TRUE(wait_until([&] {
    HttpResponse running = api.Get("/v1/jobs?status=running");
    return running.status == 200 && !Arr(running.Json(), "jobs").empty();
  }));
  ASSERT_TRUE(pg->Stop().ok());
  EXPECT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex);
    return unavailable >= 5;
  })) << "the API did not answer 503 while PostgreSQL was down\n"
      << Logs();
  // The worker found the store gone when it recorded the running job's output (held, or lost).
  EXPECT_TRUE(wait_until([&] {
    std::string log = ReadFile(dir_ / "node-1.log");
    return log.find("events held") != std::string::npos ||
           log.find("events lost") != std::string::npos;
  })) << Logs();
  size_t before_restart = count();
  ASSERT_TRUE(pg->Restart().ok());
  EXPECT_TRUE(wait_until([&] { return count() >= before_restart + 3; }))
      << "no job was accepted after PostgreSQL came back\n"
      << Logs();
  stop = true;
  submitter.join();

  EXPECT_THAT(wrong, ::testing::IsEmpty());
  for (const std::string& id : accepted) {
    json::object job = WaitForState(api, id, "succeeded");
    EXPECT_EQ(Str(job, "state"), "succeeded") << json::serialize(job);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), static_cast<int64_t>(accepted.size()));
  EXPECT_THAT(BadEndings(Query(kBadEndingsSql, 5)), ::testing::IsEmpty());
  // Every job's output is whole: its events were held, not dropped, through the outage.
  EXPECT_EQ(Count("SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM events e WHERE "
                  "e.job_id = j.id AND e.type = 'output' AND e.data LIKE '%done %')"),
            0);
  std::printf("[ restart  ] %zu jobs accepted, %d submissions answered 503 during the outage\n",
              accepted.size(), unavailable);
}

// Workers killed at random while short jobs run: every job ends, once.
TEST_F(NodesTest, NoJobIsLostStuckOrFinalisedTwiceWhileWorkersAreKilledAtRandom) {
  constexpr int kJobs = 120;
  HttpClient api = StartApi("api");
  StartWorker("node-1");
  StartWorker("node-2");
  for (int i = 0; i < kJobs; ++i) {
    json::object body = StepsJob({Shell("echo job " + std::to_string(i))});
    if (i % 2 == 0) {
      body["options"] = json::object{{"requeue_on_crash", true}};
    }
    ASSERT_THAT(Submit(api, body), StartsWith("j_"));
  }
  std::mt19937 random(20261207);
  int kills = 0;
  for (int round = 0; round < 4; ++round) {
    // Wait for some progress, then kill a worker mid-flight and start it again.
    int64_t target = std::min<int64_t>(kJobs, (round + 1) * kJobs / 6);
    for (Deadline deadline = After(milliseconds(60'000));
         Count("SELECT count(*) FROM jobs WHERE state <> 'queued'") < target &&
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(milliseconds(20))) {
    }
    std::string victim = random() % 2 == 0 ? "node-1" : "node-2";
    node(victim).Kill();
    ++kills;
    StartWorker(victim);
  }
  Deadline deadline = After(milliseconds(90'000));
  while (Count("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')") > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
  }

  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), kJobs);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')"), 0) << Logs();
  EXPECT_THAT(BadEndings(Query(kBadEndingsSql, 5)), ::testing::IsEmpty());
  // A job that may run again never fails for a lost worker: it is queued again.
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE requeue_on_crash AND state <> 'succeeded'"), 0);
  std::printf(
      "[ chaos    ] %d workers killed; %lld of %d jobs failed as worker_lost, %lld ran "
      "again after a lost worker\n",
      kills,
      static_cast<long long>(Count("SELECT count(*) FROM jobs WHERE reason = "
                                   "'worker_lost'")),
      kJobs, static_cast<long long>(Count("SELECT count(*) FROM jobs WHERE attempt > 1")));
}

}  // namespace
}  // namespace warden::serve_test
