#include "sandbox/egress_request.h"

#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "sandbox/egress_policy.h"

namespace warden::sandbox {
namespace {

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// "host:port", "[v6]:port" or, with default_port, "host". Port 0 when it is missing or invalid.
std::pair<std::string, uint16_t> SplitHostPort(std::string_view text, uint16_t default_port) {
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return {"", 0};
    }
    host = text.substr(0, close + 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return {"", 0};
      }
      port = text.substr(close + 2);
    }
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = default_port;
  if (!port.empty()) {
    auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (err != std::errc() || end != port.data() + port.size() || value > 65535) {
      value = 0;
    }
  }
  return {NormalizeHost(host), static_cast<uint16_t>(value)};
}

std::vector<std::string_view> Lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    size_t end = head.find('\n');
    std::string_view line = head.substr(0, end);
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      break;
    }
    lines.push_back(line);
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 1);
  }
  return lines;
}

bool DroppedHeader(std::string_view name) {
  return EqualsNoCase(name, "proxy-connection") || EqualsNoCase(name, "proxy-authorization") ||
         EqualsNoCase(name, "connection") || EqualsNoCase(name, "keep-alive");
}

// Fills the kForward fields from an absolute-form target and the header lines.
Status ParseForward(std::string_view target, const std::vector<std::string_view>& lines,
                    ProxyRequest& request) {
  constexpr std::string_view kScheme = "http://";
  if (!EqualsNoCase(target.substr(0, kScheme.size()), kScheme)) {
    return Invalid(fmt::format(
        "\"{}\" is not a URL the proxy can fetch: send http:// URLs as requests, and https:// "
        "through CONNECT (set HTTPS_PROXY)",
        target.substr(0, 200)));
  }
  std::string_view rest = target.substr(kScheme.size());
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) {
    return Invalid("user names in proxied URLs are not supported");
  }
  std::tie(request.host, request.port) = SplitHostPort(authority, 80);
  if (request.host.empty() || request.port == 0) {
    return Invalid(fmt::format("the URL's host \"{}\" is not host[:port]", authority));
  }
  std::string path =
      path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (path.front() == '?') {
    path.insert(0, "/");
  }
  std::string_view version = lines[0].substr(lines[0].rfind(' ') + 1);
  request.upstream_head = fmt::format("{} {} {}\r\n", request.method, path, version);
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) {
      return Invalid(fmt::format("header line \"{}\" has no ':'", lines[i].substr(0, 100)));
    }
    std::string_view name = Trim(lines[i].substr(0, colon));
    if (EqualsNoCase(name, "host")) {
      if (!request.host_header.empty()) {
        return Invalid("the request has two Host headers");
      }
      std::tie(request.host_header, request.host_header_port) =
          SplitHostPort(Trim(lines[i].substr(colon + 1)), 80);
    }
    if (!DroppedHeader(name)) {
      request.upstream_head.append(lines[i]).append("\r\n");
    }
  }
  request.upstream_head.append("Connection: close\r\n\r\n");
  return OkStatus();
}

// Bytes [offset, offset + n) of `data` as a big-endian number; false when they are not there.
bool ReadNumber(std::string_view data, size_t offset, size_t n, size_t* value) {
  if (offset + n > data.size()) {
    return false;
  }
  *value = 0;
  for (size_t i = 0; i < n; ++i) {
    *value = (*value << 8) | static_cast<unsigned char>(data[offset + i]);
  }
  return true;
}

// The server name in the extensions of a complete ClientHello body; "" when there is none.
std::string ServerNameIn(std::string_view hello) {
  size_t pos = 2 + 32;  // client_version, random
  size_t n = 0;
  if (!ReadNumber(hello, pos, 1, &n)) {
    return "";
  }
  pos += 1 + n;  // session id
  if (!ReadNumber(hello, pos, 2, &n)) {
    return "";
  }
  pos += 2 + n;  // cipher suites
  if (!ReadNumber(hello, pos, 1, &n)) {
    return "";
  }
  pos += 1 + n;  // compression methods
  size_t extensions_end = 0;
  if (!ReadNumber(hello, pos, 2, &extensions_end)) {
    return "";
  }
  pos += 2;
  extensions_end = std::min(hello.size(), pos + extensions_end);
  size_t type = 0;
  size_t length = 0;
  while (ReadNumber(hello, pos, 2, &type) && ReadNumber(hello, pos + 2, 2, &length) &&
         pos + 4 + length <= extensions_end) {
    size_t name_length = 0;
    if (type == 0 && ReadNumber(hello, pos + 7, 2, &name_length) && hello[pos + 6] == 0 &&
        pos + 9 + name_length <= pos + 4 + length) {
      return NormalizeHost(hello.substr(pos + 9, name_length));
    }
    pos += 4 + length;
  }
  return "";
}

}  // namespace

Result<ProxyRequest> ParseProxyRequest(std::string_view head) {
  std::vector<std::string_view> lines = Lines(head);
  if (lines.empty()) {
    return Invalid("an empty request");
  }
  std::string_view line = lines[0];
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last ||
      !line.substr(last + 1).starts_with("HTTP/")) {
    return Invalid(fmt::format("\"{}\" is not an HTTP request line", line.substr(0, 200)));
  }
  ProxyRequest request;
  request.method = std::string(line.substr(0, first));
  std::string_view target = line.substr(first + 1, last - first - 1);
  if (request.method == "CONNECT") {
    request.kind = ProxyRequest::Kind::kConnect;
    std::tie(request.host, request.port) = SplitHostPort(target, 0);
    if (request.host.empty() || request.port == 0) {
      return Invalid(fmt::format("CONNECT needs host:port, not \"{}\"", target.substr(0, 200)));
    }
    return request;
  }
  request.kind = ProxyRequest::Kind::kForward;
  RETURN_IF_ERROR(ParseForward(target, lines, request));
  return request;
}

ClientHelloName ReadClientHelloName(std::string_view data) {
  // Handshake messages may span records: join the fragments of leading handshake records.
  std::string handshake;
  size_t pos = 0;
  size_t record_length = 0;
  while (ReadNumber(data, pos + 3, 2, &record_length)) {
    if (data[pos] != 0x16 || data[pos + 1] != 0x03) {
      return {ClientHelloName::State::kNotTls, ""};
    }
    if (pos + 5 + record_length > data.size()) {
      break;
    }
    handshake.append(data.substr(pos + 5, record_length));
    pos += 5 + record_length;
  }
  if (pos == 0 && !data.empty() && data[0] != 0x16) {
    return {ClientHelloName::State::kNotTls, ""};
  }
  size_t hello_length = 0;
  if (!ReadNumber(handshake, 1, 3, &hello_length) || handshake.size() < 4 + hello_length) {
    return {ClientHelloName::State::kNeedMore, ""};
  }
  if (handshake[0] != 0x01) {
    return {ClientHelloName::State::kNotTls, ""};
  }
  std::string name = ServerNameIn(std::string_view{handshake}.substr(4, hello_length));
  if (name.empty()) {
    return {ClientHelloName::State::kNoName, ""};
  }
  return {ClientHelloName::State::kFound, std::move(name)};
}

}  // namespace warden::sandbox
