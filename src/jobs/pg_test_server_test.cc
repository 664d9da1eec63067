// The private PostgreSQL server the tests start: it says how to install PostgreSQL when it is
// missing, and leaves nothing behind.
#include "jobs/pg_test_server.h"

#include <sys/stat.h>

#include "jobs/pg.h"
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

using ::testing::HasSubstr;

TEST(PgTestServerTest, WithoutPostgresqlInstalledItSaysToRunSetup) {
  PgTestServerOptions options;
  options.bin_dir = "/nonexistent/postgresql/bin/";
  auto server = PgTestServer::Start(options);
  ASSERT_THAT(server, IsError(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(server.error().message(), HasSubstr("scripts/setup.sh"));
}

TEST(PgTestServerTest, ServesOnLoopbackAndTheSocketAndLeavesNothingBehind) {
  auto server = PgTestServer::Start();
  ASSERT_THAT(server, IsOk());
  const std::string dir = (*server)->dir();
  const std::string url = (*server)->Url();
  auto tcp = pg::Connection::Open(url);
  ASSERT_THAT(tcp, IsOk());
  auto version = tcp->Query("SHOW server_version_num");
  ASSERT_THAT(version, IsOk());
  EXPECT_EQ(version->Int(0, 0) / 10000, 15);
  auto unix_socket = pg::Connection::Open((*server)->SocketUrl());
  ASSERT_THAT(unix_socket, IsOk());

  server->reset();
  struct stat st {};
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " is still there";
  EXPECT_THAT(pg::Connection::Open(url), IsError(ErrorCode::kUnavailable));
}

}  // namespace
}  // namespace warden::jobs
