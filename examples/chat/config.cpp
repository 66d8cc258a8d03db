// Reads and checks the chat API's settings; errors name the setting, never a secret's value.
#include "config.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace chat {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::uint16_t parse_port(const std::string& text, const std::string& what) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535)
        throw ConfigError(what + " must be a port number from 1 to 65535, got '" + text + "'");
    return static_cast<std::uint16_t>(value);
}

// libpq's own parser decides; its message is not repeated because it can quote password pieces.
void check_database_url(const std::string& url) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
    if (error) PQfreemem(error);
    if (!options) throw ConfigError("DATABASE_URL is not a valid PostgreSQL connection string");
    PQconninfoFree(options);
}

}  // namespace

std::optional<bool> parse_bool(const std::string& text) {
    auto t = lower(trim(text));
    if (t == "1" || t == "true" || t == "yes" || t == "on") return true;
    if (t == "0" || t == "false" || t == "no" || t == "off") return false;
    return std::nullopt;
}

std::vector<std::string> parse_origins(const std::string& text) {
    std::vector<std::string> origins;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        auto origin = trim(text.substr(start, comma - start));
        start = comma + 1;
        if (origin.empty()) continue;
        if (origin.size() > 1 && origin.back() == '/') origin.pop_back();  // a common copy-paste slip
        if (origin != "*") {
            auto scheme_end = origin.find("://");
            auto scheme = scheme_end == std::string::npos ? "" : lower(origin.substr(0, scheme_end));
            auto host = scheme_end == std::string::npos ? "" : origin.substr(scheme_end + 3);
            bool ok = (scheme == "http" || scheme == "https") && !host.empty() &&
                      host.find_first_of("/?#@ ") == std::string::npos;
            if (!ok)
                throw ConfigError("CORS_ORIGINS: '" + origin +
                                  "' is not an origin (scheme://host[:port], or *)");
        }
        origins.push_back(origin);
    }
    return origins;
}

Config load_config(const EnvLookup& env, const std::vector<std::string>& args) {
    Config c;
    std::optional<std::string> port_flag;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--port") {
            if (i + 1 >= args.size()) throw ConfigError("--port needs a value");
            port_flag = args[++i];
        } else if (a.rfind("--port=", 0) == 0) {
            port_flag = a.substr(7);
        } else {
            throw ConfigError("unknown argument '" + a + "'");
        }
    }

    auto url = env("DATABASE_URL");
    if (!url || url->empty()) throw ConfigError("DATABASE_URL is not set");
    check_database_url(*url);
    c.database_url = *url;

    if (auto v = env("REQUIRE_AUTH"); v && !trim(*v).empty()) {
        auto b = parse_bool(*v);
        if (!b)
            throw ConfigError("REQUIRE_AUTH must be true or false (1/0, yes/no, on/off), got '" + *v + "'");
        c.require_auth = *b;
    }
    if (auto v = env("JWT_SECRET_KEY"); v) c.jwt_secret = *v;
    if (c.require_auth && c.jwt_secret.empty())
        throw ConfigError("JWT_SECRET_KEY is not set (required while REQUIRE_AUTH is true)");

    if (auto v = env("CORS_ORIGINS"); v) c.cors_origins = parse_origins(*v);

    if (port_flag) {
        c.port = parse_port(*port_flag, "--port");
    } else if (auto v = env("PORT"); v && !v->empty()) {
        c.port = parse_port(*v, "PORT");
    } else {
        throw ConfigError("PORT is not set (or pass --port N)");
    }
    return c;
}

const char* usage() {
    return "usage: chat-api [--port N]\n"
           "Example chat API. Settings come from the environment:\n"
           "  DATABASE_URL    PostgreSQL connection URL (required)\n"
           "  JWT_SECRET_KEY  HS256 key for bearer tokens (required while REQUIRE_AUTH is true)\n"
           "  REQUIRE_AUTH    true|false, default true\n"
           "  CORS_ORIGINS    comma-separated origins allowed to call the API from a browser\n"
           "  PORT            port on 127.0.0.1 (--port overrides it)\n";
}

}  // namespace chat
