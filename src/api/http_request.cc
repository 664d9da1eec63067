// The Beast-parser half of reading a request (http_request.h); the third file that includes Beast,
// its HTTP parser only (Asio stays in http_server.cc and http_connection.cc).
#include "api/http_request.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <utility>

#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

namespace warden::api {
namespace http = boost::beast::http;

void LimitParser(const ServerOptions& options, RequestParser& parser) {
  parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
}

bool ToRequest(RequestMessage message, Request* request) {
  if (!ParseTarget(message.target(), request)) {
    return false;
  }
  request->method = std::string(message.method_string());
  for (const auto& field : message) {
    request->headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  request->body = std::move(message.body());
  return true;
}

bool UsableRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

std::optional<Rejection> RejectionFor(boost::system::error_code ec, const ServerOptions& options) {
  if (ec == http::error::body_limit) {
    return Rejection{
        413, "payload_too_large",
        fmt::format("the request body is larger than {} bytes", options.max_body_bytes)};
  }
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return Rejection{
        431, "header_too_large",
        fmt::format("the request header is larger than {} bytes", options.max_header_bytes)};
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return Rejection{400, "bad_request", "malformed HTTP request: " + ec.message()};
  }
  return std::nullopt;  // the client left (between requests or in the middle of one), or a timeout
}

}  // namespace warden::api
