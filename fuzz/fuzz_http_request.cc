// Fuzz target: requests read off a connection as the server reads them (api/http_request.h):
// Beast's parser under the server's limits, the header and then the body, pipelined requests on
// one keep-alive connection, bytes arriving in pieces whose size the first input byte chooses;
// then Warden's reading of each message into a Request, and the router with the REST API's route
// table. Properties: no crash, no sanitizer report; a read error is answered 400, 413 or 431, or
// by closing; a request never carries a body over the limit, a NUL in its path, or a header field
// that could split a response; a request id echoed back is plain.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

#include "api/http.h"
#include "api/http_request.h"
#include "fuzz/api_routes.h"
#include "fuzz/fuzz_check.h"

namespace warden::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// Small limits, so that short inputs reach them.
ServerOptions FuzzOptions() {
  ServerOptions options;
  options.max_header_bytes = 1024;
  options.max_body_bytes = 4096;
  return options;
}

bool Plain(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// One request read and routed; false when the connection ends after it.
bool ServeOne(const ServerOptions& options, const Router& router, beast::test::stream& stream,
              beast::flat_buffer& buffer) {
  RequestParser parser;
  LimitParser(options, parser);
  boost::system::error_code ec;
  http::read_header(stream, buffer, parser, ec);
  if (!ec && !parser.is_done()) {
    http::read(stream, buffer, parser, ec);
  }
  if (ec) {
    if (std::optional<Rejection> rejection = RejectionFor(ec, options)) {
      int status = rejection->status;
      FUZZ_CHECK(status == 400 || status == 413 || status == 431) << status;
      FUZZ_CHECK(!rejection->message.empty());
    }
    return false;
  }
  RequestMessage message = parser.release();
  bool keep_alive = message.keep_alive();
  Request request;
  if (!ToRequest(std::move(message), &request)) {
    return false;  // answered 400, and the connection closes
  }
  FUZZ_CHECK(request.body.size() <= options.max_body_bytes) << request.body.size();
  FUZZ_CHECK(request.path.find('\0') == std::string::npos);
  FUZZ_CHECK(!request.method.empty());
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(!name.empty() && Plain(name) && Plain(value)) << name;
  }
  std::string_view offered = request.headers.Get("X-Request-Id");
  if (UsableRequestId(offered)) {
    FUZZ_CHECK(offered.size() <= 64 && Plain(offered) && offered.find(' ') == std::string::npos);
  }
  fuzz::CheckRouted(router.Handle(request));
  return keep_alive;
}

}  // namespace
}  // namespace warden::api

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warden::api;  // NOLINT(google-build-using-namespace): a fuzz entry point
  static const ServerOptions options = FuzzOptions();
  static const Router router = warden::fuzz::ApiRoutes();
  if (size == 0) {
    return 0;
  }
  boost::asio::io_context ioc;
  boost::beast::test::stream stream(
      ioc, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  stream.read_size(1 + data[0] % 128);
  stream.close_remote();
  // As the connection's buffer: a request head plus a little of what follows.
  boost::beast::flat_buffer buffer(options.max_header_bytes + 4096);
  for (int i = 0; i < 64 && ServeOne(options, router, stream, buffer); ++i) {
  }
  return 0;
}
