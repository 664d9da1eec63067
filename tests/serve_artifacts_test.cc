// `warden serve` end to end, for what a job leaves behind: the manifest taken once at the job's end
// within a hashing budget and served from the store, sparse files against the disk limit, file
// names that are not UTF-8, and a workspace too big to list.
#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/json.h"
#include "serve_fixture.h"
#include "serve_util.h"

namespace warden::serve_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kMiB = int64_t{1} << 20;

// The observation events of a job's steps, in order.
std::vector<json::object> Observations(const std::vector<json::object>& events) {
  std::vector<json::object> found;
  for (const json::object& event : events) {
    if (Str(event, "type") == "observation") {
      found.push_back(Obj(event, "data"));
    }
  }
  return found;
}

// The entry of `files` whose "path" is `path`, or an empty object.
json::object EntryOf(const json::array& files, std::string_view path) {
  for (const json::value& file : files) {
    if (file.is_object() && Str(file.get_object(), "path") == path) {
      return file.get_object();
    }
  }
  return {};
}

// `text` with every byte outside [A-Za-z0-9._-] percent-encoded, for a URL path.
std::string UrlEncoded(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '.' || c == '_' || c == '-') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

// Name -> content of every entry of `zip`, as Python's zipfile reads them. (unzip would rename a
// name that is not UTF-8 as it extracts it.) A name without the ZIP's UTF-8 flag is taken as its
// bytes, which zipfile hands over decoded as cp437, one character per byte.
std::map<std::string, std::string> ZipEntries(const std::string& scratch_dir,
                                              const std::string& zip) {
  std::string path = scratch_dir + "/entries.zip";
  WriteFile(path, zip);
  std::string command = fmt::format(
      "/usr/bin/python3 -c 'import sys, zipfile\n"
      "for i in zipfile.ZipFile(sys.argv[1]).infolist():\n"
      "  name = i.orig_filename.encode(\"utf-8\" if i.flag_bits & 0x800 else \"cp437\")\n"
      "  print(name.hex(), zipfile.ZipFile(sys.argv[1]).read(i).hex())' '{}'",
      path);
  std::string listing;
  if (FILE* pipe = ::popen(command.c_str(), "r"); pipe != nullptr) {
    char buffer[4096];
    while (size_t got = std::fread(buffer, 1, sizeof(buffer), pipe)) {
      listing.append(buffer, got);
    }
    EXPECT_EQ(::pclose(pipe), 0) << command;
  }
  auto unhex = [](std::string_view hex) {
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return bytes;
  };
  std::map<std::string, std::string> entries;
  std::istringstream lines(listing);
  for (std::string name, content; lines >> name;) {
    std::getline(lines, content);
    size_t start = content.find_first_not_of(' ');
    entries[unhex(name)] = start == std::string::npos ? "" : unhex(content.substr(start));
  }
  return entries;
}

TEST_F(ServeTest, SparseFilesCountAgainstTheDiskLimitByTheirApparentSize) {
  // A small hashing budget: the end of the job does not spend seconds hashing the holes left.
  WriteConfig("[artifacts]\nhash_budget = \"1M\"\n");
  ASSERT_NO_FATAL_FAILURE(Start());
  // 400 MB that take no disk blocks, against a disk limit of 256 MiB.
  json::object body =
      StepsJob({Shell("truncate -s 200M a.img && truncate -s 200M b.img"), Shell("echo never")});
  body["options"] = json::object{{"disk_limit", "256M"}};
  std::string id = Str(Submit(body), "id");
  json::object job = WaitForState(id, "failed");
  ASSERT_EQ(Str(job, "state"), "failed") << json::serialize(job);
  std::vector<json::object> observations = Observations(Events(id));
  ASSERT_EQ(observations.size(), 1u) << json::serialize(job);
  EXPECT_EQ(Str(observations[0], "outcome"), "disk_limit") << json::serialize(observations[0]);
}

