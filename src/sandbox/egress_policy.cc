#include "sandbox/egress_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace warden::sandbox {
namespace {

Error BadRule(std::string_view text, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("network rule \"{}\": {}; a rule is a host name (pypi.org), every name "
                           "under a domain (*.github.com), or an IP address, optionally with a "
                           "port (pypi.org:443) and methods first (GET,HEAD pypi.org)",
                           text, why));
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

// A dotted name of letters, digits, '-' and '_', no empty label.
bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
    } else if (IsNameChar(c) && ++label <= 63) {
      continue;
    } else {
      return false;
    }
  }
  return label > 0;
}

Result<uint16_t> ParsePort(std::string_view text, std::string_view digits) {
  unsigned value = 0;
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() || value == 0 ||
      value > 65535) {
    return BadRule(text, fmt::format("port \"{}\" is not a number from 1 to 65535", digits));
  }
  return static_cast<uint16_t>(value);
}

bool EndsWithLabel(std::string_view name, std::string_view suffix) {
  return name.size() > suffix.size() + 1 && name.ends_with(suffix) &&
         name[name.size() - suffix.size() - 1] == '.';
}

bool InRange(const AddressRange& range, const EgressAddress& address) {
  if (range.family != address.family) {
    return false;
  }
  int bits = range.prefix_bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    auto mask = static_cast<uint8_t>(bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
    if ((range.bytes[i] & mask) != (address.bytes[i] & mask)) {
      return false;
    }
  }
  return true;
}

std::optional<std::string_view> ClassifyV4(const uint8_t* a) {
  if (a[0] == 169 && a[1] == 254 && a[2] == 169 && a[3] == 254) {
    return "metadata";
  }
  if (a[0] == 0) {
    return "unspecified";
  }
  if (a[0] == 127) {
    return "loopback";
  }
  if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168)) {
    return "private";
  }
  if (a[0] == 100 && (a[1] & 0xc0) == 64) {
    return "carrier-grade NAT";
  }
  if (a[0] == 169 && a[1] == 254) {
    return "link-local";
  }
  if (a[0] >= 224 && a[0] < 240) {
    return "multicast";
  }
  if (a[0] >= 240 || (a[0] == 192 && a[1] == 0 && a[2] == 0) ||
      (a[0] == 198 && (a[1] & 0xfe) == 18)) {
    return "reserved";
  }
  return std::nullopt;
}

std::optional<std::string_view> ClassifyV6(const std::array<uint8_t, 16>& a) {
  static constexpr std::array<uint8_t, 16> kMetadata = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                                        0,    0,    0,    0,    0, 0, 0x02, 0x54};
  if (a == kMetadata) {
    return "metadata";
  }
  bool zero_head = std::all_of(a.begin(), a.begin() + 10, [](uint8_t b) { return b == 0; });
  if (zero_head && a[10] == 0xff && a[11] == 0xff) {
    return ClassifyV4(a.data() + 12);  // ::ffff:a.b.c.d
  }
  static constexpr std::array<uint8_t, 12> kNat64 = {0, 0x64, 0xff, 0x9b};
  if (std::equal(kNat64.begin(), kNat64.end(), a.begin())) {
    return ClassifyV4(a.data() + 12);  // 64:ff9b::a.b.c.d
  }
  if (zero_head && a[10] == 0 && a[11] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0) {
    return a[15] == 1 ? std::optional<std::string_view>("loopback")
                      : std::optional<std::string_view>("unspecified");  // ::1, ::, ::a.b.c.d
  }
  if ((a[0] & 0xfe) == 0xfc) {
    return "private";  // unique local fc00::/7
  }
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
    return "link-local";
  }
  if (a[0] == 0xff) {
    return "multicast";
  }
  if (a[0] == 0x20 && a[1] == 0x02) {
    return ClassifyV4(a.data() + 2);  // 6to4 2002:a.b.c.d::
  }
  return std::nullopt;
}

}  // namespace

