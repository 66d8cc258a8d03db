// The chat API's settings, read only from its environment and its one flag (--port).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace chat {

struct Config {
    std::string database_url;
    std::string jwt_secret;  // empty only when require_auth is false and none was given
    bool require_auth = true;
    std::vector<std::string> cors_origins;  // exact origins; "*" allows any
    std::uint16_t port = 0;
};

// Thrown for a missing or malformed setting; what() names the setting and never its value
// when that value could be a secret.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Builds the configuration from `env` and the command-line arguments (without argv[0]).
// Throws ConfigError on anything missing or malformed.
Config load_config(const EnvLookup& env, const std::vector<std::string>& args);

// "1 true yes on" (any case) are true, "0 false no off" false; anything else is nullopt.
std::optional<bool> parse_bool(const std::string& text);

// Splits CORS_ORIGINS on commas; each entry must be "*" or scheme://host[:port].
std::vector<std::string> parse_origins(const std::string& text);

// A usage text for --help and for usage errors.
const char* usage();

}  // namespace chat
