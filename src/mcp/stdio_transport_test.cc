#include "mcp/stdio_transport.h"

#include <unistd.h>

#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace warden::mcp {
namespace {

// "block" waits until its call is cancelled, then reports that it was.
class BlockingTools : public ToolSet {
 public:
  json::array List() const override { return json::array{json::object{{"name", "block"}}}; }
  Result<ToolResult> Call(std::string_view, const json::object&,
                          const CallContext& context) override {
    started.set_value();
    while (!context.cancel->cancelled()) {
      std::this_thread::yield();
    }
    cancelled = true;
    return ToolResult{};
  }
  std::promise<void> started;
  std::atomic<bool> cancelled{false};
};

class StdioTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe(in_), 0);
    ASSERT_EQ(::pipe(out_), 0);
    StdioOptions options;
    options.max_line_bytes = 1000;
    served_ = std::async(std::launch::async, [this, options] {
      Status status = ServeStdio(session_, in_[0], out_[1], nullptr, options);
      ::close(out_[1]);
      return status;
    });
  }
  void TearDown() override {
    CloseInput();
    if (served_.valid()) {
      served_.wait();
    }
    ::close(in_[0]);
    ::close(out_[0]);
  }
  void Send(std::string_view text) {
    ASSERT_EQ(::write(in_[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void CloseInput() {
    if (in_[1] >= 0) {
      ::close(in_[1]);
      in_[1] = -1;
    }
  }
  // The next line the server wrote, parsed.
  json::object NextMessage() {
    std::string line;
    char c;
    while (::read(out_[0], &c, 1) == 1 && c != '\n') {
      line += c;
    }
    return json::parse(line).as_object();
  }

  BlockingTools tools_;
  Session session_{tools_, "stdio"};
  int in_[2] = {-1, -1};
  int out_[2] = {-1, -1};
  std::future<Status> served_;
};

TEST_F(StdioTransportTest, EachLineIsAMessageAndEachReplyALine) {
  Send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\n{\"jsonrpc\":\"2.0\",\"id\":2,");
  EXPECT_EQ(NextMessage().at("id").as_int64(), 1);
  Send("\"method\":\"ping\"}\n");
  EXPECT_EQ(NextMessage().at("id").as_int64(), 2);
}

TEST_F(StdioTransportTest, ABadLineIsAnsweredWithAnErrorAndTheConnectionGoesOn) {
  Send("garbage\n");
  EXPECT_EQ(NextMessage().at("error").at("code").as_int64(), kParseError);
  Send(std::string(2000, 'x'));  // over the limit, without a newline yet
  EXPECT_EQ(NextMessage().at("error").at("code").as_int64(), kInvalidRequest);
  Send("still the long line\n{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n");
  EXPECT_EQ(NextMessage().at("id").as_int64(), 3);
}

TEST_F(StdioTransportTest, PingIsAnsweredWhileACallRunsAndEndOfInputCancelsTheCall) {
  Send(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})"
       "\n");
  NextMessage();
  Send(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"block"}})"
       "\n");
  tools_.started.get_future().wait();
  Send("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n");
  EXPECT_EQ(NextMessage().at("id").as_int64(), 2);
  CloseInput();
  EXPECT_TRUE(served_.get().ok());
  EXPECT_TRUE(tools_.cancelled);
}

}  // namespace
}  // namespace warden::mcp
