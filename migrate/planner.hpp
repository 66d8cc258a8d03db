// Pure planning: compares the migration files with the history rows for status, plan and validate.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "migrate/migration_files.hpp"

namespace steward::migrate {

// One row of the history table.
struct HistoryRow {
    long long id = 0;
    std::string version;  // normalized; empty for repeatables
    std::string name;
    std::string kind;  // versioned | repeatable | baseline
    std::string checksum;
    std::string applied_at;  // ISO 8601, UTC
    long long duration_ms = 0;
    std::string applied_by;  // user@host
    std::string state;       // applied | running | failed
    int statements_done = 0;
    int statements_total = 0;
    std::string error;
};

// What status reports for one migration (a file, a history row, or both).
struct StatusEntry {
    std::string kind;  // versioned | repeatable | baseline
    std::string version;
    std::string name;
    std::string file;  // "" when the file is gone
    // applied | pending | failed | running | drifted | missing | baseline | below_baseline
    std::string state;
    std::string mode;               // transaction | no-transaction | as-written ("" without a file)
    std::string checksum;           // of the file
    std::string recorded_checksum;  // in the history row
    std::string applied_at;
    long long duration_ms = 0;
    std::string detail;  // human text: why drifted, which statements completed, ...
};

struct StatusReport {
    std::vector<StatusEntry> entries;  // versioned by version, then repeatables, then orphan rows
    std::string current_version;       // highest applied (or baseline) version, "" if none
    int applied = 0, pending = 0, failed = 0, drifted = 0;  // drifted counts changed and missing
};

StatusReport compute_status(const MigrationSet& set, const std::vector<HistoryRow>& rows);

// One step `up` or `down` would take.
struct PlanStep {
    const Migration* migration = nullptr;
    bool reapply = false;  // a repeatable whose checksum changed
    TxMode mode = TxMode::transaction;
    std::string file;  // the file that runs (the down file for down)
};

struct Plan {
    std::vector<PlanStep> steps;
    std::vector<std::string> blockers;  // non-empty: refuse to run, say why
};

// `up`: pending versioned migrations in order (up to `to` when given), then new or changed
// repeatables (only when the run reaches the last version). Failed/running rows and drift block.
Plan plan_up(const MigrationSet& set, const std::vector<HistoryRow>& rows,
             const std::optional<std::string>& to);

// `down`: the last `count` applied versioned migrations, or all above `to`, newest first.
// Every one needs a down file; failed/running rows block; a baseline is never reverted.
Plan plan_down(const MigrationSet& set, const std::vector<HistoryRow>& rows, std::optional<int> count,
               const std::optional<std::string>& to);

// Problems `validate` fails on: drift, missing files, failed/running rows, and with
// `no_pending` pending migrations too.
std::vector<std::string> validation_problems(const StatusReport& status, bool no_pending);

// What `repair` changes: remove failed/running rows, realign changed checksums, remove rows
// of missing files.
struct RepairAction {
    enum class Type { remove_failed, realign_checksum, remove_missing } type;
    long long row_id = 0;
    std::string version;
    std::string name;
    std::string new_checksum;  // realign only
    std::string description;   // human text
};
std::vector<RepairAction> plan_repair(const MigrationSet& set, const std::vector<HistoryRow>& rows);

}  // namespace steward::migrate
