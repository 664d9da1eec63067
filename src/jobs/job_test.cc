// The JSON shapes of jobs, events and sessions, as the operator and as a tenant see them.
#include "jobs/job.h"

#include <gtest/gtest.h>

namespace warden::jobs {
namespace {

Job RanJob() {
  Job job;
  job.id = "j_01jdzq3v1a2b3c4d5e6f7g8h9j";
  job.owner = "alice";
  job.worker = "worker-4242-0";
  job.workspace = "/var/lib/warden/workspaces/j_01jdzq3v1a2b3c4d5e6f7g8h9j";
  return job;
}

TEST(JobJsonTest, TheOperatorSeesWhereAJobRuns) {
  json::object out = ToJson(RanJob(), Viewer::kOperator);
  EXPECT_EQ(out.at("workspace"), json::value(RanJob().workspace));
  EXPECT_EQ(out.at("worker"), json::value("worker-4242-0"));
}

TEST(JobJsonTest, ATenantSeesNeitherTheHostPathNorTheServerProcess) {
  json::object out = ToJson(RanJob(), Viewer::kTenant);
  EXPECT_FALSE(out.contains("workspace")) << json::serialize(out);
  EXPECT_FALSE(out.contains("worker")) << json::serialize(out);
  EXPECT_EQ(out.at("id"), json::value(RanJob().id));
  EXPECT_EQ(out.at("owner"), json::value("alice"));
}

TEST(JobJsonTest, ASessionsWorkspaceIsShownToTheOperatorAlone) {
  Session session{"s_01jdzq3v1a2b3c4d5e6f7g8h9j", "alice", 1, "/data/workspaces/s_x"};
  EXPECT_EQ(ToJson(session, Viewer::kOperator).at("workspace"),
            json::value("/data/workspaces/s_x"));
  EXPECT_FALSE(ToJson(session, Viewer::kTenant).contains("workspace"));
}

TEST(JobJsonTest, AStateEventNeverShowsTheWorker) {
  Event claimed{2,
                7,
                std::string(kStateEventType),
                {{"state", "running"}, {"reason", "claimed"}, {"worker", "worker-4242-0"}}};
  EXPECT_EQ(ToJson(claimed).at("data"),
            json::value(json::object{{"state", "running"}, {"reason", "claimed"}}));
  Event output{3, 8, "output", {{"worker", "a word the program printed"}}};
  EXPECT_EQ(ToJson(output).at("data"), json::value(output.data));  // only state events carry it
}

TEST(JobJsonTest, KeyHoldersAreTenantsAndAnOpenServerIsTheOperator) {
  EXPECT_EQ(ViewerFor(kAnyOwner), Viewer::kOperator);
  EXPECT_EQ(ViewerFor("alice"), Viewer::kTenant);
}

}  // namespace
}  // namespace warden::jobs
