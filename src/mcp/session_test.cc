#include "mcp/session.h"

#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace warden::mcp {
namespace {

// One tool, "echo", answering its argument "text"; and "wait", which returns once cancelled,
// after reporting progress once.
class FakeTools : public ToolSet {
 public:
  json::array List() const override {
    return json::array{json::object{{"name", "echo"}}, json::object{{"name", "wait"}}};
  }
  Result<ToolResult> Call(std::string_view name, const json::object& arguments,
                          const CallContext& context) override {
    if (name == "wait") {
      context.progress(1, 2, "waiting");
      started.set_value();
      while (!context.cancel->cancelled()) {
        std::this_thread::yield();
      }
      return ToolResult{{TextContent("cancelled")}, {}, true};
    }
    if (!arguments.contains("text")) {
      return Error(ErrorCode::kInvalidArgument, "echo needs \"text\"");
    }
    ToolResult result;
    result.content.push_back(TextContent(arguments.at("text").as_string()));
    result.structured = json::object{{"echoed", arguments.at("text")}};
    return result;
  }
  std::promise<void> started;
};

class SessionTest : public ::testing::Test {
 protected:
  // Handles `text` and returns the reply, running a tool call inline.
  json::object Reply(std::string_view text) {
    Handled handled = session_.Handle(text, [this](const json::object& m) { sent_.push_back(m); });
    if (handled.call) {
      return handled.call();
    }
    EXPECT_TRUE(handled.reply.has_value()) << text;
    return handled.reply.value_or(json::object{});
  }
  void Initialize() {
    Reply(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":
              "2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    session_.Handle(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", nullptr);
  }
  static int64_t ErrorCodeOf(const json::object& reply) {
    return reply.at("error").at("code").as_int64();
  }

  FakeTools tools_;
  Session session_{tools_, "owner"};
  std::vector<json::object> sent_;
};

TEST_F(SessionTest, InitializeAnswersWithTheClientsVersionWhenSupported) {
  for (std::string version : {"2025-06-18", "2025-11-25", "2025-03-26"}) {
    json::object reply = Reply(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":)"
                               R"({"protocolVersion":")" +
                               version + R"("}})");
    EXPECT_EQ(reply.at("result").at("protocolVersion").as_string(), version);
    EXPECT_EQ(reply.at("id").as_int64(), 1);
  }
}

TEST_F(SessionTest, InitializeAnswersWithTheNewestVersionForAnUnknownOne) {
  json::object reply = Reply(
      R"({"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"2030-01-01"}})");
  EXPECT_EQ(reply.at("result").at("protocolVersion").as_string(), "2025-11-25");
  EXPECT_TRUE(reply.at("result").at("capabilities").as_object().contains("tools"));
  EXPECT_EQ(reply.at("id").as_string(), "a");
}

TEST_F(SessionTest, InitializeWithoutAVersionIsInvalidParams) {
  json::object reply = Reply(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})");
  EXPECT_EQ(ErrorCodeOf(reply), kInvalidParams);
  EXPECT_NE(reply.at("error").at("message").as_string().find("protocolVersion"), std::string::npos);
}

TEST_F(SessionTest, TextThatIsNotJsonIsAParseErrorWithANullId) {
  json::object reply = Reply("{not json");
  EXPECT_EQ(ErrorCodeOf(reply), kParseError);
  EXPECT_TRUE(reply.at("id").is_null());
}

TEST_F(SessionTest, MalformedRequestsAreInvalidRequestsThatSayWhy) {
  EXPECT_EQ(ErrorCodeOf(Reply(R"({"id":1,"method":"ping"})")), kInvalidRequest);
  EXPECT_EQ(ErrorCodeOf(Reply(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})")), kInvalidRequest);
  EXPECT_EQ(ErrorCodeOf(Reply(R"({"jsonrpc":"2.0","id":1,"method":7})")), kInvalidRequest);
  json::object batch = Reply(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])");
  EXPECT_EQ(ErrorCodeOf(batch), kInvalidRequest);
  EXPECT_NE(batch.at("error").at("message").as_string().find("batch"), std::string::npos);
  json::object missing_version = Reply(R"({"id":9,"method":"ping"})");
  EXPECT_EQ(missing_version.at("id").as_int64(), 9);
}

