// The sandbox tools over a real supervisor: real sandboxes, real workspaces.
#include "mcp/sandbox_tools.h"

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "base/sha256.h"
#include "sys/fs.h"

namespace warden::mcp {
namespace {

class SandboxToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-mcp-test-");
    ASSERT_TRUE(dir.ok()) << dir.error().ToString();
    dir_.emplace(std::move(dir).value());
    sandbox::SupervisorOptions supervisor_options;
    PoolOptions pool_options;
    pool_options.root = dir_->path() + "/sandboxes";
    pool_options.sandbox_uid = supervisor_options.root_sandbox_uid;
    pool_options.max_per_owner = 3;
    pool_options.idle_ttl = std::chrono::minutes(10);
    pool_options.sweep_thread = false;
    auto pool = SandboxPool::Create(pool_options);
    ASSERT_TRUE(pool.ok()) << pool.error().ToString();
    pool_ = std::move(pool).value();
    supervisor_options.workspace_root = pool_options.root;
    auto supervisor = sandbox::Supervisor::Create(supervisor_options);
    ASSERT_TRUE(supervisor.ok()) << supervisor.error().ToString();
    supervisor_ = std::move(supervisor).value();
    ToolOptions options;
    options.max_inline_bytes = 1000;
    tools_.emplace(*supervisor_, *pool_, options);
  }

  // Calls `tool` as `owner`; fails the test on a Result error.
  ToolResult Call(std::string_view tool, std::string_view arguments,
                  const std::string& owner = "alice") {
    auto result = TryCall(tool, arguments, owner);
    EXPECT_TRUE(result.ok()) << tool << ": " << result.error().ToString();
    return result.ok() ? std::move(result).value() : ToolResult{};
  }
  Result<ToolResult> TryCall(std::string_view tool, std::string_view arguments,
                             const std::string& owner = "alice") {
    CallContext context{owner, nullptr, [](double, std::optional<double>, std::string_view) {}, ""};
    return tools_->Call(tool, json::parse(arguments).as_object(), context);
  }
  static std::string Id(const ToolResult& result) {
    return std::string(result.structured.at("sandbox_id").as_string());
  }

  std::optional<sys::TempDir> dir_;
  std::unique_ptr<SandboxPool> pool_;
  std::unique_ptr<sandbox::Supervisor> supervisor_;
  std::optional<SandboxTools> tools_;
};

TEST_F(SandboxToolsTest, RunReturnsOutputExitCodeAndTheFilesItChangedWithTheirSha256) {
  ToolResult result = Call("sandbox_run", R"j({"code":
      "import sys\nopen('out.txt','w').write('hello')\nprint(6*7)\nsys.exit(3)"})j");
  const json::object& out = result.structured;
  EXPECT_FALSE(result.is_error);
  EXPECT_EQ(out.at("status").as_string(), "exited");
  EXPECT_EQ(out.at("exit_code").as_int64(), 3);
  EXPECT_EQ(out.at("stdout").as_string(), "42\n");
  ASSERT_EQ(out.at("changed_files").as_array().size(), 1u);
  const json::value& file = out.at("changed_files").at(0);
  EXPECT_EQ(file.at("path").as_string(), "out.txt");
  EXPECT_EQ(file.at("size").to_number<int64_t>(), 5);
  EXPECT_EQ(file.at("sha256").as_string(), Sha256Hex("hello"));
  std::string text(result.content.at(0).at("text").as_string());
  EXPECT_NE(text.find("exited with code 3"), std::string::npos) << text;
  EXPECT_NE(text.find(Id(result)), std::string::npos) << text;
}

TEST_F(SandboxToolsTest, FilesStayInASandboxAcrossCallsAndOnlyNewChangesAreReported) {
  std::string id = Id(Call("sandbox_run", R"({"language":"bash","code":"echo one > a.txt"})"));
  ToolResult second =
      Call("sandbox_run", R"({"sandbox_id":")" + id + R"(","command":["cat","a.txt"]})");
  EXPECT_EQ(second.structured.at("stdout").as_string(), "one\n");
  EXPECT_TRUE(second.structured.at("changed_files").as_array().empty());
  ToolResult third =
      Call("sandbox_run", R"({"sandbox_id":")" + id + R"(","command":["rm","a.txt"]})");
  EXPECT_EQ(third.structured.at("deleted_files").at(0).as_string(), "a.txt");
}

TEST_F(SandboxToolsTest, AFileWrittenIsSeenByRunsAndReadBackExactly) {
  ToolResult wrote =
      Call("sandbox_write_file", R"({"path":"/workspace/dir/in.txt","content":"héllo\n"})");
  std::string id = Id(wrote);
  EXPECT_EQ(wrote.structured.at("sha256").as_string(), Sha256Hex("héllo\n"));
  ToolResult ran =
      Call("sandbox_run", R"({"sandbox_id":")" + id + R"(","command":["cat","dir/in.txt"]})");
  EXPECT_EQ(ran.structured.at("stdout").as_string(), "héllo\n");
  ToolResult read =
      Call("sandbox_read_file", R"({"sandbox_id":")" + id + R"(","path":"dir/in.txt"})");
  EXPECT_EQ(read.structured.at("encoding").as_string(), "utf-8");
  EXPECT_EQ(read.structured.at("content").as_string(), "héllo\n");
  ToolResult listed = Call("sandbox_list_files", R"({"sandbox_id":")" + id + R"("})");
  EXPECT_EQ(listed.structured.at("files").at(0).at("path").as_string(), "dir/in.txt");
}

