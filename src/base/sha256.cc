#include "base/sha256.h"

namespace warden {

void Sha256::Update(const void* data, size_t size) {
  sha256_update(&context_, size, static_cast<const uint8_t*>(data));
}

Sha256::Digest Sha256::Finish() {
  Digest digest;
  // nettle's digest function also starts the context over, as Finish() promises.
  sha256_digest(&context_, digest.size(), digest.data());
  return digest;
}

std::string Sha256::FinishHex() {
  return ToHex(Finish());
}

void Sha256::Reset() {
  sha256_init(&context_);
}

std::string ToHex(const Sha256::Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * digest.size());
  for (uint8_t byte : digest) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0xf]);
  }
  return hex;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 hash;
  hash.Update(data);
  return hash.FinishHex();
}

}  // namespace warden
