// SHA-256 (FIPS 180-4), streaming, for artifact manifests and checksums. Written from the
// specification so that the binary needs no crypto library.
#pragma once

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
// Holds only its 112 bytes of state; copyable; not thread-safe.
class Sha256 {
 public:
  static constexpr size_t kDigestBytes = 32;
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
  static constexpr size_t kBlockBytes = 64;

  // Processes one 512-bit block (FIPS 180-4 §6.2.2).
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_{};
  std::array<uint8_t, kBlockBytes> buffer_{};
  size_t buffered_bytes_ = 0;
  uint64_t message_bytes_ = 0;
};

// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// `digest` as lower-case hex digits.
std::string ToHex(const Sha256::Digest& digest);

}  // namespace warden
