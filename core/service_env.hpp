// What a supervised service receives: its environment resolved from the spec, for the gate and the
// supervisor.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/secret.hpp"
#include "core/spec.hpp"

namespace steward {

// One variable of a service's environment and where its value came from.
struct ServiceEnvVar {
    enum class Source { base, literal, secret, database_url, setting, env_file };
    std::string name;
    std::string value;  // may be a secret's value: print only when `secret` is false
    Source source = Source::literal;
    std::string origin;   // the spec path it came from: "services.api.env.DEBUG"; "" for the base
    bool secret = false;  // never printed, logged or exported
    int line = 0;         // Source::env_file: the line in that file
};

struct ServiceEnvironment {
    std::vector<ServiceEnvVar> vars;           // by name, final values
    std::vector<std::string> problems;         // references that did not resolve (a missing secret, ...)
    std::vector<std::string> left_out;         // env entries of optional secrets that are unset
    std::vector<std::string> env_file_errors;  // the env_file's problems (also in `problems`)
    bool ok() const { return problems.empty(); }
    const ServiceEnvVar* find(const std::string& name) const;
    std::map<std::string, std::string> to_map() const;
};

// One KEY=VALUE of an env file.
struct EnvFileEntry {
    std::string name;
    std::string value;
    int line = 0;
};

struct EnvFile {
    std::vector<EnvFileEntry> entries;  // in file order; a later KEY wins
    std::vector<std::string> errors;    // unreadable file, lines that are not KEY=VALUE ("FILE:3: ...")
};

// Parses env-file text as systemd's EnvironmentFile= and docker's --env-file write it: blank lines and
// `#`/`;` comments skipped, an optional `export `, KEY=VALUE with the value trimmed, "double" or
// 'single' quotes removed, and an unquoted value's trailing ` # comment` dropped. Nothing is expanded.
EnvFile parse_env_file(const std::string& text, const std::string& file_name);
// Reads (non-blocking, regular files only, at most 1 MiB) and parses an env file.
EnvFile read_env_file(const std::filesystem::path& file);

// The text a "security:..." or "spec:..." env reference stands for; nullopt when the setting is unset
// (security.base_url) or the reference is not one of kEnvSettings. Lists are comma-separated.
std::optional<std::string> setting_value(const Spec& spec, const std::string& reference);

// The fixed base every service starts from: PATH, LANG, HOME, USER (of `svc.user` when set, else
// steward's own). Never NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS or anything else of steward's.
std::map<std::string, std::string> service_base_env(const ServiceSpec& svc);

struct ServiceEnvOptions {
    bool read_env_file = true;  // false: `check --lint`, which reads nothing on the host
};

// The service's environment: the fixed base, then `env_file`'s variables, then `env` (which wins),
// with `secret:NAME`, `database:url` and the settings references filled in. An env entry whose
// optional secret is unset is left out. `database_url` is the effective URL (the embedded server's
// when database.embedded). The gate and the supervisor both call this, so what the gate judged is
// what the service gets.
ServiceEnvironment resolve_service_env(const Spec& spec, const ServiceSpec& svc,
                                       const std::map<std::string, ResolvedSecret>& secrets,
                                       const std::string& database_url,
                                       const ServiceEnvOptions& options = {});

}  // namespace steward
