// `warden doctor --store`'s checks against a real PostgreSQL.
#include "jobs/pg_check.h"

#include "jobs/pg.h"
#include "jobs/pg_store.h"
#include "jobs/pg_test_server.h"
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;
using Level = sandbox::HostCheck::Level;

const sandbox::HostCheck* Find(const std::vector<sandbox::HostCheck>& checks,
                               std::string_view name) {
  for (const sandbox::HostCheck& check : checks) {
    if (check.name == name) {
      return &check;
    }
  }
  ADD_FAILURE() << "no check named " << name;
  return nullptr;
}

TEST(PgCheckTest, ReportsTheServerAndWhetherTheSchemaIsMigrated) {
  auto server = PgTestServer::Shared();
  ASSERT_THAT(server, IsOk());
  auto url = (*server)->CreateDatabase();
  ASSERT_THAT(url, IsOk());

  std::vector<sandbox::HostCheck> fresh = CheckPgStore(*url);
  ASSERT_EQ(fresh.size(), 3U);
  EXPECT_EQ(fresh[0].level, Level::kOk);
  EXPECT_THAT(fresh[0].detail, HasSubstr("server 15."));
  const sandbox::HostCheck* unmigrated = Find(fresh, "store schema");
  ASSERT_NE(unmigrated, nullptr);
  EXPECT_EQ(unmigrated->level, Level::kWarn);
  EXPECT_THAT(unmigrated->detail, HasSubstr("0 of "));

  ASSERT_THAT(PgStore::Open({*url, {}}), IsOk());
  std::vector<sandbox::HostCheck> after = CheckPgStore(*url);
  const sandbox::HostCheck* migrated = Find(after, "store schema");
  ASSERT_NE(migrated, nullptr);
  EXPECT_EQ(migrated->level, Level::kOk);
  EXPECT_EQ(migrated->detail, std::to_string(PgStore::LatestSchemaVersion()) + " of " +
                                  std::to_string(PgStore::LatestSchemaVersion()) +
                                  " migrations applied");
}

TEST(PgCheckTest, NamesTransactionsOpenLongerThanTheLimit) {
  auto server = PgTestServer::Shared();
  ASSERT_THAT(server, IsOk());
  auto url = (*server)->CreateDatabase();
  ASSERT_THAT(url, IsOk());
  std::vector<sandbox::HostCheck> before = CheckPgStore(*url, std::chrono::seconds(0));
  const sandbox::HostCheck* quiet = Find(before, "store transactions");
  ASSERT_NE(quiet, nullptr);
  EXPECT_EQ(quiet->level, Level::kOk);

  auto holder = pg::Connection::Open(*url);
  ASSERT_THAT(holder, IsOk());
  ASSERT_THAT(holder->Exec("BEGIN; SELECT 1"), IsOk());  // open, idle in transaction
  auto pid = holder->Query("SELECT pg_backend_pid()");
  ASSERT_THAT(pid, IsOk());
  std::vector<sandbox::HostCheck> during = CheckPgStore(*url, std::chrono::seconds(0));
  const sandbox::HostCheck* held = Find(during, "store transactions");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->level, Level::kWarn);
  EXPECT_THAT(held->detail, HasSubstr("pid " + pid->Text(0, 0)));
  EXPECT_THAT(held->detail, HasSubstr("idle in transaction"));
}

TEST(PgCheckTest, AnUnreachableStoreIsOneFailedCheck) {
  std::vector<sandbox::HostCheck> checks = CheckPgStore("postgresql://nobody@127.0.0.1:1/jobs");
  ASSERT_EQ(checks.size(), 1U);
  EXPECT_EQ(checks[0].level, Level::kFail);
  EXPECT_THAT(checks[0].detail, HasSubstr("PostgreSQL at 127.0.0.1:1"));
}

}  // namespace
}  // namespace warden::jobs