TEST_F(SandboxToolsTest, BinaryFilesRoundTripAsBase64) {
  // Bytes 0, 255, 1: not text.
  std::string id =
      Id(Call("sandbox_write_file", R"({"path":"b.bin","content":"AP8B","encoding":"base64"})"));
  ToolResult read = Call("sandbox_read_file", R"({"sandbox_id":")" + id + R"(","path":"b.bin"})");
  EXPECT_EQ(read.structured.at("encoding").as_string(), "base64");
  EXPECT_EQ(read.structured.at("content").as_string(), "AP8B");
  EXPECT_EQ(read.structured.at("size").to_number<int64_t>(), 3);
}

TEST_F(SandboxToolsTest, AFileLargerThanTheInlineCapIsReadInPieces) {
  std::string id = Id(Call("sandbox_run", R"j({"code":"open('big.txt','w').write('x'*2500)"})j"));
  ToolResult first =
      Call("sandbox_read_file", R"({"sandbox_id":")" + id + R"(","path":"big.txt"})");
  EXPECT_EQ(first.structured.at("content").as_string().size(), 1000u);
  EXPECT_TRUE(first.structured.at("truncated").as_bool());
  ToolResult last =
      Call("sandbox_read_file", R"({"sandbox_id":")" + id + R"(","path":"big.txt","offset":2000})");
  EXPECT_EQ(last.structured.at("content").as_string().size(), 500u);
  EXPECT_FALSE(last.structured.at("truncated").as_bool());
}

TEST_F(SandboxToolsTest, ASymlinkToAHostFileIsNotFollowedWhenReading) {
  std::string id = Id(Call("sandbox_run", R"({"command":["ln","-s","/etc/shadow","s"]})"));
  auto read = TryCall("sandbox_read_file", R"({"sandbox_id":")" + id + R"(","path":"s"})");
  EXPECT_FALSE(read.ok());
}

TEST_F(SandboxToolsTest, AnotherOwnerCannotSeeOrDestroyASandbox) {
  std::string id = Id(Call("sandbox_create", "{}"));
  auto other = TryCall("sandbox_list_files", R"({"sandbox_id":")" + id + R"("})", "mallory");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(TryCall("sandbox_destroy", R"({"sandbox_id":")" + id + R"("})", "mallory").ok());
  EXPECT_EQ(pool_->live(), 1u);
}

TEST_F(SandboxToolsTest, TheBoundOnLiveSandboxesHoldsPerOwnerWithoutStarvingOthers) {
  for (int i = 0; i < 3; ++i) {
    Call("sandbox_create", "{}");
  }
  auto fourth = TryCall("sandbox_create", "{}");
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(fourth.error().message().find("sandbox_destroy"), std::string::npos);
  EXPECT_TRUE(TryCall("sandbox_create", "{}", "bob").ok());
}

TEST_F(SandboxToolsTest, DestroyRemovesTheWorkspace) {
  std::string id = Id(Call("sandbox_write_file", R"({"path":"a","content":"x"})"));
  std::string workspace = pool_->options().root + "/" + id;
  struct stat st {};
  ASSERT_EQ(::stat(workspace.c_str(), &st), 0);
  Call("sandbox_destroy", R"({"sandbox_id":")" + id + R"("})");
  EXPECT_NE(::stat(workspace.c_str(), &st), 0);
  auto again = TryCall("sandbox_list_files", R"({"sandbox_id":")" + id + R"("})");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message().find("omit sandbox_id"), std::string::npos);
}

TEST_F(SandboxToolsTest, IdleSandboxesExpireAfterTheirTimeToLive) {
  std::string used = Id(Call("sandbox_create", "{}"));
  Call("sandbox_create", "{}");
  EXPECT_EQ(pool_->SweepIdle(Clock::now()), 0u);
  EXPECT_EQ(pool_->SweepIdle(Clock::now() + std::chrono::minutes(10)), 2u);
  EXPECT_EQ(pool_->live(), 0u);
  EXPECT_FALSE(TryCall("sandbox_list_files", R"({"sandbox_id":")" + used + R"("})").ok());
}

TEST_F(SandboxToolsTest, ALimitAboveTheServersIsRefusedNamingIt) {
  auto run = TryCall("sandbox_run", R"({"command":["true"],"memory":"64G"})");
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message().find("memory"), std::string::npos) << run.error().message();
  ToolResult slow = Call("sandbox_run", R"({"command":["sleep","5"],"timeout":"200ms"})");
  EXPECT_EQ(slow.structured.at("status").as_string(), "timeout");
}

TEST_F(SandboxToolsTest, BadArgumentsAreRefusedSayingWhatIsExpected) {
  auto unknown = TryCall("sandbox_run", R"({"cmd":["ls"]})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("command"), std::string::npos);
  EXPECT_FALSE(TryCall("sandbox_run", R"({"code":"1","command":["ls"]})").ok());
  EXPECT_FALSE(TryCall("sandbox_run", R"({"code":"1","language":"ruby"})").ok());
  auto outside = TryCall("sandbox_write_file", R"({"path":"/etc/passwd","content":""})");
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().message().find("outside /workspace"), std::string::npos);
  EXPECT_FALSE(TryCall("sandbox_write_file", R"({"path":"a/../../x","content":""})").ok());
  EXPECT_EQ(pool_->live(), 0u);  // nothing was created for refused calls
}

TEST_F(SandboxToolsTest, EveryToolIsDescribedWithSchemasAndAnnotations) {
  json::array tools = tools_->List();
  EXPECT_EQ(tools.size(), 6u);
  for (const json::value& tool : tools) {
    EXPECT_TRUE(tool.at("inputSchema").is_object()) << tool;
    EXPECT_TRUE(tool.at("annotations").at("readOnlyHint").is_bool()) << tool;
    EXPECT_FALSE(tool.at("description").as_string().empty()) << tool;
  }
}

}  // namespace
}  // namespace warden::mcp
