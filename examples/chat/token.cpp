// Verifies HS256 bearer tokens: libjwt checks the signature, this file the algorithm and claims.
#include "token.hpp"

#include <jwt.h>

#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>

namespace chat {
namespace {

constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::size_t kMaxSubjectBytes = 255;

TokenCheck reject(std::string why) { return {false, {}, std::move(why)}; }

struct JwtFree {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
struct CharFree {
    void operator()(char* p) const { std::free(p); }
};

// A NumericDate claim as seconds; nullopt when absent or not a number.
std::optional<double> numeric_claim(const boost::json::object& claims, const char* name) {
    auto it = claims.find(name);
    if (it == claims.end()) return std::nullopt;
    const auto& v = it->value();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
    return std::nullopt;
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return std::nullopt;
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return std::nullopt;
    return token;
}

TokenCheck verify_token(std::string_view token, std::string_view key, std::int64_t now) {
    if (key.empty()) return reject("no key to verify tokens with");
    if (token.size() > kMaxTokenBytes) return reject("token too long");
    for (char c : token) {
        bool b64url = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        if (!b64url) return reject("token is not a compact JWS");
    }

    const std::string text(token);
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size()));
    std::unique_ptr<jwt_t, JwtFree> jwt(raw);
    if (rc != 0 || !jwt) return reject("malformed token or bad signature");

    // libjwt 1.10 verifies with whatever algorithm the token names; only HS256 is ours.
    if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return reject("algorithm is not HS256");
    if (std::unique_ptr<char, CharFree> crit(jwt_get_headers_json(jwt.get(), "crit")); crit)
        return reject("token has critical header extensions");

    std::unique_ptr<char, CharFree> grants(jwt_get_grants_json(jwt.get(), nullptr));
    if (!grants) return reject("token has no claims");
    boost::system::error_code ec;
    auto claims_value = boost::json::parse(grants.get(), ec);
    if (ec || !claims_value.is_object()) return reject("token claims are not an object");
    const auto& claims = claims_value.get_object();

    auto exp = numeric_claim(claims, "exp");
    if (!exp) return reject("token has no numeric exp claim");
    if (*exp <= static_cast<double>(now)) return reject("token expired");
    if (claims.contains("nbf")) {
        auto nbf = numeric_claim(claims, "nbf");
        if (!nbf) return reject("token nbf claim is not a number");
        if (*nbf > static_cast<double>(now)) return reject("token not valid yet");
    }

    auto sub = claims.find("sub");
    if (sub == claims.end() || !sub->value().is_string()) return reject("token has no string sub claim");
    const auto& subject = sub->value().get_string();
    if (subject.empty() || subject.size() > kMaxSubjectBytes) return reject("token sub is empty or too long");
    for (unsigned char c : subject)
        if (c < 0x20 || c == 0x7f) return reject("token sub has control characters");
    return {true, std::string(subject), {}};
}

}  // namespace chat
