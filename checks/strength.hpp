// How strong a secret value is: placeholder words, length, and an entropy estimate (pure).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/spec.hpp"

namespace steward::checks {

// Minimum length per kind: 32 for tokens and keys, 16 for passwords.
std::size_t min_secret_length(SecretKind kind);

// A placeholder or default value. Short words (secret, password, test, default, admin, ...)
// and runs of x, '.', '*' count only as the whole value; longer markers (changeme, your-,
// example, placeholder, insecure, ...) also inside a longer value. Case-insensitive.
// Also `<...>` template values.
bool is_placeholder(std::string_view value);

// A published default or example value, matched on the whole value (case-insensitive): Supabase's
// default JWT secret, jwt.io's `your-256-bit-secret`, the seed guides' examples, framework defaults;
// and a value that announces itself as not for production however long it is (`...-change-in-production`,
// `...-not-for-production`, `dev-secret...`). An error in every environment.
bool is_published_default(std::string_view value);

// Shannon estimate of the value's own character distribution, in bits per character.
double shannon_bits_per_char(std::string_view value);

// Low entropy: Shannon estimate below kMinBitsPerChar, or at least 60% of the adjacent
// character pairs equal or neighbouring (aaaa, 123456, abcdef), or the value is a shorter
// string repeated (abcabc...). Thresholds chosen so that `openssl rand -hex 16`,
// `-base64 24` and 16 random letters/digits never tripped in 3e5 simulated values each (docs/gate.md, "How
// secrets are judged").
inline constexpr double kMinBitsPerChar = 2.5;
inline constexpr double kMaxSequentialFraction = 0.6;
bool is_low_entropy(std::string_view value);

}  // namespace steward::checks
