// Plain TCP and TLS (Asio's OpenSSL stream) behind one Transport interface: the only file of the
// server that includes OpenSSL.
#include "api/http_transport.h"

#include <openssl/ssl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <fmt/format.h>

namespace warden::api {

class TlsContext {
 public:
  asio::ssl::context ssl{asio::ssl::context::tls_server};
};

namespace {

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(Tcp::socket socket) : socket_(std::move(socket)) {}

  Tcp::socket& socket() override { return socket_; }
  bool encrypted() const override { return false; }

  void AsyncHandshake(DoneHandler handler) override {
    asio::post(socket_.get_executor(), [handler = std::move(handler)]() mutable {
      std::move(handler)(boost::system::error_code());
    });
  }

  void AsyncReadSome(asio::mutable_buffer buffer, IoHandler handler) override {
    socket_.async_read_some(buffer, std::move(handler));
  }

  void AsyncWriteSome(std::vector<asio::const_buffer> buffers, IoHandler handler) override {
    socket_.async_write_some(buffers, std::move(handler));
  }

  void AsyncShutdown(DoneHandler handler) override {
    boost::system::error_code ec;
    socket_.shutdown(Tcp::socket::shutdown_send, ec);
    asio::post(socket_.get_executor(),
               [handler = std::move(handler), ec]() mutable { std::move(handler)(ec); });
  }

 private:
  Tcp::socket socket_;
};

class TlsTransport final : public Transport {
 public:
  TlsTransport(Tcp::socket socket, std::shared_ptr<TlsContext> context)
      : context_(std::move(context)), stream_(std::move(socket), context_->ssl) {}

  Tcp::socket& socket() override { return stream_.next_layer(); }
  bool encrypted() const override { return true; }

  void AsyncHandshake(DoneHandler handler) override {
    stream_.async_handshake(asio::ssl::stream_base::server, std::move(handler));
  }

  void AsyncReadSome(asio::mutable_buffer buffer, IoHandler handler) override {
    stream_.async_read_some(buffer, std::move(handler));
  }

  void AsyncWriteSome(std::vector<asio::const_buffer> buffers, IoHandler handler) override {
    stream_.async_write_some(buffers, std::move(handler));
  }

  void AsyncShutdown(DoneHandler handler) override { stream_.async_shutdown(std::move(handler)); }

 private:
  std::shared_ptr<TlsContext> context_;  // before stream_, which uses it
  asio::ssl::stream<Tcp::socket> stream_;
};

Error TlsError(std::string_view what, const std::string& file, std::string_view reason) {
  return Error(ErrorCode::kInvalidArgument, fmt::format("{} {}: {}", what, file, reason));
}

}  // namespace

std::unique_ptr<Transport> MakePlainTransport(Tcp::socket socket) {
  return std::make_unique<PlainTransport>(std::move(socket));
}

std::unique_ptr<Transport> MakeTlsTransport(Tcp::socket socket,
                                            std::shared_ptr<TlsContext> context) {
  return std::make_unique<TlsTransport>(std::move(socket), std::move(context));
}

Result<std::shared_ptr<TlsContext>> LoadTlsContext(const TlsOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "TLS needs both a certificate chain and its private key (PEM files)");
  }
  auto context = std::make_shared<TlsContext>();
  asio::ssl::context& ssl = context->ssl;
  boost::system::error_code ec;
  // TLS 1.2 and 1.3 only.
  ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                  ec);
  if (ssl.use_certificate_chain_file(options.cert_file, ec); ec) {
    return TlsError("TLS certificate", options.cert_file, ec.message());
  }
  if (ssl.use_private_key_file(options.key_file, asio::ssl::context::pem, ec); ec) {
    return TlsError("TLS private key", options.key_file, ec.message());
  }
  if (::SSL_CTX_check_private_key(ssl.native_handle()) != 1) {
    return TlsError("TLS private key", options.key_file,
                    "it does not belong to the certificate " + options.cert_file);
  }
  if (!options.client_ca_file.empty()) {
    if (ssl.load_verify_file(options.client_ca_file, ec); ec) {
      return TlsError("TLS client CA", options.client_ca_file, ec.message());
    }
    // Tells clients which CAs are accepted, so that one with several certificates picks right.
    STACK_OF(X509_NAME)* names = ::SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr) {
      return TlsError("TLS client CA", options.client_ca_file, "no certificate in it");
    }
    ::SSL_CTX_set_client_CA_list(ssl.native_handle(), names);  // takes ownership
    ssl.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert |
                            asio::ssl::verify_client_once,
                        ec);
    // Resumed sessions must be tied to this context, or OpenSSL refuses them when verifying.
    constexpr unsigned char kSessionContext[] = "warden";
    ::SSL_CTX_set_session_id_context(ssl.native_handle(), kSessionContext,
                                     sizeof(kSessionContext) - 1);
  }
  return context;
}

}  // namespace warden::api
