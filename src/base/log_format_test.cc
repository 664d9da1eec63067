#include "base/log_format.h"

#include <stdio.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace warden::log {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Standard error sent to a temporary file while it lives; Lines() reads what was written.
class CapturedStderr {
 public:
  CapturedStderr() : file_(::tmpfile()), saved_(::dup(STDERR_FILENO)) {
    (void)std::fflush(stderr);
    ::dup2(::fileno(file_), STDERR_FILENO);
  }
  ~CapturedStderr() {
    (void)std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    (void)std::fclose(file_);
  }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;

  std::vector<std::string> Lines() {
    (void)std::fflush(stderr);
    std::string text;
    char buffer[4096];
    ssize_t n;
    for (off_t at = 0; (n = ::pread(::fileno(file_), buffer, sizeof buffer, at)) > 0; at += n) {
      text.append(buffer, static_cast<size_t>(n));
    }
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

 private:
  FILE* file_;
  int saved_;
};

class LogFormatTest : public ::testing::Test {
 protected:
  void TearDown() override { SetFormat(Format::kText); }
};

TEST_F(LogFormatTest, JsonLinesCarryTimeLevelMessageAndFields) {
  CapturedStderr captured;
  SetFormat(Format::kJson);
  LOG_WARN("disk {} is {}% full", "/data", 91);
  WriteFields(Level::kInfo, "request",
              json::object{{"method", "GET"}, {"status", 200}, {"key", "alice"}});
  WriteFields(Level::kDebug, "not shown at the default level", json::object{});

  std::vector<std::string> lines = captured.Lines();
  ASSERT_EQ(lines.size(), 2U);
  json::object warn = json::parse(lines[0]).as_object();
  EXPECT_EQ(warn.at("level"), "warn");
  EXPECT_EQ(warn.at("msg"), "disk /data is 91% full");
  EXPECT_THAT(std::string(warn.at("time").as_string()),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
  json::object request = json::parse(lines[1]).as_object();
  EXPECT_EQ(request.at("msg"), "request");
  EXPECT_EQ(request.at("method"), "GET");
  EXPECT_EQ(request.at("status").as_int64(), 200);
  EXPECT_EQ(request.at("key"), "alice");
}

TEST_F(LogFormatTest, TextLinesPutFieldsAfterTheMessage) {
  CapturedStderr captured;
  SetFormat(Format::kText);
  WriteFields(Level::kInfo, "job j_1 succeeded",
              json::object{{"reason", "finished"}, {"seconds", 1.5}});
  std::vector<std::string> lines = captured.Lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_THAT(lines[0], HasSubstr("warden: job j_1 succeeded reason=finished seconds=1.5"));
}

TEST_F(LogFormatTest, OnlyTextAndJsonAreFormats) {
  Format format = Format::kText;
  EXPECT_TRUE(ParseFormat("json", &format));
  EXPECT_EQ(format, Format::kJson);
  EXPECT_FALSE(ParseFormat("xml", &format));
  EXPECT_EQ(format, Format::kJson);
}

}  // namespace
}  // namespace warden::log
