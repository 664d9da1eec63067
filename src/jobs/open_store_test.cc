// Which store a --store value names.
#include "jobs/open_store.h"

#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(OpenStoreTest, NothingMeansSqliteInTheDataDirectory) {
  auto location = ParseStoreLocation("", "/var/lib/warden/warden.db");
  ASSERT_THAT(location, IsOk());
  EXPECT_EQ(location->kind, StoreKind::kSqlite);
  EXPECT_EQ(location->target, "/var/lib/warden/warden.db");
  auto explicit_file = ParseStoreLocation("sqlite:/srv/jobs.db", "/default.db");
  ASSERT_THAT(explicit_file, IsOk());
  EXPECT_EQ(explicit_file->kind, StoreKind::kSqlite);
  EXPECT_EQ(explicit_file->target, "/srv/jobs.db");
}

TEST(OpenStoreTest, PostgresUrlsSelectPostgresAndAreDescribedWithoutTheirPassword) {
  for (const char* url : {"postgresql://warden:s3cret@db.example:6432/jobs",
                          "postgres://warden:s3cret@db.example:6432/jobs"}) {
    auto location = ParseStoreLocation(url, "/default.db");
    ASSERT_THAT(location, IsOk());
    EXPECT_EQ(location->kind, StoreKind::kPostgres);
    EXPECT_EQ(location->target, url);
    EXPECT_EQ(DescribeStore(*location), "PostgreSQL at db.example:6432, database jobs");
  }
  auto socket = ParseStoreLocation("postgresql:///jobs?host=/run/postgresql", "/default.db");
  ASSERT_THAT(socket, IsOk());
  EXPECT_EQ(DescribeStore(*socket), "PostgreSQL at /run/postgresql:5432, database jobs");
}

TEST(OpenStoreTest, AnythingElseIsRefusedSayingWhatIsAccepted) {
  for (const char* value : {"mysql://root:s3cret@host/db", "jobs.db", "sqlite:"}) {
    auto location = ParseStoreLocation(value, "/default.db");
    ASSERT_THAT(location, IsError(ErrorCode::kInvalidArgument)) << value;
    EXPECT_THAT(location.error().message(), HasSubstr("postgresql://"));
    EXPECT_THAT(location.error().message(), Not(HasSubstr("s3cret")));
  }
}

}  // namespace
}  // namespace warden::jobs
