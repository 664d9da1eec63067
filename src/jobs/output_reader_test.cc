#include "jobs/output_reader.h"

#include <string>
#include <vector>

#include "agent/output.h"
#include "jobs/sqlite_store.h"
#include "jobs/store_test.h"

namespace warden::jobs {
namespace {

// The last `count` lines of `text`, by definition: every line ends with its '\n' but the last,
// which may have none.
std::string TailOf(const std::string& text, int64_t count) {
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    size_t newline = text.find('\n', start);
    size_t end = newline == std::string::npos ? text.size() : newline + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  std::string tail;
  for (size_t i = lines.size() > static_cast<size_t>(count) ? lines.size() - count : 0;
       i < lines.size(); ++i) {
    tail += lines[i];
  }
  return tail;
}

class OutputReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::Create("warden-output-reader-test-");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<sys::TempDir>(std::move(*dir));
    auto store = SqliteStore::Open(SqliteStoreOptions{dir_->path() + "/jobs.db", {}, 2});
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  // A running job whose output is `chunks`, one output event each, with other events between.
  Job JobWithOutput(const std::vector<std::string>& chunks) {
    NewJob request;
    request.input = {{"steps", json::array{}}};
    std::string id = store_->Create(request)->id;
    EXPECT_THAT(store_->ClaimNext("w1"), IsOk());
    std::vector<NewEvent> events;
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (i % 7 == 0) {
        events.push_back({id, "action", {{"step", i}}});
      }
      events.push_back(
          {id, "output", agent::OutputEventData(1, sandbox::Stream::kStdout, chunks[i])});
    }
    for (size_t at = 0; at < events.size(); at += 500) {
      std::vector<NewEvent> batch(
          events.begin() + static_cast<ptrdiff_t>(at),
          events.begin() + static_cast<ptrdiff_t>(std::min(events.size(), at + 500)));
      EXPECT_THAT(store_->AppendEvents(std::move(batch)), IsOk());
    }
    return *store_->Get(id, kAnyOwner);
  }

  // Everything the reader gives, and how many pieces it came in.
  std::string ReadAll(const Job& job, int64_t tail, size_t* pieces = nullptr) {
    auto reader = OutputReader::Open(*store_, job, tail);
    EXPECT_THAT(reader, IsOk());
    if (!reader.ok()) {
      return "";
    }
    std::string all;
    size_t count = 0;
    while (true) {
      auto piece = (*reader)->Next();
      EXPECT_THAT(piece, IsOk());
      if (!piece.ok() || !piece->has_value()) {
        break;
      }
      EXPECT_FALSE((*piece)->empty());
      all += **piece;
      ++count;
    }
    if (pieces != nullptr) {
      *pieces = count;
    }
    return all;
  }

  std::unique_ptr<sys::TempDir> dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(OutputReaderTest, TheWholeOutputComesBackExactlyInBoundedPieces) {
  // 3 MB in 48 events of 64 kB (bytes of every value), then 2,500 small ones: more than a page
  // holds either way.
  std::vector<std::string> chunks;
  std::string expected;
  for (int i = 0; i < 48; ++i) {
    std::string chunk;
    for (int j = 0; j < 65536; ++j) {
      chunk.push_back(static_cast<char>((i * 7 + j) % 256));
    }
    chunks.push_back(chunk);
  }
  for (int i = 0; i < 2500; ++i) {
    chunks.push_back("line " + std::to_string(i) + "\n");
  }
  for (const std::string& chunk : chunks) {
    expected += chunk;
  }
  Job job = JobWithOutput(chunks);
  size_t pieces = 0;
  EXPECT_EQ(ReadAll(job, 0, &pieces), expected);
  EXPECT_GE(pieces, 4U) << "a piece holds about kEventPageBytes, not the whole output";
}

TEST_F(OutputReaderTest, TailKeepsTheLastLinesWhereverEventsBreakThem) {
  const std::vector<std::vector<std::string>> outputs = {
      {"a\nb\nc\n"},
      {"a\nb\nc"},
      {"a\n", "b", "\nc", "\n"},
      {"\n\n\n"},
      {"x"},
      {"no newline at all", " in two"},
      {"\nstarts with one\n"},
      {"one\ntwo\n", "", "three\nfo", "ur\n\n"},
  };
  for (const auto& chunks : outputs) {
    Job job = JobWithOutput(chunks);
    std::string text;
    for (const std::string& chunk : chunks) {
      text += chunk;
    }
    for (int64_t tail = 1; tail <= 6; ++tail) {
      EXPECT_EQ(ReadAll(job, tail), TailOf(text, tail)) << "tail=" << tail << " of " << text;
    }
  }
}

TEST_F(OutputReaderTest, TailOfALongOutputReadsBackAcrossPages) {
  std::vector<std::string> chunks;
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    chunks.push_back(i % 3 == 0 ? "row " + std::to_string(i) : std::to_string(i) + "\n");
    text += chunks.back();
  }
  Job job = JobWithOutput(chunks);
  for (int64_t tail : {1, 2, 999, 1500, 1999, 2000, 2001, 5000}) {
    EXPECT_EQ(ReadAll(job, tail), TailOf(text, tail)) << tail;
  }
}

TEST_F(OutputReaderTest, OutputStoredAfterOpeningIsNotRead) {
  Job job = JobWithOutput({"before\n"});
  auto reader = OutputReader::Open(*store_, job, 0);
  ASSERT_THAT(reader, IsOk());
  ASSERT_THAT(store_->AppendEvent(job.id, "output",
                                  agent::OutputEventData(1, sandbox::Stream::kStdout, "after\n")),
              IsOk());
  auto piece = (*reader)->Next();
  ASSERT_THAT(piece, IsOk());
  EXPECT_EQ(piece->value_or(""), "before\n");
  EXPECT_FALSE((*reader)->Next()->has_value());
}

}  // namespace
}  // namespace warden::jobs
