// Users' files in and out of `warden serve`, end to end: input files carried by a job or a
// session's message, uploads into a session's workspace, and a session's files downloaded (the API
// and `warden download s_...`). One server (two API keys, the fake LLM, --max-upload 64K) for the
// whole binary: its tests use sessions and jobs of their own.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/base64.h"
#include "base/json.h"
#include "fake_llm.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAlice[] = "alice-key-5f0c2e9a41b7d3c8";
constexpr char kBob[] = "bob-key-91d4e7a02c6b58f3";

// Requests on connections of their own, presenting one key.
class KeyClient {
 public:
  KeyClient(uint16_t port, std::string_view key)
      : http_(port), auth_(fmt::format("Authorization: Bearer {}\r\n", key)) {}

  HttpResponse Get(const std::string& target) const { return http_.Get(target, auth_); }
  HttpResponse Send(std::string_view method, const std::string& target,
                    std::string_view body) const {
    return http_.Raw(fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Content-Length: {}\r\n"
                                 "Connection: close\r\n\r\n{}",
                                 method, target, auth_, body.size(), body),
                     milliseconds(70'000));
  }
  HttpResponse Post(const std::string& target, const json::value& body) const {
    return Send("POST", target, json::serialize(body));
  }
  HttpResponse Put(const std::string& target, std::string_view body) const {
    return Send("PUT", target, body);
  }

 private:
  HttpClient http_;
  std::string auth_;
};

class FilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("warden-files-test-");
    fake_ = new testing::FakeLlm(testing::Wire::kOpenAi);
    std::filesystem::create_directory(*dir_ / "home");
    WriteFile(*dir_ / "config.toml",
              fmt::format("[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\n"
                          "model = \"fake-model\"\nretry_base_ms = 20\nmax_retries = 1\n",
                          fake_->BaseUrl()));
    server_ =
        new ServeProcess({"--data-dir", *dir_ / "data", "--max-upload", "64K"},
                         {"HOME=" + (*dir_ / "home"), "WARDEN_CONFIG=" + (*dir_ / "config.toml"),
                          fmt::format("WARDEN_API_KEYS=alice:{},bob:{}", kAlice, kBob)},
                         *dir_ / "serve.log");
  }
  static void TearDownTestSuite() {
    if (server_->pid() > 0) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Describe();
    }
    delete server_;
    delete fake_;
    delete dir_;
  }

  void SetUp() override { ASSERT_NE(server_->port(), 0) << server_->Describe(); }

  // The environment of a `warden` client verb acting as alice.
  static std::vector<std::string> Env() {
    return {fmt::format("WARDEN_SERVER=http://127.0.0.1:{}", server_->port()),
            fmt::format("WARDEN_API_KEY={}", kAlice), "HOME=" + (*dir_ / "home")};
  }

  KeyClient alice() const { return KeyClient(server_->port(), kAlice); }
  KeyClient bob() const { return KeyClient(server_->port(), kBob); }

  std::string NewSession() const {
    HttpResponse created = alice().Send("POST", "/v1/sessions", "");
    EXPECT_EQ(created.status, 201) << created.Describe();
    return Str(created.Json(), "id");
  }

  // Sends `body` as a message to `session` and waits for its reply; the answer.
  json::object Say(const std::string& session, json::object body) const {
    HttpResponse said =
        alice().Post(fmt::format("/v1/sessions/{}/messages?wait=60", session), body);
    EXPECT_EQ(said.status, 201) << said.Describe() << server_->Describe();
    return said.Json();
  }

  // Polls job `id` until it is in `state` or has ended.
  json::object WaitFor(const std::string& id, std::string_view state) const {
    json::object job;
    for (Deadline deadline = After(milliseconds(30'000));
         std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(milliseconds(50))) {  // nothing to wait on but the API
      job = alice().Get("/v1/jobs/" + id).Json();
      std::string now = Str(job, "state");
      if (now == state || now == "succeeded" || now == "failed" || now == "cancelled") {
        break;
      }
    }
    return job;
  }

  // The files of `archive` (a zip or tar.gz), unpacked by unzip or tar: path -> content.
  static std::map<std::string, std::string> Unpack(const std::string& archive,
                                                   std::string_view format) {
    static int count = 0;
    std::string into = *dir_ / fmt::format("unpack-{}", count++);
    std::string file = into + "." + std::string(format);
    std::filesystem::create_directory(into);
    WriteFile(file, archive);
    std::string command = format == "zip" ? fmt::format("unzip -q '{}' -d '{}'", file, into)
                                          : fmt::format("tar xzf '{}' -C '{}'", file, into);
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::map<std::string, std::string> entries;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(into)) {
      if (entry.is_regular_file()) {
        entries[std::filesystem::relative(entry.path(), into).string()] = ReadFile(entry.path());
      }
    }
    return entries;
  }

  static TempDir* dir_;
  static testing::FakeLlm* fake_;
  static ServeProcess* server_;
};

