// What a job prints, read back through `warden serve`: bytes that are not UTF-8 and characters
// cut between two chunks come back exactly from JSON /events (text, or base64 where the bytes are
// not UTF-8), SSE and /logs; /events is paged; /logs is streamed. The real server, real sandboxes.
#include <map>
#include <optional>
#include <string>
#include <utility>
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
using ::testing::Le;
using ::testing::SizeIs;

const std::string kEuro = "\xE2\x82\xAC";

// The bytes an output event's data stands for, as the API documents it: "base64" when present,
// else "text". Records a failure for base64 that does not decode.
std::string BytesOf(const json::object& data) {
  if (const json::value* base64 = data.if_contains("base64"); base64 != nullptr) {
    std::optional<std::string> bytes =
        base64->is_string() ? Base64Decode(base64->get_string()) : std::nullopt;
    EXPECT_TRUE(bytes.has_value()) << json::serialize(data);
    return bytes.value_or("");
  }
  return Str(data, "text");
}

// Strictly parsed JSON (invalid UTF-8 is an error), or a failure naming `what`.
json::object ParseStrict(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << what << " is not valid JSON: " << ec.message();
  return !ec && value.is_object() ? value.get_object() : json::object{};
}

// (step, stream) -> the bytes of its output events, joined in order.
using OutputByStream = std::map<std::pair<int64_t, std::string>, std::string>;

void AddOutput(const json::object& event, OutputByStream& out, std::string* in_order = nullptr) {
  if (Str(event, "type") != "output") {
    return;
  }
  json::object data = Obj(event, "data");
  std::string bytes = BytesOf(data);
  out[{Int(data, "step"), Str(data, "stream")}] += bytes;
  if (in_order != nullptr) {
    *in_order += bytes;
  }
}

// Compares output stream by stream without printing megabytes of bytes when they differ.
void ExpectSameOutput(const OutputByStream& actual, const OutputByStream& expected,
                      const std::string& what) {
  EXPECT_EQ(actual.size(), expected.size()) << what << ": streams";
  for (const auto& [key, bytes] : expected) {
    auto found = actual.find(key);
    std::string name = fmt::format("{} step {} {}", what, key.first, key.second);
    ASSERT_NE(found, actual.end()) << name << " is missing";
    EXPECT_EQ(found->second.size(), bytes.size()) << name;
    EXPECT_TRUE(found->second == bytes) << name << " came back changed";
  }
}

// The last `count` lines: every line ends with its '\n' but the last, which may have none.
std::string TailOf(const std::string& text, size_t count) {
  size_t start = text.size();
  if (start > 0 && text.back() == '\n') {
    --start;
  }
  for (size_t found = 0; found < count; ++found) {
    size_t newline = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
    if (newline == std::string::npos) {
      return text;
    }
    start = newline;
  }
  return text.substr(start + 1);
}

// One JSON page of /events; a failure unless it is a 200 with valid JSON.
json::object EventsPage(HttpClient& http, const std::string& id, const std::string& query) {
  HttpResponse response = http.Get(fmt::format("/v1/jobs/{}/events?{}", id, query));
  EXPECT_EQ(response.status, 200) << response.Describe();
  return ParseStrict(response.body, "/events?" + query);
}

