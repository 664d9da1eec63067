// The JobStore conformance suite on PostgreSQL, and what only the PostgreSQL store does: schema
// migrations by several nodes at once, wake-ups across nodes, an unreachable or restarted server.
// Every test runs against a real PostgreSQL 15 that this binary starts (pg_test_server.h).
#include "jobs/pg_store.h"

#include <future>
#include <thread>

#include "jobs/pg.h"
#include "jobs/pg_schema.h"
#include "jobs/pg_test_server.h"
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Result<std::string> FreshDatabase() {
  ASSIGN_OR_RETURN(PgTestServer * server, PgTestServer::Shared());
  return server->CreateDatabase();
}

Result<std::unique_ptr<JobStore>> OpenPgStore(const std::string& /*scratch_dir*/,
                                              const StoreOptions& options) {
  ASSIGN_OR_RETURN(std::string url, FreshDatabase());
  ASSIGN_OR_RETURN(auto store, PgStore::Open(PgStoreOptions{url, options}));
  return std::unique_ptr<JobStore>(std::move(store));
}

// The conformance suite (store_test.cc, store_events_test.cc) on PostgreSQL.
INSTANTIATE_TEST_SUITE_P(Postgres, JobStoreTest,
                         ::testing::Values(StoreFactory{"postgres", OpenPgStore}),
                         StoreFactoryName);
INSTANTIATE_TEST_SUITE_P(Postgres, SharedStoreTest,
                         ::testing::Values(StoreFactory{"postgres", OpenPgStore}),
                         StoreFactoryName);

NewJob Task(std::string task) {
  NewJob job;
  job.input = {{"task", std::move(task)}};
  return job;
}

TEST(PgStoreTest, NodesStartingTogetherMigrateTheSchemaOnce) {
  auto url = FreshDatabase();
  ASSERT_THAT(url, IsOk());
  std::vector<std::future<Result<std::unique_ptr<PgStore>>>> nodes;
  for (int i = 0; i < 6; ++i) {
    nodes.push_back(std::async(std::launch::async, [&] { return PgStore::Open({*url, {}}); }));
  }
  std::vector<std::unique_ptr<PgStore>> stores;
  for (auto& node : nodes) {
    auto store = node.get();
    ASSERT_THAT(store, IsOk());
    stores.push_back(std::move(*store));
  }
  auto conn = pg::Connection::Open(*url);
  ASSERT_THAT(conn, IsOk());
  EXPECT_EQ(*pg::SchemaVersion(*conn), PgStore::LatestSchemaVersion());
  auto rows = conn->Query("SELECT count(*) FROM warden_schema");
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(rows->Int(0, 0), 1);
  // Every node works on the one schema.
  auto job = stores[0]->Create(Task("made on node 0"));
  ASSERT_THAT(job, IsOk());
  EXPECT_THAT(stores[5]->Get(job->id, kAnyOwner), IsOk());
}

