// SHA-256 (FIPS 180-4), streaming, for artifact manifests and API key digests: a small value
// type over nettle's implementation (already linked for libarchive), so that callers need not
// speak nettle's C interface.
#pragma once

#include <nettle/sha2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace warden {

// Computes the SHA-256 digest of a message fed in pieces of any size:
//
//   Sha256 hash;
//   while (auto piece = reader.Next()) hash.Update(*piece);
//   std::string hex = hash.FinishHex();  // 64 lower-case hex digits
//
// Holds only nettle's context (112 bytes), no heap memory; copyable; not thread-safe.
class Sha256 {
 public:
  static constexpr size_t kDigestBytes = SHA256_DIGEST_SIZE;
  using Digest = std::array<uint8_t, kDigestBytes>;

  Sha256() { Reset(); }

  // Appends `data` to the message.
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  void Update(const void* data, size_t size);

  // Returns the digest of everything passed to Update() since construction or the last Finish(),
  // and starts a new, empty message.
  Digest Finish();
  // Finish() as 64 lower-case hex digits.
  std::string FinishHex();

  // Discards the message so far.
  void Reset();

 private:
  sha256_ctx context_{};
};

// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// `digest` as lower-case hex digits.
std::string ToHex(const Sha256::Digest& digest);

}  // namespace warden
