#include "llm/stream.h"

#include <gtest/gtest.h>

namespace warden::llm {
namespace {

std::vector<SseEvent> FeedInPieces(std::string_view body, size_t piece) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& event) {
    events.push_back(event);
    return OkStatus();
  });
  for (size_t at = 0; at < body.size(); at += piece) {
    EXPECT_TRUE(parser.Feed(body.substr(at, piece)).ok());
  }
  return events;
}

TEST(SseParserTest, EventsSurviveAnySplitOfTheBody) {
  std::string body =
      ": keep-alive\n\n"
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
      "data: line one\ndata: line two\n\n"
      "data:[DONE]\n\n";
  for (size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    std::vector<SseEvent> events = FeedInPieces(body, piece);
    ASSERT_EQ(events.size(), 3u) << "piece " << piece;
    EXPECT_EQ(events[0].event, "message_start");
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].event, "");
    EXPECT_EQ(events[1].data, "line one\nline two");
    EXPECT_EQ(events[2].data, "[DONE]");
  }
}

TEST(SseParserTest, AnUnfinishedEventIsPending) {
  SseParser parser([](const SseEvent&) { return OkStatus(); });
  ASSERT_TRUE(parser.Feed("data: {\"partial\": ").ok());
  EXPECT_TRUE(parser.Pending());
  ASSERT_TRUE(parser.Feed("1}\n\n").ok());
  EXPECT_FALSE(parser.Pending());
}

TEST(SseParserTest, AHandlerErrorStopsTheStream) {
  SseParser parser([](const SseEvent&) { return Status(Error(ErrorCode::kDataLoss, "bad")); });
  Status status = parser.Feed("data: x\n\n");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kDataLoss);
}

TEST(LineSplitterTest, LinesAcrossPiecesAndALastLineWithoutNewline) {
  std::vector<std::string> lines;
  LineSplitter splitter([&](std::string_view line) {
    lines.emplace_back(line);
    return OkStatus();
  });
  ASSERT_TRUE(splitter.Feed("{\"a\"").ok());
  ASSERT_TRUE(splitter.Feed(":1}\n\n  \n{\"b\":2}\r\n{\"c\"").ok());
  ASSERT_TRUE(splitter.Feed(":3}").ok());
  ASSERT_TRUE(splitter.Finish().ok());
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
}

}  // namespace
}  // namespace warden::llm
