// Fuzzes pg::redact_url with the property that a password of 8 or more characters never reaches its output.
#include <libpq-fe.h>

#include <cctype>
#include <functional>
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

// Replaces every occurrence of `what` in `text` with `with`.
std::string replace_all(std::string text, const std::string& what, const std::string& with) {
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
        text.replace(at, what.size(), with);
    return text;
}

// redact_url's output without the words it prints itself (the schemes and "keyword=" of every libpq keyword),
// so that a password spelled like one ("password", "postgresql") is only found where it is the value.
std::string without_vocabulary(std::string text) {
    static const std::vector<std::string> words = [] {
        std::vector<std::string> w{"postgresql://", "postgres://"};
        PQconninfoOption* defaults = PQconndefaults();
        for (auto* o = defaults; o && o->keyword; ++o) w.push_back(std::string(o->keyword) + "=");
        PQconninfoFree(defaults);
        return w;
    }();
    for (const auto& w : words) text = replace_all(text, w, "\x01");
    return text;
}

// The property, differentially: `password` (8+ characters) may be in the output for the input
// `make(password)` only when it is also there for `make(other)`, another password of the same length (then it
// is the host name or it spells the mask itself: not the password leaking).
void expect_hidden(const std::function<std::string(const std::string&)>& make, const std::string& password) {
    if (password.size() < 8) return;
    auto input = make(password);
    auto redacted = steward::pg::redact_url(input);
    if (without_vocabulary(redacted).find(password) == std::string::npos) return;
    // Another password that occurs nowhere in the input: redact_url masks the password wherever it appears.
    std::string other;
    for (char c : std::string("QZJXKV")) {
        other.assign(password.size(), c);
        if (other != password && input.find(other) == std::string::npos) break;
    }
    if (without_vocabulary(steward::pg::redact_url(make(other))).find(password) != std::string::npos) return;
    steward::fuzz::property_failed(
        "password in redact_url output",
        input + " -> " + redacted + " (with another password: " + steward::pg::redact_url(make(other)) + ")");
}

}  // namespace

STEWARD_FUZZ_TARGET(redact_url) {
    std::string text(steward::fuzz::as_text(data, size));
    if (text.find('\0') != std::string::npos) {
        steward::pg::redact_url(text);
        return 0;
    }
    // 1. Whatever libpq reads as a password in the raw input.
    for (const auto& password : libpq_passwords(text))
        expect_hidden([&](const std::string& p) { return replace_all(text, password, p); }, password);
    // 2. The input's first line as a password (percent-encoded in a URL, quoted in key=value), the rest as
    // the URL's host, path and query or further keywords.
    auto newline = text.find('\n');
    std::string password = text.substr(0, newline);
    std::string rest = newline == std::string::npos ? "" : text.substr(newline + 1);
    if (password.size() < 8) return 0;
    for (const auto& scheme : {"postgresql://", "postgres://"}) {
        auto url = [&](const std::string& p) {
            return std::string(scheme) + "app:" + percent_encode(p) + "@" + rest;
        };
        expect_hidden(url, password);
    }
    auto keywords = [&](const std::string& p) {
        std::string quoted;
        for (char c : p) {
            if (c == '\'' || c == '\\') quoted += '\\';
            quoted += c;
        }
        return "host=127.0.0.1 password='" + quoted + "' " + rest;
    };
    expect_hidden(keywords, password);
    return 0;
}
