// `warden serve` and the host: what a tenant (an API key's holder) can learn of where its jobs
// run, from the API and from inside the sandbox, and what other users of the host can read of
// the service's files. The real binary on loopback, real sandboxes.
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serve_fixture.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTenantKey[] = "tenant-key-0b5e8c3f7a21d964";
// The host uid of the sandbox user when Warden runs as root (SupervisorOptions).
constexpr uid_t kSandboxHostUid = 2'100'001'000;

// What a step prints of the sandbox's own view of the host: its mounts and its cgroups.
constexpr char kShowHost[] =
    "cat /proc/self/mountinfo; echo ---; cat /proc/self/mounts; echo ---; cat /proc/self/cgroup; "
    "echo ---; cat /proc/self/mountstats; mkdir made && echo data > made/file";

struct FileMode {
  int mode = -1;  // permission bits; -1: missing
  uid_t uid = 0;
};

FileMode ModeOf(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return {};
  }
  return {static_cast<int>(st.st_mode & 07777), st.st_uid};
}

class ServeIsolationTest : public ServeTest {
 protected:
  // The server with one API key: every request made through the helpers below is a tenant's.
  void StartWithKey() {
    WriteConfig(fmt::format("[[api.keys]]\nid = \"tenant\"\nkey = \"{}\"\n", kTenantKey));
    Start();
  }

  static std::string Auth() { return fmt::format("Authorization: Bearer {}\r\n", kTenantKey); }
  HttpResponse TenantGet(const std::string& target) { return client().Get(target, Auth()); }
  HttpResponse TenantPost(const std::string& target, const std::string& body) {
    return client().Raw(
        fmt::format("POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Content-Type: application/json\r\n"
                    "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                    target, Auth(), body.size(), body));
  }
  // The job's whole event stream, which ends with the job.
  HttpResponse TenantEventStream(const std::string& id) {
    return client().Raw(fmt::format("GET /v1/jobs/{}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    "Accept: text/event-stream\r\n{}Connection: close\r\n\r\n",
                                    id, Auth()),
                        milliseconds(30'000));
  }

  // What the host must not show a tenant: the data directory (every workspace path starts with
  // it), the server's pid as a run's cgroup name carries it, and "warden".
  std::vector<std::string> HostDetails() {
    return {data_dir(), fmt::format("-{}-", server().pid()), "warden"};
  }
  void ExpectNoHostDetails(const std::string& what, const std::string& text) {
    for (const std::string& detail : HostDetails()) {
      EXPECT_THAT(text, Not(HasSubstr(detail))) << what << " shows " << detail;
    }
  }
};

TEST_F(ServeIsolationTest, ATenantSeesNeitherHostPathsNorTheServerProcess) {
  ASSERT_NO_FATAL_FAILURE(StartWithKey());
  HttpResponse submitted = TenantPost("/v1/jobs", json::serialize(StepsJob({Shell(kShowHost)})));
  ASSERT_EQ(submitted.status, 201) << submitted.Describe();
  const std::string id = Str(submitted.Json(), "id");
  HttpResponse stream = TenantEventStream(id);
  ASSERT_EQ(stream.status, 200) << stream.Describe();
  ASSERT_THAT(stream.body, HasSubstr(R"("state":"succeeded")")) << server().Describe();

  // The API: the job as submitted, read, listed and streamed.
  HttpResponse job = TenantGet("/v1/jobs/" + id);
  ASSERT_EQ(job.status, 200) << job.Describe();
  for (const auto& [what, body] : std::vector<std::pair<std::string, std::string>>{
           {"POST /v1/jobs", submitted.body},
           {"GET /v1/jobs/{id}", job.body},
           {"GET /v1/jobs", TenantGet("/v1/jobs").body},
           {"events", TenantGet("/v1/jobs/" + id + "/events").body},
           {"the event stream", stream.body}}) {
    ExpectNoHostDetails(what, body);
    EXPECT_THAT(body, Not(HasSubstr(R"("workspace")"))) << what;
    EXPECT_THAT(body, Not(HasSubstr(R"("worker")"))) << what;
  }

  // The sandbox: its mounts and cgroups name nothing of the host, not even the job.
  HttpResponse logs = TenantGet("/v1/jobs/" + id + "/logs");
  ASSERT_EQ(logs.status, 200) << logs.Describe();
  const std::string& seen = logs.body;
  ASSERT_THAT(seen, HasSubstr(" /workspace ")) << seen;
  ExpectNoHostDetails("inside the sandbox", seen);
  EXPECT_THAT(seen, Not(HasSubstr(id))) << seen;
  std::string cgroups = seen.substr(seen.find("---\n", seen.find("---\n") + 4) + 4);
  cgroups = cgroups.substr(0, cgroups.find("---\n"));
  ASSERT_THAT(cgroups, HasSubstr(":memory:")) << seen;
  for (size_t start = 0, end; start < cgroups.size(); start = end + 1) {
    end = cgroups.find('\n', start);
    std::string line = cgroups.substr(start, end - start);
    EXPECT_TRUE(line.ends_with(":/")) << "a cgroup path of the host: " << line;
  }
}

TEST_F(ServeIsolationTest, TheOperatorStillSeesWhereAJobRan) {
  ASSERT_NO_FATAL_FAILURE(Start());  // no keys: whoever reaches the server is the operator
  json::object job = Submit(StepsJob({Shell("true")}));
  job = WaitForState(Str(job, "id"), "succeeded");
  EXPECT_EQ(Str(job, "workspace"), data_dir() + "/workspaces/" + Str(job, "id"));
  EXPECT_THAT(Str(job, "worker"), HasSubstr(fmt::format("-{}-", server().pid())));
}

TEST_F(ServeIsolationTest, TheDatabaseAndWorkspacesArePrivateOnTheHost) {
  ASSERT_NO_FATAL_FAILURE(Start());
  json::object job = Submit(StepsJob({Shell(kShowHost)}));
  job = WaitForState(Str(job, "id"), "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job);
  const std::string workspace = Str(job, "workspace");
  const uid_t sandbox_uid = ::geteuid() == 0 ? kSandboxHostUid : ::geteuid();

  EXPECT_EQ(ModeOf(data_dir()).mode, 0700);
  for (const char* file : {"/warden.db", "/warden.db-wal", "/warden.db-shm"}) {
    EXPECT_EQ(ModeOf(data_dir() + file).mode, 0600) << file;
  }
  FileMode workspaces = ModeOf(data_dir() + "/workspaces");
  EXPECT_EQ(workspaces.mode, 0700);
  EXPECT_EQ(workspaces.uid, sandbox_uid);
  FileMode own = ModeOf(workspace);
  EXPECT_EQ(own.mode, 0700) << workspace;
  EXPECT_EQ(own.uid, sandbox_uid);
  // What the program made: private by default (umask 077).
  EXPECT_EQ(ModeOf(workspace + "/made").mode, 0700);
  EXPECT_EQ(ModeOf(workspace + "/made/file").mode, 0600);
  EXPECT_EQ(ModeOf(workspace + "/made/file").uid, sandbox_uid);
}

}  // namespace
}  // namespace warden::serve_test