TempDir* FilesTest::dir_ = nullptr;
testing::FakeLlm* FilesTest::fake_ = nullptr;
ServeProcess* FilesTest::server_ = nullptr;

TEST_F(FilesTest, AStepsJobReadsItsInputFilesGivenAsTextAndAsBase64) {
  json::object body =
      StepsJob({Shell("cat data/in.csv; od -An -tx1 bin/blob; stat -c %a data/in.csv; echo 3,4 >> "
                      "data/in.csv")});
  body["files"] =
      json::array{json::object{{"path", "data/in.csv"}, {"content", "a,b\n1,2\n"}},
                  json::object{{"path", "bin/blob"},
                               {"base64", Base64Encode(std::string("\x00\x01\xffhi", 5))}}};
  HttpResponse submitted = alice().Post("/v1/jobs", body);
  ASSERT_EQ(submitted.status, 201) << submitted.Describe();
  std::string id = Str(submitted.Json(), "id");
  // Listings show the files by path and size, not their contents.
  json::array listed = Arr(Obj(submitted.Json(), "input"), "files");
  ASSERT_EQ(listed.size(), 2U) << submitted.body;
  EXPECT_EQ(json::serialize(listed[1]), R"({"path":"bin/blob","size":5})");

  json::object job = WaitFor(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job) << server_->Describe();
  // The step read both files, the file was 0644, and the sandbox user could append to it.
  EXPECT_EQ(alice().Get("/v1/jobs/" + id + "/logs").body, "a,b\n1,2\n 00 01 ff 68 69\n644\n");
  EXPECT_EQ(alice().Get("/v1/jobs/" + id + "/files/data/in.csv").body, "a,b\n1,2\n3,4\n");
}

TEST_F(FilesTest, EachBadFilesEntryIsA400NamingItAndCreatesNoJob) {
  auto file = [](std::string path) {
    return json::value(json::object{{"path", std::move(path)}, {"content", "x"}});
  };
  json::array too_many;
  for (int i = 0; i < 1001; ++i) {
    too_many.push_back(file(fmt::format("f{}", i)));
  }
  struct Case {
    json::array files;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{file("ok.txt"), file("/etc/passwd")}, "files[1].path \"/etc/passwd\" is absolute"},
      {{file("a/../../x")}, "files[0].path \"a/../../x\" goes up with \"..\""},
      {{file("a.txt"), file("b.txt"), file("a.txt")}, "files[2].path \"a.txt\" is given twice"},
      {{json::object{{"path", "x.bin"}, {"base64", "not base64!"}}}, "files[0].base64 must be"},
      {{json::object{{"path", "x.bin"}}}, "files[0] must have either \"content\""},
      {too_many, "at most 1000 files, not 1001"},
  };
  size_t jobs_before = Arr(alice().Get("/v1/jobs?limit=1000").Json(), "jobs").size();
  for (const Case& c : cases) {
    json::object body = StepsJob({Shell("true")});
    body["files"] = c.files;
    HttpResponse refused = alice().Post("/v1/jobs", body);
    EXPECT_EQ(refused.status, 400) << refused.Describe();
    EXPECT_EQ(refused.ErrorCode(), "invalid_job");
    EXPECT_THAT(Str(Obj(refused.Json(), "error"), "message"), HasSubstr(c.expected));
  }
  EXPECT_EQ(Arr(alice().Get("/v1/jobs?limit=1000").Json(), "jobs").size(), jobs_before);
}

TEST_F(FilesTest, AnUploadAndAMessagesFilesAreReadByTheMessagesJob) {
  std::string session = NewSession();
  std::string todo = "buy milk\n";
  HttpResponse put =
      alice().Put(fmt::format("/v1/sessions/{}/files/notes/todo.txt", session), todo);
  ASSERT_EQ(put.status, 201) << put.Describe();
  EXPECT_EQ(Str(put.Json(), "path"), "notes/todo.txt");
  EXPECT_EQ(Int(put.Json(), "size"), 9);
  EXPECT_EQ(Str(put.Json(), "sha256"), Sha256Sum(dir_->path(), todo));

  fake_->Script(
      {testing::TextReply("1. Read both"),
       testing::ToolCallReply("run_shell", R"({"command": "cat notes/todo.txt msg.txt"})"),
       testing::ToolCallReply("finish", R"({"summary": "read them"})")});
  size_t asked_before = fake_->ChatBodies().size();
  json::object answer = Say(
      session, json::object{{"message", "read my files"},
                            {"files", json::array{json::object{{"path", "msg.txt"},
                                                               {"content", "from message\n"}}}}});
  std::string job = Str(Obj(answer, "job"), "id");
  ASSERT_EQ(Str(Obj(answer, "reply"), "state"), "succeeded") << json::serialize(answer);
  EXPECT_EQ(alice().Get("/v1/jobs/" + job + "/logs").body, "buy milk\nfrom message\n");
  // The model was told of the message's file.
  std::vector<json::value> asked = fake_->ChatBodies();
  ASSERT_GT(asked.size(), asked_before);
  EXPECT_THAT(json::serialize(asked[asked_before]), HasSubstr("msg.txt (13 bytes)"));
}