TEST_F(ServeTest, TheManifestIsHashedOnceWithinItsBudgetAndListingsComeFromIt) {
  WriteConfig(
      "[llm]\nretry_base_ms = 20\nmax_retries = 1\n"
      "[artifacts]\nhash_budget = \"1M\"\nhash_time = \"60s\"\n");
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  // 200 MB of holes and one small file: the small one fits the 1 MiB budget, the others do not.
  std::string id = Str(Submit(StepsJob({Shell("printf small > small.txt && truncate -s 100M "
                                              "big1.img && truncate -s 100M big2.img")})),
                       "id");
  json::object job = WaitForState(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job);

  json::array stored = Arr(Obj(job, "result"), "files");
  ASSERT_EQ(stored.size(), 3u) << json::serialize(job);
  json::object small = EntryOf(stored, "small.txt");
  EXPECT_EQ(Int(small, "size"), 5);
  EXPECT_EQ(Str(small, "sha256"), Sha256Sum(dir().path(), "small"));
  EXPECT_FALSE(small.contains("sha256_skipped")) << json::serialize(small);
  for (std::string_view path : {"big1.img", "big2.img"}) {
    json::object big = EntryOf(stored, path);
    EXPECT_EQ(Int(big, "size"), 100 * kMiB) << path;
    ASSERT_TRUE(big.contains("sha256")) << json::serialize(big);
    EXPECT_TRUE(big.at("sha256").is_null()) << json::serialize(big);
    EXPECT_EQ(Str(big, "sha256_skipped"), "budget") << json::serialize(big);
  }

  // A file that appears after the end is not part of the job's manifest: the listing is the one
  // recorded at the end, not a new walk (nor a new hashing) of the workspace.
  WriteFile(data_dir() + "/workspaces/" + id + "/late.txt", "late\n");
  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  ASSERT_EQ(files.status, 200) << files.Describe();
  EXPECT_EQ(Arr(files.Json(), "files"), stored) << files.body;
  EXPECT_THAT(files.body, Not(HasSubstr("late.txt")));
  EXPECT_EQ(http.Get("/v1/jobs/" + id + "/files/small.txt").body, "small");
}