TEST_F(SessionTest, ParamsThatAreNotAnObjectAreInvalidParams) {
  EXPECT_EQ(ErrorCodeOf(Reply(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})")),
            kInvalidParams);
}

TEST_F(SessionTest, PingIsAnsweredEvenBeforeInitialize) {
  json::object reply = Reply(R"({"jsonrpc":"2.0","id":3,"method":"ping"})");
  EXPECT_TRUE(reply.at("result").as_object().empty());
}

TEST_F(SessionTest, ToolsBeforeInitializeAreRefusedSayingToInitialize) {
  json::object reply = Reply(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  EXPECT_EQ(ErrorCodeOf(reply), kInvalidRequest);
  EXPECT_NE(reply.at("error").at("message").as_string().find("initialize"), std::string::npos);
}

TEST_F(SessionTest, AnUnknownMethodIsMethodNotFoundNamingIt) {
  Initialize();
  json::object reply = Reply(R"({"jsonrpc":"2.0","id":1,"method":"resources/list"})");
  EXPECT_EQ(ErrorCodeOf(reply), kMethodNotFound);
  EXPECT_NE(reply.at("error").at("message").as_string().find("resources/list"), std::string::npos);
}

TEST_F(SessionTest, NotificationsAndResponsesGetNoReply) {
  Initialize();
  for (const char* text : {R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                           R"({"jsonrpc":"2.0","method":"notifications/whatever"})",
                           R"({"jsonrpc":"2.0","id":5,"result":{}})"}) {
    Handled handled = session_.Handle(text, nullptr);
    EXPECT_FALSE(handled.reply.has_value()) << text;
    EXPECT_FALSE(handled.call) << text;
  }
}

TEST_F(SessionTest, ToolsListNamesTheTools) {
  Initialize();
  json::object reply = Reply(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  EXPECT_EQ(reply.at("result").at("tools").as_array().size(), 2u);
}

TEST_F(SessionTest, ToolsCallReturnsContentAndStructuredContent) {
  Initialize();
  json::object reply = Reply(
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}})");
  const json::object& result = reply.at("result").as_object();
  EXPECT_EQ(reply.at("id").as_int64(), 7);
  EXPECT_FALSE(result.at("isError").as_bool());
  EXPECT_EQ(result.at("content").at(0).at("text").as_string(), "hi");
  EXPECT_EQ(result.at("structuredContent").at("echoed").as_string(), "hi");
}

TEST_F(SessionTest, AFailingToolIsAToolErrorTheModelCanRead) {
  Initialize();
  json::object reply = Reply(
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{}}})");
  EXPECT_TRUE(reply.at("result").at("isError").as_bool());
  EXPECT_EQ(reply.at("result").at("content").at(0).at("text").as_string(), "echo needs \"text\"");
}

TEST_F(SessionTest, AnUnknownToolIsInvalidParams) {
  Initialize();
  json::object reply =
      Reply(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"nope"}})");
  EXPECT_EQ(ErrorCodeOf(reply), kInvalidParams);
  EXPECT_NE(reply.at("error").at("message").as_string().find("nope"), std::string::npos);
}

TEST_F(SessionTest, ACancelledNotificationStopsTheRunningCallAndProgressCarriesTheToken) {
  Initialize();
  Handled handled =
      session_.Handle(R"({"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"wait",)"
                      R"("_meta":{"progressToken":"p1"}}})",
                      [this](const json::object& m) { sent_.push_back(m); });
  ASSERT_TRUE(handled.call);
  auto reply = std::async(std::launch::async, handled.call);
  tools_.started.get_future().wait();
  session_.Handle(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w"}})",
      nullptr);
  json::object result = reply.get();
  EXPECT_EQ(result.at("result").at("content").at(0).at("text").as_string(), "cancelled");
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].at("method").as_string(), "notifications/progress");
  EXPECT_EQ(sent_[0].at("params").at("progressToken").as_string(), "p1");
  EXPECT_EQ(sent_[0].at("params").at("total").as_double(), 2.0);
}

}  // namespace
}  // namespace warden::mcp
