// `warden run` over the user's own files: --input copies files into the task's workspace,
// --ro-bind shows a directory read-only to every action, and a workspace the sandbox user cannot
// write is refused saying what would do.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent_run_util.h"

namespace warden::agent_run {
namespace {

using ::testing::HasSubstr;

// The README's example, as written there: the model counts the words of the file it was given.
TEST_F(AgentRunTest, InputFilesAreCopiedIntoTheWorkspaceAsTheReadmeShows) {
  hostile::HostDir mine("agent-run-input-");
  hostile::WriteFile(mine / "README.md", "one two three four five\nsix seven\n", 0600);
  std::filesystem::create_directory(mine / "notes");
  hostile::WriteFile(mine / "notes/a.txt", "alpha\n", 0600);
  FakeLlm fake(Wire::kOpenAi);
  fake.Script({ToolCallReply("run_shell", R"({"command": "wc -w README.md; cat notes/a.txt"})"),
               ToolCallReply("finish", R"({"summary": "README.md has 7 words"})")});

  Finished r = Run(fake, Wire::kOpenAi,
                   {"--no-plan", "--input", mine / "README.md", "--input", mine / "notes"},
                   "count the words in README.md");

  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Str(Final(r), "reason"), "finished");
  EXPECT_EQ(StdoutOf(r, 1), "7 README.md\nalpha\n") << r.Describe();
  // Copies: the agent may change them, the user's own files stay as they were.
  EXPECT_EQ(WorkspaceFile("README.md"), "one two three four five\nsix seven\n");
  EXPECT_EQ(WorkspaceFile("notes/a.txt"), "alpha\n");
}

TEST_F(AgentRunTest, AnInputThatIsMissingOrClashesStopsBeforeTheModelIsAsked) {
  hostile::HostDir mine("agent-run-input-");
  std::filesystem::create_directory(mine / "b");
  hostile::WriteFile(mine / "a.txt", "a\n");
  hostile::WriteFile(mine / "b/a.txt", "b\n");
  FakeLlm fake(Wire::kOpenAi);

  Finished missing = Run(fake, Wire::kOpenAi, {"--input", mine / "nope.txt"}, "read it");
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
  EXPECT_THAT(missing.err, HasSubstr("--input " + (mine / "nope.txt") + ": no such file"));

  Finished clash =
      Run(fake, Wire::kOpenAi, {"--input", mine / "a.txt", "--input", mine / "b/a.txt"}, "read");
  EXPECT_EQ(clash.exit_code, 2) << clash.Describe();
  EXPECT_THAT(clash.err, HasSubstr("another input is also named a.txt"));
  EXPECT_TRUE(fake.ChatBodies().empty());
}

TEST_F(AgentRunTest, ReadOnlyBindsAreVisibleToEveryActionAndNamedToTheModel) {
  hostile::HostDir data("agent-run-data-");
  hostile::WriteFile(data / "numbers.txt", "4\n5\n");
  FakeLlm fake(Wire::kOpenAi);
  fake.Script(
      {ToolCallReply("run_shell", R"({"command": "cp /data/numbers.txt copy.txt"})"),
       ToolCallReply("run_shell",
                     R"({"command": "touch /data/new 2>/dev/null || echo refused > ro.txt"})"),
       ToolCallReply("finish", R"({"summary": "copied"})")});

  Finished r = Run(fake, Wire::kOpenAi, {"--no-plan", "--ro-bind", data.path() + ":/data"},
                   "copy the numbers");

  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(WorkspaceFile("copy.txt"), "4\n5\n");
  EXPECT_EQ(WorkspaceFile("ro.txt"), "refused\n");
  EXPECT_FALSE(std::filesystem::exists(data / "new"));
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_FALSE(bodies.empty());
  EXPECT_TRUE(Says(bodies[0], {"copy the numbers", "Read-only, from the user: /data"}))
      << json::serialize(bodies[0]);
}

// Root's own directory, as `sudo warden run --workspace .` gives it: mounted idmapped, so that
// the agent reads and writes root's files as its own, and what it writes stays root's on the host.
TEST_F(AgentRunTest, ARootOwnedWorkspaceIsIdmappedAndItsFilesStayRoots) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "as root only: otherwise sandboxes run as the caller";
  }
  hostile::HostDir parent("agent-run-owned-");
  std::string owned = parent / "owned";
  ASSERT_EQ(::mkdir(owned.c_str(), 0755), 0);  // root's, not writable by others
  hostile::WriteFile(owned + "/README.md", "one two three\n");
  ASSERT_EQ(::chmod((owned + "/README.md").c_str(), 0644), 0);
  FakeLlm fake(Wire::kOpenAi);
  fake.Script(
      {ToolCallReply("run_shell",
                     R"({"command": "wc -w < README.md > count.txt; echo four >> README.md; )"
                     R"(stat -c %u README.md > owner.txt; cp /bin/sh sh2; )"
                     R"(chmod 4755 sh2 2> chmod.txt"})"),
       ToolCallReply("finish", R"({"summary": "3 words"})")});

  std::vector<std::string> args =
      RunArgs(fake, Wire::kOpenAi, {"--no-plan"}, "count the words in README.md");
  auto flag = std::find(args.begin(), args.end(), "--workspace");
  ASSERT_NE(flag, args.end());
  *(flag + 1) = owned;
  Finished r = RunWarden(args, Env());

  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(hostile::ReadFile(owned + "/count.txt"), "3\n");
  EXPECT_EQ(hostile::ReadFile(owned + "/README.md"), "one two three\nfour\n");
  // Inside, root's file was the sandbox user's own (uid 1000)...
  EXPECT_EQ(hostile::ReadFile(owned + "/owner.txt"), "1000\n");
  // ...and on the host, what it wrote is root's, as the rest of the directory.
  struct stat st {};
  ASSERT_EQ(::stat((owned + "/count.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_gid, 0U);
  ASSERT_EQ(::stat((owned + "/README.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U);
  // Root's now, a copy of a shell never became set-user-ID root on the host.
  ASSERT_EQ(::stat((owned + "/sh2").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0U);
  EXPECT_THAT(hostile::ReadFile(owned + "/chmod.txt"), HasSubstr("Operation not permitted"));
}

}  // namespace
}  // namespace warden::agent_run
