// Bearer-token checks: an HS256 JWT verified with libjwt, plus the claim checks libjwt 1.10 lacks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat {

struct TokenCheck {
    bool ok = false;
    std::string subject;  // the JWT's `sub` when ok
    std::string error;    // why not, for logs; never contains the token or the key
};

// The token of an `Authorization: Bearer <token>` header value; nullopt for any other scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// Accepts only alg HS256 with a valid signature under `key`, a numeric `exp` after `now`
// (Unix seconds), `nbf` (if present) not after `now`, and a non-empty string `sub`.
TokenCheck verify_token(std::string_view token, std::string_view key, std::int64_t now);

}  // namespace chat