TEST(PgStoreTest, ADatabaseFromANewerWardenIsRefused) {
  auto url = FreshDatabase();
  ASSERT_THAT(url, IsOk());
  ASSERT_THAT(PgStore::Open({*url, {}}), IsOk());
  auto conn = pg::Connection::Open(*url);
  ASSERT_THAT(conn, IsOk());
  ASSERT_THAT(conn->Exec("UPDATE warden_schema SET version = 99"), IsOk());

  auto refused = PgStore::Open({*url, {}});
  ASSERT_THAT(refused, IsError(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(refused.error().message(), HasSubstr("newer Warden"));
}

TEST(PgStoreTest, AChangeOnOneNodeWakesAWaiterOnAnotherThroughNotify) {
  auto url = FreshDatabase();
  ASSERT_THAT(url, IsOk());
  PgStoreOptions options{*url, {}};
  options.safety_poll = std::chrono::hours(1);  // only a notification can wake the waiter
  auto api_node = PgStore::Open(options);
  auto worker_node = PgStore::Open(options);
  ASSERT_THAT(api_node, IsOk());
  ASSERT_THAT(worker_node, IsOk());
  ASSERT_FALSE(*(*worker_node)->WaitForQueued(std::chrono::milliseconds(0)));

  auto waiter = std::async(std::launch::async,
                           [&] { return (*worker_node)->WaitForQueued(std::chrono::minutes(2)); });
  // The listener may connect after the waiter's first look: its first wake-up covers that.
  auto job = (*api_node)->Create(Task("wake a worker elsewhere"));
  ASSERT_THAT(job, IsOk());
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_TRUE(*waiter.get());
  auto claimed = (*worker_node)->ClaimNext("worker-2");
  ASSERT_THAT(claimed, IsOk());
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->id, job->id);

  auto follower = std::async(std::launch::async, [&] {
    return (*api_node)->WaitForEvents(job->id, (*claimed)->last_event_seq, std::chrono::minutes(2));
  });
  ASSERT_THAT((*worker_node)->AppendEvent(job->id, "output", {{"text", "hi"}}), IsOk());
  ASSERT_EQ(follower.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_TRUE(*follower.get());
}

TEST(PgStoreTest, AnUnreachableServerIsAFastClearUnavailableError) {
  auto server = PgTestServer::Shared();
  ASSERT_THAT(server, IsOk());
  // A port nothing listens on: the shared server's, plus one, is free in practice; the message is
  // what matters, and it must not quote the password.
  std::string url = "postgresql://warden:s3cret@127.0.0.1:1/jobs";
  auto store = PgStore::Open({url, {}});
  ASSERT_THAT(store, IsError(ErrorCode::kUnavailable));
  EXPECT_THAT(store.error().message(), HasSubstr("PostgreSQL at 127.0.0.1:1"));
  EXPECT_THAT(store.error().message(), HasSubstr("warden doctor"));
  EXPECT_THAT(store.error().message(), Not(HasSubstr("s3cret")));

  auto malformed = PgStore::Open({"postgresql://host:notaport/x", {}});
  EXPECT_THAT(malformed, IsError(ErrorCode::kInvalidArgument));
}

TEST(PgStoreTest, CallsFailWithUnavailableWhileTheServerIsDownAndWorkAgainAfter) {
  auto server = PgTestServer::Start();
  ASSERT_THAT(server, IsOk());
  auto url = (*server)->CreateDatabase();
  ASSERT_THAT(url, IsOk());
  auto store = PgStore::Open({*url, {}});
  ASSERT_THAT(store, IsOk());
  auto before = (*store)->Create(Task("accepted before the restart"));
  ASSERT_THAT(before, IsOk());

  ASSERT_THAT((*server)->Stop(), IsOk());
  EXPECT_THAT((*store)->Get(before->id, kAnyOwner), IsError(ErrorCode::kUnavailable));
  auto refused = (*store)->Create(Task("while it is down"));
  ASSERT_THAT(refused, IsError(ErrorCode::kUnavailable));
  EXPECT_THAT(refused.error().message(), HasSubstr("PostgreSQL"));

  ASSERT_THAT((*server)->Restart(), IsOk());
  auto kept = (*store)->Get(before->id, kAnyOwner);
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->state, JobState::kQueued);
  EXPECT_THAT((*store)->Create(Task("after the restart")), IsOk());
  auto claimed = (*store)->ClaimNext("w1");
  ASSERT_THAT(claimed, IsOk());
  EXPECT_EQ((*claimed)->id, before->id);
}

TEST(PgStoreTest, AUnixSocketUrlReachesTheServer) {
  auto server = PgTestServer::Shared();
  ASSERT_THAT(server, IsOk());
  auto tcp = (*server)->CreateDatabase();
  ASSERT_THAT(tcp, IsOk());
  const std::string database = tcp->substr(tcp->rfind('/') + 1);
  auto store = PgStore::Open({(*server)->SocketUrl(database), {}});
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->Create(Task("over the socket")), IsOk());
}

}  // namespace
}  // namespace warden::jobs
