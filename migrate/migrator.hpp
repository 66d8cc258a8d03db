// Versioned SQL migrations: what steward migrate and the startup sequence call.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace steward::migrate {

struct Options {
    std::string url;  // may carry a password: printed only through pg::redact_url
    std::filesystem::path dir;
    std::string table = "steward_migrations";  // may be schema-qualified: "ops.migrations"
    Duration lock_wait = std::chrono::seconds(60);
    Duration lock_timeout = std::chrono::seconds(10);
    std::optional<Duration> statement_timeout;
    std::chrono::seconds connect_timeout{10};
};
Options options_from_spec(const MigrationsSpec& spec, const std::string& url);

// The job could not run: unreachable database, lock held too long, bad migrations directory.
// Exit 1.
class MigrateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A migration that failed, located in its file.
struct Failure {
    std::string file;
    int line = 0;  // 0 when PostgreSQL gave no position
    int column = 0;
    std::string sqlstate;
    std::string message;
    std::string detail;
    std::string hint;
    std::string mode;  // transaction | no-transaction | as-written
    int statements_completed = 0;
    int statements_total = 0;
    bool recorded = false;  // a failed row now blocks up until repair (statement-by-statement files)
};

struct MigrationRef {
    std::string kind;  // versioned | repeatable
    std::string version;
    std::string name;
    std::string file;
    std::string mode;
    bool reapply = false;
    long long duration_ms = 0;
};

struct StatusEntryView {
    MigrationRef ref;
    std::string
        state;  // applied | pending | failed | running | drifted | missing | baseline | below_baseline
    std::string checksum, recorded_checksum, applied_at, detail;
};

struct StatusResult {
    bool history_exists = false;
    std::string current_version;
    int applied = 0, pending = 0, failed = 0, drifted = 0;
    std::vector<StatusEntryView> entries;
};

struct PlanResult {
    std::vector<MigrationRef> steps;
    std::vector<std::string> blockers;
};

// up and down.
struct RunResult {
    std::vector<MigrationRef> done;      // applied (up) or reverted (down), in order
    std::vector<std::string> blockers;   // refused before changing anything
    std::optional<Failure> failure;      // a migration failed; earlier ones stay done
    std::optional<MigrationRef> failed;  // which one
    std::string current_version;
    bool ok() const { return blockers.empty() && !failure; }
};

struct ValidateResult {
    StatusResult status;
    std::vector<std::string> problems;
    bool ok() const { return problems.empty(); }
};

struct RepairChange {
    std::string action;  // remove_failed | realign_checksum | remove_missing
    std::string version, name, description;
};

class Migrator {
  public:
    explicit Migrator(Options options);

    // Waits until the server accepts connections, up to `wait`; throws MigrateError after it.
    void wait_for_server(Duration wait) const;

    // Read-only: no lock, the history table is not created.
    StatusResult status() const;
    PlanResult plan(const std::optional<std::string>& to) const;
    ValidateResult validate(bool no_pending) const;

    // Take the advisory lock (waiting up to lock_wait) and create the history table if needed.
    [[nodiscard]] RunResult up(const std::optional<std::string>& to);
    [[nodiscard]] RunResult down(std::optional<int> count, const std::optional<std::string>& to);
    // Marks everything up to `version` applied; refuses when the history table has rows.
    void baseline(const std::string& version);
    // With apply=false only lists what would change.
    std::vector<RepairChange> repair(bool apply);

    const Options& options() const { return options_; }

  private:
    Options options_;
};

// JSON documents for --json (shapes documented in docs/migrate.md).
boost::json::value to_json(const StatusResult& r);
boost::json::value to_json(const PlanResult& r);
boost::json::value to_json(const RunResult& r);
boost::json::value to_json(const ValidateResult& r);
boost::json::value to_json(const std::vector<RepairChange>& changes, bool applied);

// Human text for a terminal.
std::string to_text(const StatusResult& r);
std::string to_text(const PlanResult& r);
std::string to_text(const RunResult& r, const std::string& verb);  // verb: "applied" | "reverted"
std::string to_text(const ValidateResult& r);
std::string to_text(const Failure& f);

// The startup-sequence step of `steward run`: on_start apply runs up, validate fails on
// anything `validate --no-pending` would fail on, skip does nothing. Returns 0 to go on, 1 to
// refuse to start; never throws. `summary` (if given) receives one human line or the error.
int run_startup_migrations(const MigrationsSpec& spec, const std::string& url,
                           std::string* summary = nullptr);

}  // namespace steward::migrate
