// The byte stream under an HTTP connection: plain TCP, or TLS over it. Connections read and write
// through Transport::Stream, which Beast and Asio's composed operations take as they take a socket;
// OpenSSL stays inside http_transport.cc. Included only by the files that include Asio anyway.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "api/http.h"
#include "base/result.h"

namespace warden::api {

namespace asio = boost::asio;
using Tcp = asio::ip::tcp;

// One connection's stream. Every operation completes on the socket's executor (the connection's
// strand); at most one read and one write are in progress at a time. Not thread-safe.
class Transport {
 public:
  using IoHandler = asio::any_completion_handler<void(boost::system::error_code, size_t)>;
  using DoneHandler = asio::any_completion_handler<void(boost::system::error_code)>;

  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // The TCP socket underneath: for options, waiting for input, cancelling and closing.
  virtual Tcp::socket& socket() = 0;
  virtual bool encrypted() const = 0;
  // The server's side of the TLS handshake (plain TCP: completes at once).
  virtual void AsyncHandshake(DoneHandler handler) = 0;
  virtual void AsyncReadSome(asio::mutable_buffer buffer, IoHandler handler) = 0;
  virtual void AsyncWriteSome(std::vector<asio::const_buffer> buffers, IoHandler handler) = 0;
  // TLS: sends close_notify, then reads until the client's own (or its EOF). Plain TCP: shuts the
  // sending side down and completes at once.
  virtual void AsyncShutdown(DoneHandler handler) = 0;

  // The transport as an Asio AsyncReadStream and AsyncWriteStream (see stream()).
  class Stream {
   public:
    using executor_type = Tcp::socket::executor_type;

    explicit Stream(Transport& transport) : transport_(&transport) {}
    executor_type get_executor() { return transport_->socket().get_executor(); }
    Transport& transport() { return *transport_; }

    template <typename Buffers, typename Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
      return asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
          [transport = transport_](IoHandler handler, const Buffers& sequence) {
            // A read fills one buffer at a time anyway; Beast passes only one.
            asio::mutable_buffer first = *asio::buffer_sequence_begin(sequence);
            transport->AsyncReadSome(first, std::move(handler));
          },
          token, buffers);
    }

    template <typename Buffers, typename Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
      return asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
          [transport = transport_](IoHandler handler, const Buffers& sequence) {
            std::vector<asio::const_buffer> pieces(asio::buffer_sequence_begin(sequence),
                                                   asio::buffer_sequence_end(sequence));
            transport->AsyncWriteSome(std::move(pieces), std::move(handler));
          },
          token, buffers);
    }

   private:
    Transport* transport_;
  };

  // What Beast's and Asio's operations read from and write to; it lives as long as the transport,
  // which must outlive every operation started through it.
  Stream& stream() { return stream_; }

 private:
  Stream stream_{*this};
};

std::unique_ptr<Transport> MakePlainTransport(Tcp::socket socket);

// A server's certificate, key and client CAs, loaded once and shared by its TLS connections.
// Opaque (OpenSSL's context inside). Thread-safe once loaded.
class TlsContext;

// Loads the files of `options`. kInvalidArgument naming the file and OpenSSL's reason when one is
// missing, unreadable or malformed, or when the key does not match the certificate.
Result<std::shared_ptr<TlsContext>> LoadTlsContext(const TlsOptions& options);

std::unique_ptr<Transport> MakeTlsTransport(Tcp::socket socket,
                                            std::shared_ptr<TlsContext> context);

}  // namespace warden::api
