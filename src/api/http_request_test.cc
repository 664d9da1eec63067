// Reading a request off the wire (http_request.h): Beast's parser under the server's limits, fed
// the way a connection feeds it, piece by piece, and Warden's reading of the parsed message.
#include "api/http_request.h"

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

namespace warden::api {
namespace {

namespace http = boost::beast::http;

// Feeds `pieces` to `parser` as a connection does: what the parser left unconsumed is offered again
// with the next piece. Returns the first error other than need_more.
boost::system::error_code Feed(RequestParser& parser, const std::vector<std::string_view>& pieces) {
  std::string pending;
  for (std::string_view piece : pieces) {
    pending.append(piece);
    while (!pending.empty() && !parser.is_done()) {
      boost::system::error_code ec;
      size_t used = parser.put(boost::asio::const_buffer(pending.data(), pending.size()), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        break;
      }
      if (ec) {
        return ec;
      }
    }
  }
  return {};
}

// Beast 1.81 asserted here (boostorg/beast#2861): any client could abort a debug or ASan build of
// the server by sending the final chunk in three pieces (found by fuzz_http_request).
TEST(HttpRequestTest, AnEmptyChunkedBodyArrivingInPiecesEnds) {
  RequestParser parser;
  LimitParser(ServerOptions{}, parser);
  boost::system::error_code ec =
      Feed(parser,
           {"POST /v1/exec HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "0\r\n", "\r", "\n"});
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());
  Request request;
  ASSERT_TRUE(ToRequest(parser.release(), &request));
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/exec");
  EXPECT_EQ(request.body, "");
}

TEST(HttpRequestTest, ABodyOverTheLimitIsRefusedWith413) {
  ServerOptions options;
  options.max_body_bytes = 4;
  RequestParser parser;
  LimitParser(options, parser);
  boost::system::error_code ec =
      Feed(parser, {"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"});
  std::optional<Rejection> rejection = RejectionFor(ec, options);
  ASSERT_TRUE(rejection.has_value()) << ec.message();
  EXPECT_EQ(rejection->status, 413);
  EXPECT_EQ(rejection->message, "the request body is larger than 4 bytes");
}

TEST(HttpRequestTest, ATargetThatIsNotAPathIsRefused) {
  RequestParser parser;
  LimitParser(ServerOptions{}, parser);
  ASSERT_FALSE(Feed(parser, {"GET http://example.com/ HTTP/1.1\r\n\r\n"}));
  Request request;
  EXPECT_FALSE(ToRequest(parser.release(), &request));
}

TEST(HttpRequestTest, OnlyShortPlainRequestIdsAreKept) {
  EXPECT_TRUE(UsableRequestId("abc-1_2.3"));
  EXPECT_FALSE(UsableRequestId(""));
  EXPECT_FALSE(UsableRequestId("a b"));
  EXPECT_FALSE(UsableRequestId("a\r\nSet-Cookie: x"));
  EXPECT_FALSE(UsableRequestId(std::string(65, 'a')));
}

}  // namespace
}  // namespace warden::api
