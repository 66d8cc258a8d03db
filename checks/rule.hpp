// Inside the gate: what a rule sees, what it reports, and the table that lists every rule.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "checks/gate.hpp"
#include "core/pg.hpp"

namespace steward::checks {

struct RuleContext {
    const Spec& spec;
    const std::map<std::string, ResolvedSecret>* secrets;  // null with --no-secrets
    const GateFacts& facts;

    // Line of a dotted spec path, falling back to its nearest present parent; 0 if none.
    int line(const std::string& path) const;
    // The resolved value of secrets.<name>, or null when it did not resolve (or --no-secrets).
    const Secret* secret(const std::string& name) const;
    // The minimum length of a secret: its kind's, raised by checks.min_secret_length and min_length.
    std::size_t min_length(const SecretSpec& s) const;
};

// What a rule reports; the table adds the id and the severity for the environment.
struct Hit {
    std::string path;
    std::string message;
    std::string hint;
    int line = 0;        // set for a finding in an env file (`file`); else the spec line of `path`
    std::string file{};  // the env file
};
using Hits = std::vector<Hit>;
using RuleCheck = void (*)(const RuleContext&, Hits&);

struct Rule {
    RuleInfo info;
    RuleCheck check;
};

// The one table: every rule with its severities, why, and the function that checks it.
const std::vector<Rule>& rule_table();

// The addresses libpq connects to, one per entry of host/hostaddr (from the URL, else PGHOST /
// PGHOSTADDR): hostaddr[i] when set, else host[i]; "" or a folder is the local socket.
std::vector<std::string> connect_targets(const pg::ConnInfo& info, const std::optional<std::string>& pghost,
                                         const std::optional<std::string>& pghostaddr);
// Host part of "host:port", "[v6]:port" or ":port" (empty: every interface).
std::string listen_host(const std::string& listen);
// 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(const std::string& host);

// Why a URL that libpq did parse is still not what the user meant ("" when fine): a port that is not a
// number or a host with '@' in it come from an unencoded '/', '?', '#' or '@' in the password. Never
// quotes the URL, since the misplaced parts are pieces of the password.
std::string misparsed_url(const pg::ConnInfo& info);
// libpq's parse error for `url` with every quoted fragment that overlaps the URL's password masked.

// A literal value that reaches a service: a services.NAME.env entry, a line of its env_file, or a
// line of `check --env-file`. Secret values (by name) are judged by the secret rules, the rest by name.
struct EnvLiteral {
    std::string service;  // "" for --env-file
    std::string var;
    std::string value;
    std::string path;    // services.NAME.env.VAR, services.NAME.env_file or env_file
    int line = 0;        // in `file`; 0 for spec entries (their line comes from the spec's marks)
    std::string file{};  // the env file, "" for spec entries
    bool from_file() const { return !file.empty(); }
};
std::vector<EnvLiteral> env_literals(const RuleContext& ctx);

// The setting a variable's name says it holds (env_settings.cpp).
enum class EnvSetting {
    none,
    debug,
    environment,
    require_auth,
    auth_enabled,
    auth_disabled,
    cors_origins,
    cookie_secure,
    base_url,
    rate_limit,
    log_level
};
// Case-insensitive, after stripping an APP_ prefix or the service's name (chat-api: CHAT_API_).
EnvSetting env_setting(const std::string& var, const std::string& service);
// The strings that count as true (1, true, yes, on) and false (0, false, no, off), any case.
std::optional<bool> env_flag(const std::string& value);
// The env side of the security and logging rules: hits for literals that set the setting unsafely.
void env_debug_enabled(const RuleContext& ctx, Hits& hits);
void env_auth_disabled(const RuleContext& ctx, Hits& hits);
void env_cors_wildcard(const RuleContext& ctx, Hits& hits);
void env_cors_http_origin(const RuleContext& ctx, Hits& hits);
void env_cookie_insecure(const RuleContext& ctx, Hits& hits);
void env_base_url_not_https(const RuleContext& ctx, Hits& hits);
void env_no_rate_limit(const RuleContext& ctx, Hits& hits);
void env_debug_logging(const RuleContext& ctx, Hits& hits);

// Secrets (rules_secrets.cpp)
void check_secret_missing(const RuleContext&, Hits&);
void check_secret_too_short(const RuleContext&, Hits&);
void check_secret_placeholder(const RuleContext&, Hits&);
void check_secret_low_entropy(const RuleContext&, Hits&);
void check_secret_inline_value(const RuleContext&, Hits&);
void check_secret_file_mode(const RuleContext&, Hits&);
void check_secret_file_owner(const RuleContext&, Hits&);
void check_secret_reused(const RuleContext&, Hits&);
void check_secret_service_env_literal(const RuleContext&, Hits&);
void check_secret_published_default(const RuleContext&, Hits&);
// A services.<name>.env variable name that says it holds a secret (JWT_SECRET_KEY, DB_PASSWORD, ...).
bool secret_like_env_name(const std::string& name);

// Security, database, admin API (rules_config.cpp)
void check_security_auth_disabled(const RuleContext&, Hits&);
void check_security_cors_wildcard(const RuleContext&, Hits&);
void check_security_cors_http_origin(const RuleContext&, Hits&);
void check_security_cookie_insecure(const RuleContext&, Hits&);
void check_security_base_url_not_https(const RuleContext&, Hits&);
void check_security_hsts_disabled(const RuleContext&, Hits&);
void check_security_debug_enabled(const RuleContext&, Hits&);
void check_security_no_rate_limit(const RuleContext&, Hits&);
void check_security_app_environment(const RuleContext&, Hits&);
void check_database_url_invalid(const RuleContext&, Hits&);
void check_database_sslmode(const RuleContext&, Hits&);
void check_database_weak_password(const RuleContext&, Hits&);
void check_database_embedded_in_production(const RuleContext&, Hits&);
void check_database_inline_password(const RuleContext&, Hits&);
void check_admin_exposed_without_token(const RuleContext&, Hits&);
void check_admin_weak_token(const RuleContext&, Hits&);
void check_admin_inline_token(const RuleContext&, Hits&);

// Operations and --connect (rules_operations.cpp)
void check_operations_no_backups(const RuleContext&, Hits&);
void check_operations_backup_dir(const RuleContext&, Hits&);
void check_operations_retention_too_short(const RuleContext&, Hits&);
void check_operations_migrations_dir(const RuleContext&, Hits&);
void check_operations_no_probes(const RuleContext&, Hits&);
void check_operations_service_command(const RuleContext&, Hits&);
void check_operations_service_workdir(const RuleContext&, Hits&);
void check_operations_service_env_file(const RuleContext&, Hits&);
void check_operations_debug_logging(const RuleContext&, Hits&);
void check_connect_database_unreachable(const RuleContext&, Hits&);
void check_connect_server_version(const RuleContext&, Hits&);
void check_connect_pg_dump_version(const RuleContext&, Hits&);
void check_connect_migration_lock_held(const RuleContext&, Hits&);
void check_connect_database_superuser(const RuleContext&, Hits&);
void check_connect_cannot_create_database(const RuleContext&, Hits&);

}  // namespace steward::checks
