// `warden serve --store postgresql://...` end to end: the real binary on a private PostgreSQL 15
// that each test starts itself, jobs run in real sandboxes, the API driven over loopback HTTP.
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobs/pg.h"
#include "jobs/pg_test_server.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;

class ServePgTest : public ServeTest {
 protected:
  void SetUp() override {
    auto server = jobs::PgTestServer::Start();
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    pg_ = std::move(*server);
    auto url = pg_->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.error().ToString();
    url_ = *url;
  }

  // The state of job `id` as PostgreSQL holds it, or "" when it has no such row.
  std::string StoredState(const std::string& id) {
    auto conn = jobs::pg::Connection::Open(url_);
    EXPECT_TRUE(conn.ok()) << conn.error().ToString();
    if (!conn.ok()) {
      return "";
    }
    auto rows = conn->Query("SELECT state FROM jobs WHERE id = $1", {id});
    EXPECT_TRUE(rows.ok()) << rows.error().ToString();
    return rows.ok() && !rows->empty() ? rows->Text(0, 0) : "";
  }

  std::unique_ptr<jobs::PgTestServer> pg_;
  std::string url_;
};

TEST_F(ServePgTest, AStepsJobRunsEndToEndWithItsStateInPostgres) {
  ASSERT_NO_FATAL_FAILURE(Start({"--store", url_}));
  json::object submitted = Submit(StepsJob({Shell("echo hello from postgres")}));
  std::string id = Str(submitted, "id");
  ASSERT_TRUE(id.starts_with("j_")) << json::serialize(submitted);

  json::object job = WaitForState(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job) << server().Describe();
  std::vector<json::object> events = Events(id);
  EXPECT_EQ(StdoutOf(events, 1), "hello from postgres\n");
  EXPECT_EQ(States(events), (std::vector<std::string>{"queued", "running", "succeeded"}));
  EXPECT_EQ(StoredState(id), "succeeded");
  EXPECT_FALSE(std::filesystem::exists(data_dir() + "/warden.db")) << "SQLite was used as well";
}

TEST_F(ServePgTest, TheWardenStoreVariableSelectsPostgresToo) {
  ASSERT_NO_FATAL_FAILURE(Start({}, {"WARDEN_STORE=" + url_}));
  json::object submitted = Submit(StepsJob({Shell("true")}));
  std::string id = Str(submitted, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_NE(StoredState(id), "") << "job " << id << " is not in PostgreSQL";
  EXPECT_FALSE(std::filesystem::exists(data_dir() + "/warden.db")) << "SQLite was used as well";
}

TEST_F(ServePgTest, TheConfigurationFileCanNameTheStore) {
  WriteConfig("[llm]\nretry_base_ms = 20\nmax_retries = 1\n[store]\nurl = \"" + url_ + "\"\n");
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string id = Str(Submit(StepsJob({Shell("true")})), "id");
  ASSERT_FALSE(id.empty());
  EXPECT_NE(StoredState(id), "") << "job " << id << " is not in PostgreSQL";
}

TEST_F(ServePgTest, WhilePostgresIsDownRequestsGet503WithRetryAfterAndReadyzSaysWhy) {
  ASSERT_NO_FATAL_FAILURE(Start({"--store", url_, "--workers", "1"}));
  json::object before = Submit(StepsJob({Shell("echo before")}));
  ASSERT_EQ(Str(WaitForState(Str(before, "id"), "succeeded"), "state"), "succeeded");

  ASSERT_TRUE(pg_->Stop().ok());
  HttpResponse listed = client().Get("/v1/jobs");
  EXPECT_EQ(listed.status, 503) << listed.Describe();
  EXPECT_NE(listed.Header("retry-after"), "") << listed.Describe();
  HttpResponse submitted = client().PostJson("/v1/jobs", StepsJob({Shell("true")}));
  EXPECT_EQ(submitted.status, 503) << submitted.Describe();
  HttpResponse ready = client().Get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.Describe();
  EXPECT_THAT(ready.body, HasSubstr("PostgreSQL at 127.0.0.1:" + std::to_string(pg_->port())));
  EXPECT_EQ(client().Get("/healthz").status, 200);  // the process itself is fine

  ASSERT_TRUE(pg_->Restart().ok());
  EXPECT_EQ(client().Get("/readyz").status, 200);
  EXPECT_EQ(Str(GetJob(Str(before, "id")), "state"), "succeeded");
  json::object after = Submit(StepsJob({Shell("echo after")}));
  EXPECT_EQ(Str(WaitForState(Str(after, "id"), "succeeded"), "state"), "succeeded")
      << server().Describe();
}

TEST_F(ServePgTest, AStoreThatIsNeitherPostgresNorSqliteIsRefusedAtStart) {
  Exit refused = RunWarden({"serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir(), "--store",
                            "mysql://root:s3cret@127.0.0.1/jobs"},
                           {"HOME=" + (dir() / "home")});
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("postgresql://"));
  EXPECT_THAT(refused.err, ::testing::Not(HasSubstr("s3cret")));
  EXPECT_THAT(refused.out, ::testing::Not(HasSubstr("listening on")));
}

TEST_F(ServePgTest, AnUnreachablePostgresIsNamedAtStart) {
  ASSERT_TRUE(pg_->Stop().ok());
  Exit refused =
      RunWarden({"serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir(), "--store", url_},
                {"HOME=" + (dir() / "home")});
  EXPECT_NE(refused.code, 0);
  EXPECT_THAT(refused.err, HasSubstr("PostgreSQL at 127.0.0.1:" + std::to_string(pg_->port())));
}

TEST_F(ServePgTest, DoctorChecksTheStore) {
  ASSERT_NO_FATAL_FAILURE(Start({"--store", url_}));  // the server migrates the schema
  Exit doctor =
      RunWarden({"doctor", "--store", url_}, {"HOME=" + (dir() / "home")}, milliseconds(60'000));
  EXPECT_EQ(doctor.code, 0) << doctor.out << doctor.err;
  EXPECT_THAT(doctor.out, HasSubstr("PostgreSQL at 127.0.0.1:" + std::to_string(pg_->port())));
  EXPECT_THAT(doctor.out, HasSubstr("migrations applied"));
  EXPECT_THAT(doctor.out, HasSubstr("store transactions"));

  ASSERT_TRUE(pg_->Stop().ok());
  Exit down =
      RunWarden({"doctor", "--store", url_}, {"HOME=" + (dir() / "home")}, milliseconds(60'000));
  EXPECT_EQ(down.code, 1) << down.out << down.err;
  EXPECT_THAT(down.out, HasSubstr("cannot connect to the job store"));
}

}  // namespace
}  // namespace warden::serve_test
