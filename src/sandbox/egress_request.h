// What the egress proxy reads from a run before it connects anywhere: the head of an HTTP proxy
// request (CONNECT host:port, or a plain request in absolute form) and, inside a CONNECT tunnel,
// the server name of a TLS ClientHello.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace warden::sandbox {

struct ProxyRequest {
  enum class Kind { kConnect, kForward };
  Kind kind = Kind::kConnect;
  std::string method;
  std::string host;  // normalized (NormalizeHost): the CONNECT target or the URL's host
  uint16_t port = 0;
  // kForward: the Host header as normalized host and port (empty when the request has none).
  std::string host_header;
  uint16_t host_header_port = 0;
  // kForward: the head to send to the server: the request line in origin form, the headers
  // without Proxy-* and Connection ones, and "Connection: close".
  std::string upstream_head;
};

// Parses a request head (through the empty line). kInvalidArgument saying what is wrong: a
// request that is not for a proxy ("GET / HTTP/1.1"), a scheme other than http://, no port...
Result<ProxyRequest> ParseProxyRequest(std::string_view head);

// The server name in a TLS ClientHello, read from the first bytes a client sent in a tunnel.
struct ClientHelloName {
  enum class State {
    kNeedMore,  // the ClientHello is not complete yet
    kNotTls,    // the bytes are not a TLS handshake
    kNoName,    // a ClientHello without a server name
    kFound,     // `name` holds the server name (normalized)
  };
  State state = State::kNeedMore;
  std::string name;
};

ClientHelloName ReadClientHelloName(std::string_view data);

}  // namespace warden::sandbox
