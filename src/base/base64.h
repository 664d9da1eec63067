// Base64 (RFC 4648 §4: the standard alphabet, with padding): how bytes that are not text travel
// inside JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden {

std::string Base64Encode(std::string_view bytes);

// The bytes `text` encodes; std::nullopt unless it is canonical padded base64 (length a multiple
// of 4, only the alphabet, '=' only at the end, unused bits zero).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace warden
