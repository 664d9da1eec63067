#include "agent/output.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/json_text.h"

namespace warden::agent {
namespace {

using sandbox::Stream;

const std::string kEuro = "\xE2\x82\xAC";

// What `events` stand for on `stream`, joined; every one must survive JSON text as stored.
std::string BytesOf(const std::vector<json::object>& events, std::string_view stream) {
  std::string bytes;
  for (const json::object& event : events) {
    json::value reread = json::parse(SerializeJson(event));
    EXPECT_EQ(reread.as_object(), event) << "changed by serialization: " << SerializeJson(event);
    if (event.at("stream").as_string() == stream) {
      bytes += OutputBytes(reread.as_object());
    }
  }
  return bytes;
}

std::vector<json::object> Encode(OutputEncoder& encoder, Stream stream,
                                 const std::vector<std::string>& chunks) {
  std::vector<json::object> events;
  for (const std::string& chunk : chunks) {
    if (std::optional<json::object> event = encoder.Add(stream, chunk)) {
      events.push_back(std::move(*event));
    }
  }
  for (json::object& event : encoder.Finish()) {
    events.push_back(std::move(event));
  }
  return events;
}

TEST(OutputTest, Utf8OutputIsPlainTextWithoutBase64) {
  json::object data = OutputEventData(2, Stream::kStdout, "caf\xC3\xA9 " + kEuro + "\n");
  EXPECT_EQ(data.at("step").as_int64(), 2);
  EXPECT_EQ(data.at("stream").as_string(), "stdout");
  EXPECT_EQ(data.at("text").as_string(), "caf\xC3\xA9 " + kEuro + "\n");
  EXPECT_FALSE(data.contains("base64"));
}

TEST(OutputTest, BytesThatAreNotUtf8ComeBackExactlyFromBase64) {
  const std::string bytes(
      "a\xFF"
      "b\0\x80\n",
      6);
  json::object data = OutputEventData(1, Stream::kStderr, bytes);
  EXPECT_EQ(data.at("text").as_string(),
            "a\xEF\xBF\xBD"
            "b" +
                std::string(1, '\0') + "\xEF\xBF\xBD\n");
  EXPECT_EQ(data.at("base64").as_string(), "Yf9iAIAK");
  EXPECT_EQ(OutputBytes(data), bytes);
}

TEST(OutputTest, ACharacterCutBetweenTwoChunksIsSentWholeWithTheNext) {
  OutputEncoder encoder(1);
  std::vector<json::object> events =
      Encode(encoder, Stream::kStdout, {"price: \xE2", "\x82", "\xAC 5\n", "\xF0\x9F", "\x98\x80"});
  EXPECT_EQ(BytesOf(events, "stdout"), "price: " + kEuro + " 5\n\xF0\x9F\x98\x80");
  for (const json::object& event : events) {
    EXPECT_FALSE(event.contains("base64")) << SerializeJson(event);
  }
}

TEST(OutputTest, AnUnfinishedCharacterAtTheEndIsKeptFaithfully) {
  OutputEncoder encoder(3);
  std::vector<json::object> events = Encode(encoder, Stream::kStdout, {"end \xE2\x82"});
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].at("text").as_string(), "end ");
  EXPECT_EQ(OutputBytes(events[1]), "\xE2\x82");
  EXPECT_EQ(events[1].at("step").as_int64(), 3);
}

TEST(OutputTest, EachStreamKeepsBackItsOwnCharacter) {
  OutputEncoder encoder(1);
  std::vector<json::object> events;
  for (auto [stream, chunk] :
       std::vector<std::pair<Stream, std::string>>{{Stream::kStdout, "o\xE2"},
                                                   {Stream::kStderr, "e\xE2\x82"},
                                                   {Stream::kStdout, "\x82\xAC"},
                                                   {Stream::kStderr, "\xAC"}}) {
    if (std::optional<json::object> event = encoder.Add(stream, chunk)) {
      events.push_back(std::move(*event));
    }
  }
  EXPECT_TRUE(encoder.Finish().empty());
  EXPECT_EQ(BytesOf(events, "stdout"), "o" + kEuro);
  EXPECT_EQ(BytesOf(events, "stderr"), "e" + kEuro);
}

TEST(OutputTest, EveryByteValueInEverySplitComesBackExactly) {
  std::string bytes;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 256; ++i) {
      bytes.push_back(static_cast<char>(i));
    }
    bytes += kEuro + "\xF0\x9F\x98\x80";
  }
  for (size_t piece : {1U, 2U, 3U, 5U, 64U}) {
    OutputEncoder encoder(1);
    std::vector<std::string> chunks;
    for (size_t at = 0; at < bytes.size(); at += piece) {
      chunks.push_back(bytes.substr(at, piece));
    }
    EXPECT_EQ(BytesOf(Encode(encoder, Stream::kStdout, chunks), "stdout"), bytes) << piece;
  }
}

TEST(OutputTest, DataStoredBeforeEncodingIsRepairedOnce) {
  json::object data{{"step", 1}, {"stream", "stdout"}, {"text", "x\xFFy"}};
  EncodeOutputText(data);
  EXPECT_EQ(OutputBytes(data), "x\xFFy");
  json::object again = data;
  EncodeOutputText(again);
  EXPECT_EQ(again, data);
}

}  // namespace
}  // namespace warden::agent
