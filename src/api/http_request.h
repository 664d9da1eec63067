// Reading one request off the wire: Beast's parser under the server's limits, then Warden's own
// reading of the parsed message (target, method, header fields, body) into a Request. Shared by
// the connection (http_connection.cc) and the HTTP fuzz target, so that the fuzzer exercises the
// server's own code. Includes Beast's HTTP parser (not Asio): keep it out of handlers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http.h"

namespace warden::api {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;

// Applies the header and body limits of `options` to a parser that has read nothing yet.
void LimitParser(const ServerOptions& options, RequestParser& parser);

// Moves a parsed message into `request`: its target (ParseTarget), method, header fields in
// arrival order and body. False, leaving `request` unspecified, when the target is not an
// origin-form path with valid escapes (the server answers 400).
bool ToRequest(RequestMessage message, Request* request);

// A request id offered by a client (or a proxy in front) in X-Request-Id is kept when it is short
// and plain: 1 to 64 letters, digits, '-', '_' or '.'.
bool UsableRequestId(std::string_view id);

// What the server answers when reading a request failed with `ec`.
struct Rejection {
  int status;  // 400, 413 or 431
  std::string code;
  std::string message;
};
// The answer to a malformed or oversized request; std::nullopt when the client left or went
// silent, which gets no answer (the connection is closed).
std::optional<Rejection> RejectionFor(boost::system::error_code ec, const ServerOptions& options);

}  // namespace warden::api
