// The startup validation gate: every rule steward checks before anything starts, and how to run them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/secret.hpp"
#include "core/spec.hpp"

namespace steward::checks {

enum class Severity { error, warning, info };
std::string to_string(Severity);

// One thing the gate found. Never carries a secret value.
struct Finding {
    std::string id;  // rule id, e.g. "secret.too_short"
    Severity severity = Severity::error;
    std::string path;  // dotted spec path: "secrets.jwt_secret", "database.url", "admin"
    int line = 0;      // line in the spec file, 0 when unknown
    std::string message;
    std::string hint;  // what to do about it
};

struct GateOptions {
    bool resolve_secrets = true;  // false: --no-secrets, rules that need secret values are skipped
    bool connect = false;         // --connect: also ask the database
    std::chrono::seconds connect_timeout{5};
    // --connect against this URL instead of database.url (the CLI passes the embedded server's).
    std::optional<std::string> database_url;
};

// What a rule needs besides the spec; --no-secrets skips `secrets`, only --connect runs `connect`.
enum class Needs { spec, secrets, connect };
std::string to_string(Needs);

struct RuleInfo {
    std::string id;
    // Severity per environment; nullopt means the rule does not run in that environment.
    std::optional<Severity> development;
    std::optional<Severity> staging;
    std::optional<Severity> production;
    Needs needs = Needs::spec;
    std::string why;  // one line
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
    std::optional<ConnectFacts> connect;                   // set only with --connect
};

// Stats paths, looks up programs and (with options.connect) asks the database.
GateFacts gather_facts(const Spec& spec, const GateOptions& options);

// Pure: runs every rule against the spec, the resolved secrets (null: --no-secrets) and facts.
std::vector<Finding> evaluate(const Spec& spec, const std::map<std::string, ResolvedSecret>* secrets,
                              const GateFacts& facts);

// Resolves secrets (unless told not to), gathers facts, evaluates. Findings sorted by severity.
std::vector<Finding> run_gate(const Spec& spec, const GateOptions& options = {});

// True when nothing of severity error was found.
bool gate_passes(const std::vector<Finding>& findings);

// The gate `steward run` runs first: logs every finding (error/warn/info) under "gate" and
// returns 0 when the daemon may start, 1 when it must not.
int run_startup_gate(const Spec& spec, const GateOptions& options = {});

}  // namespace steward::checks