TEST_F(ServeTest, ListingARunningJobGivesSizesWithoutHashing) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  std::string id =
      Str(Submit(StepsJob({Shell("printf abc > early.txt && echo ready && exec sleep 60")})), "id");
  ASSERT_TRUE(WaitForEvent(id, "output", "ready", milliseconds(20'000))) << server().Describe();

  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  ASSERT_EQ(files.status, 200) << files.Describe();
  json::object early = EntryOf(Arr(files.Json(), "files"), "early.txt");
  EXPECT_EQ(Int(early, "size"), 3) << files.body;
  ASSERT_TRUE(early.contains("sha256")) << files.body;
  EXPECT_TRUE(early.at("sha256").is_null()) << files.body;
  EXPECT_EQ(Str(early, "sha256_skipped"), "live") << files.body;

  EXPECT_EQ(http.Post("/v1/jobs/" + id + "/cancel", "").status, 202);
  EXPECT_EQ(Str(WaitForState(id, "cancelled"), "state"), "cancelled");
  // Its end records the manifest, hashed.
  HttpResponse ended = http.Get("/v1/jobs/" + id + "/files");
  EXPECT_EQ(Str(EntryOf(Arr(ended.Json(), "files"), "early.txt"), "sha256"),
            Sha256Sum(dir().path(), "abc"))
      << ended.body;
}

TEST_F(ServeTest, AFileNameThatIsNotUtf8IsShownEscapedAndStaysDownloadable) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  std::string id = Str(Submit(StepsJob({Shell(R"sh(printf x > "$(printf 'bad\377name.txt')" && )sh"
                                              R"sh(printf y > 'back\slash.txt')sh")})),
                       "id");
  json::object job = WaitForState(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job);

  // Shown: a byte that is not UTF-8 as \xHH, a backslash as \\.
  const std::string shown_bad = R"(bad\xffname.txt)";
  const std::string shown_backslash = R"(back\\slash.txt)";
  json::array stored = Arr(Obj(job, "result"), "files");
  EXPECT_EQ(Int(EntryOf(stored, shown_bad), "size"), 1) << json::serialize(job);
  EXPECT_EQ(Int(EntryOf(stored, shown_backslash), "size"), 1) << json::serialize(job);

  HttpResponse list = http.Get("/v1/jobs");
  ASSERT_EQ(list.status, 200) << list.Describe();
  ASSERT_EQ(Arr(list.Json(), "jobs").size(), 1u) << list.body;
  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  ASSERT_EQ(files.status, 200) << files.Describe();
  EXPECT_EQ(Arr(files.Json(), "files"), stored) << files.body;

  // The shown path maps back to the real name; the raw bytes, percent-encoded, work too.
  std::string base = "/v1/jobs/" + id + "/files/";
  EXPECT_EQ(http.Get(base + UrlEncoded(shown_bad)).body, "x");
  EXPECT_EQ(http.Get(base + "bad%FFname.txt").body, "x");
  EXPECT_EQ(http.Get(base + UrlEncoded(shown_backslash)).body, "y");
  HttpResponse bad_escape = http.Get(base + UrlEncoded(R"(back\slash.txt)"));
  EXPECT_EQ(bad_escape.status, 400) << bad_escape.Describe();
  EXPECT_THAT(bad_escape.Json().at("error").at("message").as_string().c_str(), HasSubstr(R"(\\)"))
      << bad_escape.body;
  HttpResponse missing = http.Get(base + "gone%FE.txt");
  EXPECT_EQ(missing.status, 404) << missing.Describe();
  EXPECT_THAT(missing.Json().at("error").at("message").as_string().c_str(),
              HasSubstr(R"(gone\xfe.txt)"))
      << missing.body;

  // Archives carry the real names.
  const std::map<std::string, std::string> expected = {{"bad\xffname.txt", "x"},
                                                       {"back\\slash.txt", "y"}};
  HttpResponse tar = http.Get(fmt::format("/v1/jobs/{}/archive?format=tar.gz", id));
  ASSERT_EQ(tar.status, 200) << tar.Describe();
  EXPECT_EQ(Unpack(tar.body, "tar.gz"), expected);
  HttpResponse zip = http.Get(fmt::format("/v1/jobs/{}/archive?format=zip", id));
  ASSERT_EQ(zip.status, 200) << zip.Describe();
  EXPECT_EQ(ZipEntries(dir().path(), zip.body), expected);
}

TEST_F(ServeTest, AWorkspaceOverTheFileLimitAnswers422RatherThanAStatusToRetry) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  std::string id =
      Str(Submit(StepsJob({Shell("mkdir many && cd many && seq 10001 | xargs touch")})), "id");
  json::object job = WaitForState(id, "succeeded", milliseconds(60'000));
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job).substr(0, 2000);

  HttpResponse files = http.Get("/v1/jobs/" + id + "/files");
  EXPECT_EQ(files.status, 422) << files.Describe();
  EXPECT_EQ(files.ErrorCode(), "too_many_files") << files.Describe();
  EXPECT_EQ(files.Header("retry-after"), "");
  EXPECT_THAT(files.body, HasSubstr("10000"));
  EXPECT_THAT(files.body, HasSubstr("/archive"));
  // The job itself stays readable, and says why it has no manifest.
  EXPECT_EQ(Str(Obj(Obj(job, "result"), "files_error"), "code"), "too_many_files")
      << json::serialize(job).substr(0, 2000);
  HttpResponse archive = http.Get(fmt::format("/v1/jobs/{}/archive?format=tar.gz", id));
  EXPECT_EQ(archive.status, 200) << archive.Describe();
}

}  // namespace
}  // namespace warden::serve_test