TEST_F(FilesTest, NothingIsWrittenThroughASymlinkAnEarlierTurnMade) {
  std::string outside = *dir_ / "outside";
  std::filesystem::create_directory(outside);
  WriteFile(outside + "/secret", "untouched");
  std::string session = NewSession();
  fake_->Script({testing::TextReply("1. Link"),
                 testing::ToolCallReply(
                     "run_shell",
                     json::serialize(json::object{
                         {"command", fmt::format("ln -s {0} x && ln -s {0}/secret s", outside)}})),
                 testing::ToolCallReply("finish", R"({"summary": "linked"})")});
  ASSERT_EQ(Str(Obj(Say(session, {{"message", "make links"}}), "reply"), "state"), "succeeded");

  for (std::string path : {"x/secret", "x/new.txt", "s", "x"}) {
    HttpResponse put = alice().Put(fmt::format("/v1/sessions/{}/files/{}", session, path), "evil");
    EXPECT_EQ(put.status, 400) << path << ": " << put.Describe();
    EXPECT_EQ(put.ErrorCode(), "invalid_path") << path;
    EXPECT_THAT(put.body, HasSubstr("symbolic link")) << path;
  }
  // A message's files go the same way: its job fails, naming the file, before any action.
  size_t asked_before = fake_->ChatBodies().size();
  HttpResponse said = alice().Post(
      fmt::format("/v1/sessions/{}/messages?wait=60", session),
      json::object{
          {"message", "use this"},
          {"files", json::array{json::object{{"path", "x/secret"}, {"content", "evil"}}}}});
  ASSERT_EQ(said.status, 201) << said.Describe();
  json::object job = Obj(said.Json(), "job");
  EXPECT_EQ(Str(job, "state"), "failed") << said.body;
  EXPECT_EQ(Str(job, "reason"), "input_files");
  EXPECT_THAT(Str(job, "summary"), HasSubstr("input file \"x/secret\""));
  EXPECT_THAT(Str(job, "summary"), HasSubstr("symbolic link"));
  EXPECT_EQ(fake_->ChatBodies().size(), asked_before);  // the model was never asked

  EXPECT_EQ(ReadFile(outside + "/secret"), "untouched");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(outside),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(FilesTest, AnUploadPastTheCapIs413AndItsPathIsCheckedAsAJobsFilesAre) {
  std::string session = NewSession();
  // Before anything is written, there is nothing to get; the host's paths are not named.
  for (std::string target : {"/files/none.txt", "/archive"}) {
    HttpResponse none = alice().Get(fmt::format("/v1/sessions/{}{}", session, target));
    EXPECT_EQ(none.status, 404) << none.Describe();
    EXPECT_THAT(none.body, Not(HasSubstr(dir_->path()))) << target;
  }
  EXPECT_EQ(Arr(alice().Get(fmt::format("/v1/sessions/{}/files", session)).Json(), "files").size(),
            0U);
  HttpResponse big = alice().Put(fmt::format("/v1/sessions/{}/files/big.bin", session),
                                 std::string(64 * 1024 + 1, 'x'));
  EXPECT_EQ(big.status, 413) << big.Describe();
  EXPECT_THAT(big.body, HasSubstr("--max-upload"));
  HttpResponse fits = alice().Put(fmt::format("/v1/sessions/{}/files/big.bin", session),
                                  std::string(64 * 1024, 'x'));
  EXPECT_EQ(fits.status, 201) << fits.Describe();
  HttpResponse up =
      alice().Put(fmt::format("/v1/sessions/{}/files/a/%2E%2E/%2E%2E/x", session), "x");
  EXPECT_EQ(up.status, 400) << up.Describe();
  HttpResponse empty = alice().Put(fmt::format("/v1/sessions/{}/files/a%2F%2Fb", session), "x");
  EXPECT_EQ(empty.status, 400) << empty.Describe();
  EXPECT_THAT(empty.body, HasSubstr("has an empty segment"));
}

TEST_F(FilesTest, AnUploadWhileTheSessionsJobRunsIs409) {
  std::string session = NewSession();
  fake_->Script({testing::TextReply("1. Wait"),
                 testing::ToolCallReply("run_shell", R"({"command": "sleep 60"})")});
  HttpResponse said = alice().Post(fmt::format("/v1/sessions/{}/messages", session),
                                   json::object{{"message", "wait a minute"}});
  ASSERT_EQ(said.status, 201) << said.Describe();
  std::string job = Str(Obj(said.Json(), "job"), "id");
  ASSERT_EQ(Str(WaitFor(job, "running"), "state"), "running");

  HttpResponse busy = alice().Put(fmt::format("/v1/sessions/{}/files/late.txt", session), "late");
  EXPECT_EQ(busy.status, 409) << busy.Describe();
  EXPECT_EQ(busy.ErrorCode(), "session_busy");
  EXPECT_THAT(busy.body, HasSubstr(job));
  EXPECT_THAT(busy.body, HasSubstr("so that a turn's files stay what it saw"));

  ASSERT_EQ(alice().Send("POST", "/v1/jobs/" + job + "/cancel", "").status, 202);
  ASSERT_EQ(Str(WaitFor(job, "cancelled"), "state"), "cancelled");
  EXPECT_EQ(alice().Put(fmt::format("/v1/sessions/{}/files/late.txt", session), "late").status,
            201);
}

TEST_F(FilesTest, ASessionsFilesAreListedAndDownloadedByItsOwnerAlone) {
  std::string session = NewSession();
  std::map<std::string, std::string> files = {{"report.md", "# Report\n"},
                                              {"data/deep/values.csv", "1,2,3\n"}};
  ASSERT_EQ(
      alice().Put(fmt::format("/v1/sessions/{}/files/report.md", session), "# Report\n").status,
      201);
  // `warden upload` puts a local file where --as says.
  std::string local = *dir_ / "values.csv";
  WriteFile(local, "1,2,3\n");
  Exit uploaded = RunWarden({"upload", session, local, "--as", "data/deep/values.csv"}, Env());
  ASSERT_EQ(uploaded.code, 0) << uploaded.err;
  EXPECT_THAT(uploaded.err, HasSubstr("data/deep/values.csv (6 bytes, sha256 "));
  HttpResponse listed = alice().Get(fmt::format("/v1/sessions/{}/files", session));
  ASSERT_EQ(listed.status, 200) << listed.Describe();
  json::array entries = Arr(listed.Json(), "files");
  ASSERT_EQ(entries.size(), 2U) << listed.body;
  EXPECT_EQ(Str(entries[0].get_object(), "path"), "data/deep/values.csv");
  EXPECT_EQ(Int(entries[0].get_object(), "size"), 6);
  EXPECT_EQ(alice().Get(fmt::format("/v1/sessions/{}/files/report.md", session)).body,
            "# Report\n");
  HttpResponse zip = alice().Get(fmt::format("/v1/sessions/{}/archive", session));
  ASSERT_EQ(zip.status, 200) << zip.Describe();
  EXPECT_EQ(Unpack(zip.body, "zip"), files);

  // `warden download` takes a session's id as well as a job's.
  std::string out = *dir_ / "session.tar.gz";
  Exit downloaded = RunWarden({"download", session, "-o", out}, Env());
  ASSERT_EQ(downloaded.code, 0) << downloaded.err;
  EXPECT_EQ(Unpack(ReadFile(out), "tar.gz"), files);

  // Another key's session does not exist for it.
  EXPECT_EQ(bob().Put(fmt::format("/v1/sessions/{}/files/x.txt", session), "x").status, 404);
  EXPECT_EQ(bob().Get(fmt::format("/v1/sessions/{}/files", session)).status, 404);
  EXPECT_EQ(bob().Get(fmt::format("/v1/sessions/{}/files/report.md", session)).status, 404);
  EXPECT_EQ(bob().Get(fmt::format("/v1/sessions/{}/archive", session)).status, 404);
  EXPECT_EQ(alice().Get(fmt::format("/v1/sessions/{}/files", session)).Json(), listed.Json());
}

TEST_F(FilesTest, WardenChatUploadsItsInputFilesBeforeTheFirstMessage) {
  std::string local = *dir_ / "words.txt";
  WriteFile(local, "one two three\n");
  fake_->Script({testing::TextReply("1. Count"),
                 testing::ToolCallReply("run_shell", R"({"command": "wc -w < words.txt"})"),
                 testing::ToolCallReply("finish", R"({"summary": "three words"})")});
  Exit chat = RunWarden({"chat", "--input", local, "-m", "count the words in words.txt"}, Env(),
                        milliseconds(60'000));
  EXPECT_EQ(chat.code, 0) << chat.out << chat.err;
  EXPECT_THAT(chat.err, HasSubstr("uploaded " + local + " → words.txt (14 bytes"));
  EXPECT_THAT(chat.out, HasSubstr("3\n"));
  EXPECT_THAT(chat.out, HasSubstr("three words"));
}

}  // namespace
}  // namespace warden::serve_test
