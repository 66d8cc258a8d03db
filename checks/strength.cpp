// Secret strength heuristics: placeholder markers and a small entropy estimate.
#include "checks/strength.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

namespace steward::checks {
namespace {

std::string lower(std::string_view v) {
    std::string out(v);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// Only as the whole value: short words would trip on chance substrings of random values.
constexpr std::array kWholeWords{
    "secret",   "password", "passwd",  "pass",     "test",      "testing",     "default", "admin", "root",
    "postgres", "token",    "key",     "changeit", "none",      "null",        "todo",    "tbd",   "dummy",
    "fake",     "sample",   "letmein", "qwerty",   "secret123", "password123", "admin123"};
// Also inside a longer value: long enough never to occur by chance in a random secret.
constexpr std::array kMarkers{
    "changeme",   "change_me", "change-me",  "change-this", "change_this", "your-secret",      "your_secret",
    "your-",      "your_",     "example",    "placeholder", "insecure",    "django-insecure-", "replace-me",
    "replace_me", "notsecret", "not-secret", "supersecret", "dontuse",     "do-not-use"};

// Whole values published in documentation, templates and the seed guides.
constexpr std::array kPublished{
    "super-secret-jwt-token-with-at-least-32-characters-long",  // Supabase's self-hosting default
    "your-256-bit-secret",
    "your-384-bit-secret",
    "your-512-bit-secret",  // jwt.io's debugger
    "secure-smtp-password",
    "your-secret-key-here",
    "changeme",
    "your-secure-password",
    "secure-password",
    "secure_password",
    "your-strong-password",
    "sk-production-key",  // the seed guides
    "keyboard cat",       // express-session's README
    "minioadmin",         // MinIO's root password
    "your_jwt_secret",
    "your-jwt-secret",
    "your-super-secret-jwt-token-with-at-least-32-characters-long"};
// Values that say they are not for production, however long.
constexpr std::array kAnnounced{"change-in-production",    "change_in_production",     "changeinproduction",
                                "change-me-in-production", "not-for-production",       "not_for_production",
                                "notforproduction",        "do-not-use-in-production", "for-development-only",
                                "development-only",        "dev-only-secret",          "insecure-default"};
constexpr std::array kAnnouncedPrefixes{"dev-secret", "dev_secret", "devsecret", "development-secret",
                                        "django-insecure-"};

bool only_filler(std::string_view v) {
    return std::all_of(v.begin(), v.end(), [](char c) { return c == 'x' || c == '.' || c == '*'; });
}

}  // namespace

std::size_t min_secret_length(SecretKind kind) { return kind == SecretKind::password ? 16 : 32; }

bool is_placeholder(std::string_view value) {
    std::string v = lower(value);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
    if (v.empty()) return false;  // empty is "missing", not a placeholder
    if (only_filler(v)) return true;
    if (v.size() >= 2 && v.front() == '<' && v.back() == '>') return true;
    for (const char* w : kWholeWords)
        if (v == w) return true;
    for (const char* m : kMarkers)
        if (v.find(m) != std::string::npos) return true;
    return false;
}

bool is_published_default(std::string_view value) {
    std::string v = lower(value);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
    if (v.empty()) return false;
    for (const char* p : kPublished)
        if (v == p) return true;
    for (const char* m : kAnnounced)
        if (v.find(m) != std::string::npos) return true;
    for (const char* p : kAnnouncedPrefixes)
        if (v.rfind(p, 0) == 0) return true;
    return false;
}

double shannon_bits_per_char(std::string_view value) {
    if (value.empty()) return 0.0;
    std::array<std::size_t, 256> counts{};
    for (unsigned char c : value) ++counts[c];
    double bits = 0.0;
    const double n = static_cast<double>(value.size());
    for (std::size_t c : counts) {
        if (c == 0) continue;
        double p = static_cast<double>(c) / n;
        bits -= p * std::log2(p);
    }
    return bits;
}

bool is_low_entropy(std::string_view value) {
    const std::size_t n = value.size();
    if (n == 0) return false;
    if (n == 1 || shannon_bits_per_char(value) < kMinBitsPerChar) return true;
    std::size_t close = 0;
    for (std::size_t i = 1; i < n; ++i) {
        int d = static_cast<unsigned char>(value[i]) - static_cast<unsigned char>(value[i - 1]);
        if (d >= -1 && d <= 1) ++close;
    }
    if (static_cast<double>(close) >= kMaxSequentialFraction * static_cast<double>(n - 1)) return true;
    for (std::size_t period = 1; period <= n / 2; ++period) {
        bool repeats = true;
        for (std::size_t i = period; i < n && repeats; ++i) repeats = value[i] == value[i - period];
        if (repeats) return true;
    }
    return false;
}

}  // namespace steward::checks