std::string NormalizeHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  while (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  std::string out(host);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

constexpr std::array<std::string_view, 9> kMethods = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"};

bool EgressRule::AllowsMethod(std::string_view method) const {
  return methods.empty() || method.empty() ||
         std::find(methods.begin(), methods.end(), method) != methods.end();
}

bool EgressRule::Matches(std::string_view host_name, uint16_t port_number,
                         std::string_view method) const {
  if (port != 0 && port != port_number) {
    return false;
  }
  if (!AllowsMethod(method)) {
    return false;
  }
  if (host == "*") {
    return true;
  }
  if (host.starts_with("*.")) {
    return EndsWithLabel(host_name, std::string_view{host}.substr(2));
  }
  return host == host_name;
}

bool EgressRule::CoveredBy(const EgressRule& bound) const {
  if (bound.port != 0 && bound.port != port) {
    return false;
  }
  if (!bound.methods.empty()) {
    if (methods.empty()) {
      return false;  // every method, where the bound allows some
    }
    for (const std::string& method : methods) {
      if (!bound.AllowsMethod(method)) {
        return false;
      }
    }
  }
  if (bound.host == "*") {
    return true;
  }
  if (!bound.host.starts_with("*.")) {
    return bound.host == host;
  }
  std::string_view suffix = std::string_view{bound.host}.substr(2);
  std::string_view name = host.starts_with("*.") ? std::string_view{host}.substr(2) : host;
  return (host.starts_with("*.") && name == suffix) || EndsWithLabel(name, suffix);
}

Result<EgressRule> ParseEgressRule(std::string_view text) {
  EgressRule rule;
  rule.text = std::string(text);
  std::string_view host = text;
  if (size_t space = host.find(' '); space != std::string_view::npos) {
    std::string_view list = host.substr(0, space);
    host = host.substr(host.find_first_not_of(' ', space) == std::string_view::npos
                           ? host.size()
                           : host.find_first_not_of(' ', space));
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string method(list.substr(0, comma));
      std::transform(method.begin(), method.end(), method.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
        return BadRule(text, fmt::format("\"{}\" is not an HTTP method (GET, HEAD, POST, PUT, "
                                         "PATCH, DELETE, OPTIONS, TRACE or CONNECT)",
                                         method));
      }
      rule.methods.push_back(std::move(method));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  if (host.starts_with('[')) {  // [fd00::1] or [fd00::1]:443
    size_t close = host.find(']');
    if (close == std::string_view::npos) {
      return BadRule(text, "an IPv6 address in brackets lacks its ']'");
    }
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') {
        return BadRule(text, "expected ':' and a port after ']'");
      }
      ASSIGN_OR_RETURN(rule.port, ParsePort(text, host.substr(close + 2)));
    }
    host = host.substr(0, close + 1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    if (host.find(':', colon + 1) == std::string_view::npos) {
      ASSIGN_OR_RETURN(rule.port, ParsePort(text, host.substr(colon + 1)));
      host = host.substr(0, colon);
    }  // else a bare IPv6 address
  }
  rule.host = NormalizeHost(host);
  if (rule.host == "*" || ParseAddressLiteral(rule.host)) {
    return rule;
  }
  std::string_view name = rule.host;
  if (name.starts_with("*.")) {
    name.remove_prefix(2);
  }
  if (name.find('*') != std::string_view::npos) {
    return BadRule(text, "'*' may only stand alone or as the first label (*.example.com)");
  }
  if (!IsHostName(name)) {
    return BadRule(text, "not a host name");
  }
  return rule;
}

Result<std::vector<EgressRule>> ParseEgressRules(const std::vector<std::string>& texts) {
  std::vector<EgressRule> rules;
  for (const std::string& text : texts) {
    ASSIGN_OR_RETURN(EgressRule rule, ParseEgressRule(text));
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<AddressRange> ParseAddressRange(std::string_view text) {
  size_t slash = text.find('/');
  auto address = ParseAddressLiteral(text.substr(0, slash));
  AddressRange range;
  range.text = std::string(text);
  int max_bits = address && address->family == AF_INET ? 32 : 128;
  range.prefix_bits = max_bits;
  if (address && slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, err] =
        std::from_chars(digits.data(), digits.data() + digits.size(), range.prefix_bits);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() ||
        range.prefix_bits < 0 || range.prefix_bits > max_bits) {
      address.reset();
    }
  }
  if (!address) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("address range \"{}\": expected an address and a prefix length, "
                             "such as 10.200.0.0/24 or fd12::/64",
                             text));
  }
  range.family = address->family;
  range.bytes = address->bytes;
  return range;
}

std::string EgressAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes.data(), text, sizeof(text));
  return text;
}

std::optional<EgressAddress> ParseAddressLiteral(std::string_view host) {
  std::string text = NormalizeHost(host);
  EgressAddress address;
  if (::inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) {
    address.family = AF_INET;
    return address;
  }
  if (::inet_pton(AF_INET6, text.c_str(), address.bytes.data()) == 1) {
    address.family = AF_INET6;
    return address;
  }
  return std::nullopt;
}

std::optional<std::string_view> ForbiddenAddressClass(const EgressAddress& address) {
  return address.family == AF_INET ? ClassifyV4(address.bytes.data()) : ClassifyV6(address.bytes);
}

std::string_view EgressDenialName(EgressDenial denial) {
  switch (denial) {
    case EgressDenial::kNotAllowed:
      return "not_allowed";
    case EgressDenial::kDenyRule:
      return "deny_rule";
    case EgressDenial::kForbiddenAddress:
      return "forbidden_address";
    case EgressDenial::kHostMismatch:
      return "host_mismatch";
    case EgressDenial::kSniMismatch:
      return "sni_mismatch";
    case EgressDenial::kBadRequest:
      return "bad_request";
    case EgressDenial::kMethodNotAllowed:
      return "method_not_allowed";
  }
  return "unknown";
}

EgressVerdict CheckEgressHost(const EgressPolicy& policy, std::string_view host, uint16_t port,
                              std::string_view method) {
  std::string name = NormalizeHost(host);
  for (const EgressRule& rule : policy.deny) {
    if (rule.Matches(name, port, method)) {
      return {false, EgressDenial::kDenyRule, rule.text};
    }
  }
  const EgressRule* other_methods = nullptr;  // allows the host, for other methods
  for (const EgressRule& rule : policy.allow) {
    if (rule.Matches(name, port, method)) {
      return {true, EgressDenial::kNotAllowed, rule.text};
    }
    if (other_methods == nullptr && rule.Matches(name, port)) {
      other_methods = &rule;
    }
  }
  if (other_methods != nullptr) {
    return {false, EgressDenial::kMethodNotAllowed, other_methods->text};
  }
  return {false, EgressDenial::kNotAllowed, "allow-list"};
}

std::optional<std::string_view> CheckEgressAddress(const EgressPolicy& policy,
                                                   const EgressAddress& address) {
  std::optional<std::string_view> forbidden = ForbiddenAddressClass(address);
  if (!forbidden || *forbidden == "metadata" || *forbidden == "unspecified") {
    return forbidden;
  }
  for (const AddressRange& range : policy.allow_private) {
    if (InRange(range, address)) {
      return std::nullopt;
    }
  }
  return forbidden;
}

}  // namespace warden::sandbox
