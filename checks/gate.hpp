// The startup validation gate: every rule steward checks before anything starts, and how to run them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/secret.hpp"
#include "core/service_env.hpp"
#include "core/spec.hpp"

namespace steward::checks {

enum class Severity { error, warning, info };
std::string to_string(Severity);

// One thing the gate found. Never carries a secret value.
struct Finding {
    std::string id;  // rule id, e.g. "secret.too_short"
    Severity severity = Severity::error;
    std::string path;  // dotted spec path: "secrets.jwt_secret", "database.url", "admin"
    int line = 0;      // line in `file` (the spec when empty), 0 when unknown
    std::string message;
    std::string hint;      // what to do about it
    std::string file{};    // an env file the finding is in; "" for the spec
    std::string waived{};  // checks.waive's reason when a waiver accepts it: then it never fails the gate
    bool is_waived() const { return !waived.empty(); }
};

// Where a rule could not look (steward check --lint): a value from an unset ${VAR}, an env file
// not read. Reported beside the findings so nothing is skipped silently.
struct Skipped {
    std::string path;
    std::string reason;
};

struct GateOptions {
    bool resolve_secrets = true;  // false: --no-secrets, rules that need secret values are skipped
    // --lint: resolve nothing on the host (no secrets, folders, programs, env files); the spec was
    // loaded with LoadOptions::lint, so unset ${VAR}s are unknown and rules that need them skip.
    bool lint = false;
    std::optional<std::filesystem::path> env_file;  // --env-file: the app's EnvironmentFile= to judge
    bool connect = false;                           // --connect: also ask the database
    std::chrono::seconds connect_timeout{5};
    // --connect against this URL instead of database.url (the CLI passes the embedded server's).
    std::optional<std::string> database_url;
};

// What a rule needs besides the spec; --no-secrets skips `secrets`, --lint skips `secrets` and
// `host` (folders, programs, env files), only --connect runs `connect`.
enum class Needs { spec, secrets, host, connect };
std::string to_string(Needs);

struct RuleInfo {
    std::string id;
    // Severity per environment; nullopt means the rule does not run in that environment.
    std::optional<Severity> development;
    std::optional<Severity> staging;
    std::optional<Severity> production;
    Needs needs = Needs::spec;
    std::string why;       // one line
    bool waivable = true;  // false: checks.waive may not accept it (placeholder and published secrets)
    std::optional<Severity> severity_in(Environment env) const;
};

// Every rule, in the order they run.
const std::vector<RuleInfo>& rules();

// --- Facts: what the I/O side found out, so the rules stay pure. ---

struct PathFacts {
    bool exists = false;
    bool is_directory = false;
    bool writable = false;  // a file could actually be created in it
    std::string error;      // why not, when known
};

struct ProgramFacts {
    std::string resolved;  // where argv[0] was looked for / found
    bool found = false;
    bool executable = false;
};

// A secret's file (file: or credential:) as steward's user sees it.
struct SecretFileFacts {
    std::filesystem::path path;
    bool in_secret_mount = false;  // under /run/secrets, /var/run/secrets or $CREDENTIALS_DIRECTORY
    bool writable = false;         // steward's user may change it (mode bits, and the mount is not read-only)
};

// The app's env file given to `check --env-file`.
struct EnvFileFacts {
    std::filesystem::path path;
    std::vector<EnvFileEntry> entries;
    std::vector<std::string> errors;  // unreadable, lines that are not KEY=VALUE
};

struct ConnectFacts {
    bool skipped = false;  // e.g. database.embedded: nothing to connect to before steward starts it
    std::string skip_reason;
    bool answered = false;
    std::string error;           // redacted connection error
    std::string server_version;  // "15.5"
    int server_major = 0;
    std::optional<int> pg_dump_major;
    std::string pg_dump_version;  // "15.5" as pg_dump reports it
    std::string pg_dump_error;    // pg_dump missing or failing
    std::optional<std::string> migration_lock_holder;
    std::string role;               // the user steward connected as
    std::optional<bool> superuser;  // whether that role is a superuser
    std::optional<bool> createdb;   // whether that role may create databases (rolcreatedb)
    std::string lock_error;         // the lock query failed
};

struct GateFacts {
    uid_t uid = 0;                           // the user steward runs as (secret file owner)
    std::optional<std::string> pgsslmode;    // PGSSLMODE from the environment: libpq's default for sslmode
    std::optional<std::string> pghost;       // PGHOST: libpq's host when the URL names none
    std::optional<std::string> pghostaddr;   // PGHOSTADDR: libpq's hostaddr when the URL names none
    bool database_password_in_spec = false;  // database.url's password is written in the spec file itself
    std::optional<PathFacts> backup_dir;
    std::optional<PathFacts> migrations_dir;
    std::map<std::string, ProgramFacts> service_programs;  // by service name
    std::map<std::string, PathFacts> service_workdirs;     // by service name, for services with a workdir
    std::map<std::string, SecretFileFacts> secret_files;   // by secret name, file and credential secrets
    // By service name: what resolve_service_env gives it (secret references left unresolved).
    std::map<std::string, ServiceEnvironment> service_envs;
    std::optional<EnvFileFacts> env_file;  // --env-file
    bool lint = false;                     // --lint: no host facts were gathered
    std::optional<ConnectFacts> connect;   // set only with --connect
};

// Stats paths, looks up programs and (with options.connect) asks the database.
GateFacts gather_facts(const Spec& spec, const GateOptions& options);

// Pure: runs every rule against the spec, the resolved secrets (null: --no-secrets) and facts, then
// marks what checks.waive accepts. `skipped` (when given) receives what could not be judged.
std::vector<Finding> evaluate(const Spec& spec, const std::map<std::string, ResolvedSecret>* secrets,
                              const GateFacts& facts, std::vector<Skipped>* skipped = nullptr);

// Resolves secrets (unless told not to), gathers facts, evaluates. Findings sorted by severity.
std::vector<Finding> run_gate(const Spec& spec, const GateOptions& options = {},
                              std::vector<Skipped>* skipped = nullptr);

// The scheme of a URL that is not PostgreSQL's ("sqlite" for sqlite:///data/app.db), else "".
// postgresql+asyncpg:// (SQLAlchemy's dialect form) counts as foreign: libpq does not read it.
std::string foreign_scheme(const std::string& url);

// Checks what the spec loader cannot: every checks.waive names a rule that exists and may be waived,
// every min_length keeps at least the built-in minimum. Throws SpecError (exit 2).
void validate_checks_section(const Spec& spec);

// True when nothing of severity error was found that a waiver does not accept.
bool gate_passes(const std::vector<Finding>& findings);

// The gate `steward run` runs first: logs every finding (error/warn/info) under "gate" and
// returns 0 when the daemon may start, 1 when it must not. `findings` (if given) receives them.
int run_startup_gate(const Spec& spec, const GateOptions& options = {}, std::vector<Finding>* findings = nullptr);

}  // namespace steward::checks
