// Fuzzes pg::redact_url with the property that a password of 8 or more characters never reaches its output.
#include <libpq-fe.h>

#include <cctype>
#include <string>
#include <vector>

#include "core/pg.hpp"
#include "fuzz/fuzz_target.hpp"

namespace {

// Every password libpq itself would read from `conninfo` (URL or key=value form).
std::vector<std::string> libpq_passwords(const std::string& conninfo) {
    std::vector<std::string> out;
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (error) PQfreemem(error);
    if (!options) return out;
    for (auto* o = options; o->keyword; ++o)
        if (o->val && (std::string(o->keyword) == "password" || std::string(o->keyword) == "sslpassword"))
            out.emplace_back(o->val);
    PQconninfoFree(options);
    return out;
}

std::string percent_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// A long password that also occurs elsewhere in the input (as a host name, say) may rightly be printed.
void expect_hidden(const std::string& input, const std::string& password, std::size_t occurrences_allowed) {
    if (password.size() < 8) return;
    std::size_t occurrences = 0;
    for (auto at = input.find(password); at != std::string::npos; at = input.find(password, at + 1))
        ++occurrences;
    if (occurrences > occurrences_allowed) return;
    auto redacted = steward::pg::redact_url(input);
    STEWARD_FUZZ_CHECK(redacted.find(password) == std::string::npos, input + " -> " + redacted);
}

}  // namespace

STEWARD_FUZZ_TARGET(redact_url) {
    std::string text(steward::fuzz::as_text(data, size));
    if (text.find('\0') != std::string::npos) {
        steward::pg::redact_url(text);
        return 0;
    }
    // 1. Whatever libpq reads as a password in the raw input.
    for (const auto& password : libpq_passwords(text)) expect_hidden(text, password, 1);
    // 2. The input's first line as a password, the rest as the URL's host, path and query.
    auto newline = text.find('\n');
    std::string password = text.substr(0, newline);
    std::string rest = newline == std::string::npos ? "" : text.substr(newline + 1);
    if (password.size() >= 8 && rest.find(password) == std::string::npos) {
        for (const auto& scheme : {"postgresql://", "postgres://"}) {
            std::string url = std::string(scheme) + "app:" + percent_encode(password) + "@" + rest;
            auto redacted = steward::pg::redact_url(url);
            STEWARD_FUZZ_CHECK(redacted.find(password) == std::string::npos, url + " -> " + redacted);
            auto encoded = percent_encode(password);
            if (rest.find(encoded) == std::string::npos)
                STEWARD_FUZZ_CHECK(redacted.find(encoded) == std::string::npos, url + " -> " + redacted);
        }
        std::string quoted;
        for (char c : password) {
            if (c == '\'' || c == '\\') quoted += '\\';
            quoted += c;
        }
        std::string kv = "host=127.0.0.1 password='" + quoted + "' " + rest;
        auto redacted = steward::pg::redact_url(kv);
        STEWARD_FUZZ_CHECK(redacted.find(password) == std::string::npos, kv + " -> " + redacted);
    }
    return 0;
}
