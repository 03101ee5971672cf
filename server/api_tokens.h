// API tokens: 256 random bits from libsodium, shown once; the record keeps only their BLAKE2b hash.
// (A token has full entropy, so a fast keyed-free hash is enough: nothing to stretch against guessing.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reread {

// "rr_" followed by 43 URL-safe base64 characters (32 random bytes).
std::string new_api_token();
std::vector<std::uint8_t> api_token_hash(std::string_view token);
// The token of an "Authorization: Bearer <token>" header; nullopt when the header is not that.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace reread