TEST_F(ServeTest, OutputThatIsNotUtf8IsReadableEverywhereAndComesBackExactly) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) {
    all_bytes.push_back(static_cast<char>(i));
  }
  std::string reversed(all_bytes.rbegin(), all_bytes.rend());
  std::string mixed;  // 2-, 3- and 4-byte characters: chunk boundaries fall inside them
  for (int i = 0; i < 40'000; ++i) {
    mixed += "\xC3\xA9" + kEuro + "\xF0\x9F\x98\x80";
  }
  std::string id =
      Str(Submit(StepsJob({
              Shell(R"(printf 'a\377b\n'; printf 'err\376\n' >&2)"),
              Python("import os, sys, time\n"
                     "sys.stdout.buffer.write(('\\u00e9\\u20ac\\U0001F600' * 40000).encode())\n"
                     "sys.stdout.flush()\n"
                     "os.write(1, b'split:\\xe2\\x82')\n"
                     "time.sleep(0.3)  # the rest of the character comes in a later chunk\n"
                     "os.write(1, b'\\xac\\n')\n"),
              Python("import sys\n"
                     "sys.stdout.buffer.write(bytes(range(256)) * 4)\n"
                     "sys.stdout.flush()\n"
                     "sys.stderr.buffer.write(bytes(range(255, -1, -1)))\n"),
          })),
          "id");
  ASSERT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded") << server().Describe();
  const OutputByStream expected = {
      {{1, "stdout"},
       "a\xFF"
       "b\n"},
      {{1, "stderr"}, "err\xFE\n"},
      {{2, "stdout"}, mixed + "split:" + kEuro + "\n"},
      {{3, "stdout"}, all_bytes + all_bytes + all_bytes + all_bytes},
      {{3, "stderr"}, reversed},
  };

  // JSON, page by page: every page valid JSON, every byte back.
  OutputByStream from_json;
  std::string in_order;
  std::vector<json::object> events;
  for (int64_t after = 0;;) {
    json::object page = EventsPage(http, id, fmt::format("after={}&limit=7", after));
    for (const json::value& event : Arr(page, "events")) {
      events.push_back(event.get_object());
      AddOutput(event.get_object(), from_json, &in_order);
    }
    if (!page.contains("has_more") || !page.at("has_more").as_bool()) {
      break;
    }
    after = Int(page, "next_after");
  }
  ExpectSameOutput(from_json, expected, "JSON /events");
  for (const json::object& event : events) {
    // Valid UTF-8 needs no base64, also where a chunk ended inside a character.
    if (Int(Obj(event, "data"), "step") == 2) {
      EXPECT_FALSE(Obj(event, "data").contains("base64")) << json::serialize(event);
    }
  }

  // The job itself, and its output as plain text.
  EXPECT_EQ(http.Get("/v1/jobs/" + id).status, 200);
  HttpResponse logs = http.Get("/v1/jobs/" + id + "/logs");
  ASSERT_EQ(logs.status, 200) << logs.Describe();
  EXPECT_TRUE(logs.body == in_order) << "/logs differs from the output events";
  EXPECT_THAT(logs.body, HasSubstr("a\xFF"
                                   "b\n"));
  HttpResponse tail = http.Get("/v1/jobs/" + id + "/logs?tail=2");
  ASSERT_EQ(tail.status, 200) << tail.Describe();
  EXPECT_EQ(tail.body, TailOf(in_order, 2));
  EXPECT_THAT(tail.body.size(), Le(size_t{4096}));

  // SSE: every event's data valid JSON, every byte back, and the stream ends with the job.
  SseStream stream(http.port(), "/v1/jobs/" + id + "/events");
  ASSERT_EQ(stream.head().status, 200) << stream.head().Describe();
  std::vector<SseEvent> received = stream.Rest(milliseconds(20'000));
  EXPECT_TRUE(stream.clean_end()) << server().Describe();
  OutputByStream from_sse;
  for (const SseEvent& event : received) {
    AddOutput(ParseStrict(event.data, "SSE event " + event.id), from_sse);
  }
  ExpectSameOutput(from_sse, expected, "SSE");
  ASSERT_FALSE(received.empty());
  EXPECT_THAT(received.back().data, HasSubstr(R"("state":"succeeded")"));
  EXPECT_THAT(received, SizeIs(events.size()));
}

TEST_F(ServeTest, JsonEventsArePagedAndEveryEventComesExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  json::array steps;
  for (int i = 0; i < 40; ++i) {
    steps.push_back(Shell(fmt::format("echo step-{}", i)));
  }
  std::string id = Str(Submit(StepsJob(steps)), "id");
  json::object job = WaitForState(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded");
  const int64_t last = Int(job, "last_event_seq");
  ASSERT_GT(last, 120);  // three events a step, at least

  std::vector<int64_t> seqs;
  size_t pages = 0;
  for (int64_t after = 0;; ++pages) {
    json::object page = EventsPage(http, id, fmt::format("after={}&limit=25", after));
    json::array events = Arr(page, "events");
    ASSERT_THAT(events.size(), Le(25U));
    for (const json::value& event : events) {
      seqs.push_back(Int(event.get_object(), "seq"));
    }
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(Int(page, "next_after"), seqs.back());
    if (!page.at("has_more").as_bool()) {
      break;
    }
    after = Int(page, "next_after");
  }
  ASSERT_THAT(seqs, SizeIs(static_cast<size_t>(last)));
  for (size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ(pages + 1, static_cast<size_t>((last + 24) / 25));

  // Without a limit: the default page of 100; past the end: none, and the same position back.
  json::object first = EventsPage(http, id, "");
  EXPECT_THAT(Arr(first, "events"), SizeIs(100));
  EXPECT_TRUE(first.at("has_more").as_bool());
  json::object past = EventsPage(http, id, fmt::format("after={}", last));
  EXPECT_THAT(Arr(past, "events"), SizeIs(0));
  EXPECT_FALSE(past.at("has_more").as_bool());
  EXPECT_EQ(Int(past, "next_after"), last);

  for (std::string bad : {"limit=0", "limit=1001", "limit=ten", "after=-1"}) {
    HttpResponse refused = http.Get(fmt::format("/v1/jobs/{}/events?{}", id, bad));
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_EQ(refused.ErrorCode(), "invalid_argument") << bad;
    EXPECT_THAT(refused.body, HasSubstr(bad.substr(0, bad.find('=')))) << bad;
  }
}

TEST_F(ServeTest, AnEventsPageStopsAtAboutOneMebibyteWhateverTheLimit) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  json::array steps;
  for (int i = 0; i < 3; ++i) {
    steps.push_back(Shell("head -c 1000000 /dev/zero | tr '\\0' 'o'"));
  }
  std::string id = Str(Submit(StepsJob(steps)), "id");
  ASSERT_EQ(Str(WaitForState(id, "succeeded"), "state"), "succeeded");

  size_t printed = 0;
  size_t pages = 0;
  for (int64_t after = 0;; ++pages) {
    HttpResponse response =
        http.Get(fmt::format("/v1/jobs/{}/events?after={}&limit=1000", id, after));
    ASSERT_EQ(response.status, 200) << response.Describe();
    // 1 MiB of events, plus the one that crossed the mark (at most 64 kB of output).
    EXPECT_THAT(response.body.size(), Le(size_t{1200} * 1024));
    json::object page = ParseStrict(response.body, "a page");
    for (const json::value& event : Arr(page, "events")) {
      if (Str(event.get_object(), "type") == "output") {
        printed += BytesOf(Obj(event.get_object(), "data")).size();
      }
    }
    if (!page.at("has_more").as_bool()) {
      break;
    }
    after = Int(page, "next_after");
  }
  EXPECT_EQ(printed, 3'000'000U);
  EXPECT_GE(pages + 1, 3U);
}

TEST_F(ServeTest, LogsOfALargeOutputAreStreamedInChunksAndComeBackExactly) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpClient& http = client();
  // Eight steps of 1,000,000 bytes of every value, each step's shifted by its number; lines end
  // wherever byte 10 falls.
  json::array steps;
  std::string expected;
  for (int step = 0; step < 8; ++step) {
    steps.push_back(Python(
        fmt::format("import sys\nsys.stdout.buffer.write((bytes(range(256)) * 3908)[{}:{}])\n",
                    step, step + 1'000'000)));
    for (int j = 0; j < 1'000'000; ++j) {
      expected.push_back(static_cast<char>((step + j) % 256));
    }
  }
  std::string id = Str(Submit(StepsJob(steps)), "id");
  ASSERT_EQ(Str(WaitForState(id, "succeeded", milliseconds(60'000)), "state"), "succeeded");

  HttpResponse logs = http.Get("/v1/jobs/" + id + "/logs", "");
  ASSERT_EQ(logs.status, 200) << logs.Describe();
  EXPECT_EQ(logs.Header("transfer-encoding"), "chunked");
  EXPECT_EQ(logs.Header("content-length"), "");
  EXPECT_EQ(logs.body.size(), expected.size());
  EXPECT_TRUE(logs.body == expected) << "the output came back changed";
  for (size_t lines : {1U, 3U, 5000U}) {
    HttpResponse tail = http.Get(fmt::format("/v1/jobs/{}/logs?tail={}", id, lines));
    ASSERT_EQ(tail.status, 200) << tail.Describe();
    EXPECT_TRUE(tail.body == TailOf(expected, lines)) << "tail=" << lines;
  }
}

TEST_F(ServeTest, ExecOutputThatIsNotUtf8IsValidJsonWithItsExactBytes) {
  ASSERT_NO_FATAL_FAILURE(Start());
  HttpResponse response = client().PostJson(
      "/v1/exec", json::object{{"language", "bash"},
                               {"code", R"(printf 'x\377y'; printf '\342\202\254' >&2)"}});
  ASSERT_EQ(response.status, 200) << response.Describe();
  json::object result = ParseStrict(response.body, "the exec result");
  EXPECT_EQ(Str(result, "stdout"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(Base64Decode(Str(result, "stdout_base64")), "x\xFFy");
  EXPECT_EQ(Str(result, "stderr"), kEuro);
  EXPECT_FALSE(result.contains("stderr_base64"));
}

TEST_F(ServeTest, ATaskWhoseCommandPrintsBytesThatAreNotUtf8ReachesTheModelAndSucceeds) {
  testing::FakeLlm fake(testing::Wire::kOpenAi);
  fake.Script(
      {testing::TextReply("1. Print some bytes"),
       testing::ToolCallReply("run_shell", R"({"command": "printf 'bin\\377ary\\n\\342\\202'"})"),
       testing::ToolCallReply("finish", R"({"summary": "printed them"})")});
  WriteConfig(fmt::format(
      "[llm]\nprovider = \"openai-compatible\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\n"
      "retry_base_ms = 20\nmax_retries = 1\n",
      fake.BaseUrl()));
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string id = Str(Submit(json::object{{"task", "print some bytes"}}), "id");
  json::object job = WaitForState(id, "succeeded");
  ASSERT_EQ(Str(job, "state"), "succeeded") << json::serialize(job) << "\n" << server().Describe();

  // The model read the observation, with U+FFFD where the bytes were not UTF-8.
  std::vector<json::value> bodies = fake.ChatBodies();
  ASSERT_THAT(bodies, SizeIs(3));
  EXPECT_THAT(json::serialize(bodies.back()), HasSubstr("bin\xEF\xBF\xBD"
                                                        "ary\\n\xEF\xBF\xBD"));
  // People get the bytes themselves.
  EXPECT_EQ(client().Get("/v1/jobs/" + id + "/logs").body,
            "bin\xFF"
            "ary\n\xE2\x82");
}

}  // namespace
}  // namespace warden::serve_test
