// The backup library's public face: back up now, list, verify, restore, prune, and the figures for /metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/secret.hpp"
#include "core/spec.hpp"

namespace steward::backup {

// Set to true (from any thread) to stop a running backup, verify or drill.
using CancelFlag = std::shared_ptr<std::atomic<bool>>;

// Everything a backup command needs, from the spec or from flags (spec-less mode).
struct BackupConfig {
    std::string deployment;    // id prefix: spec name, or the database name without a spec
    std::string database_url;  // may carry a password: print only through pg::redact_url
    BackupsSpec settings;      // dir, format, compression, jobs, verify, retention, lock wait, sftp
    std::string timezone = "UTC";
    std::optional<Secret> encryption_key;  // set when backups.encryption.key resolved
    bool encryption_configured = false;    // the spec asks for encryption (key may be missing)
    std::optional<Secret> sftp_key;
    bool progress = false;  // print bytes and rate to stderr (a terminal)
    // When set and true, a running backup kills its pg_dump/pg_dumpall, removes its .partial and returns
    // failed with error "cancelled"; a verify or drill kills pg_restore and fails the same way.
    CancelFlag cancel;
    // The scheduled instant this run is for. Under the backup advisory lock, the run is skipped when the
    // catalog shows a backup of this database that started at or after it and is published or running,
    // whichever host took it: one backup per schedule slot across hosts.
    std::optional<std::chrono::system_clock::time_point> slot;
    std::string host;  // recorded in manifests and the catalog; empty: gethostname()
    // The id, when the caller chose it first with new_backup_id (the daemon answers a request with it before
    // the backup starts); empty, or taken by then: a new one when the backup starts.
    std::string id;
};

inline bool is_cancelled(const BackupConfig& c) { return c.cancel && c.cancel->load(); }

// A backup id for time `t` that no entry of the backups folder uses yet (two in one second get consecutive
// seconds).
std::string new_backup_id(const BackupConfig& c, std::chrono::system_clock::time_point t);

// Fills a config from a spec (secrets resolved); `url` is the database to back up.
BackupConfig config_from_spec(const Spec& spec, const std::string& url);
// Spec-less mode: defaults for everything, backups in `dir`.
BackupConfig config_without_spec(const std::string& url, const std::filesystem::path& dir);

struct OffsiteReport {
    bool ok = false;
    std::string error;
    int attempts = 0;
    std::string remote_path;
};

struct BackupOutcome {
    enum class Status { published, failed, verify_failed, skipped } status = Status::failed;
    std::string id;
    std::filesystem::path path;  // published: <dir>/<id>; verify_failed: <dir>/<id>.failed
    std::uint64_t bytes = 0;
    std::string sha256;
    std::string verified;  // full | restore | none
    double duration_seconds = 0;
    std::optional<OffsiteReport> offsite;    // set when off-site copy is configured
    std::vector<std::string> pruned;         // ids deleted by the retention run after the backup
    std::vector<std::string> pruned_failed;  // <id>.failed folders beyond retention.keep_failed, deleted
    std::string error;  // failed/verify_failed: what went wrong ("cancelled"); skipped: why
    // 0 published (and off-site ok), 1 failed / verify failed / off-site failed, 0 skipped.
    int exit_code() const;
};

// `steward backup now`: dump, verify, publish, catalog, prune, off-site copy.
[[nodiscard]] BackupOutcome run_backup(const BackupConfig& config);

struct BackupInfo {
    std::string id;
    std::filesystem::path path;
    std::chrono::system_clock::time_point finished;
    std::uint64_t bytes = 0;
    std::string verified;  // level, or "failed" / "none"
    std::string format;
    std::string compression;
    bool encrypted = false;
    bool failed = false;     // an <id>.failed folder (listed only on request)
    bool in_future = false;  // finished after now (plus a few minutes): a host's clock was wrong
    std::string host;
};

// Published backups, oldest first; with `include_failed`, the <id>.failed folders too. Skips folders that
// are not steward backups.
std::vector<BackupInfo> list_backups(const std::filesystem::path& dir, bool include_failed = false);

// How far in the future a backup's time may lie before list and verify call it a problem (hosts' clocks
// disagree a little).
inline constexpr std::chrono::minutes kClockSkewTolerance{5};

struct VerifyOutcome {
    bool ok = false;
    std::string level;
    double duration_seconds = 0;
    std::vector<std::string> problems;
    std::vector<std::string> warnings;  // usable, but say so: an unauthenticated (older) backup
    bool cancelled = false;
};

// Checks a published backup (or a .partial folder during `now`) at `level` (full or restore).
[[nodiscard]] VerifyOutcome verify_backup(const BackupConfig& config, const std::string& id,
                                          BackupsSpec::Verify level);

struct RestoreOptions {
    std::string target_url;
    bool clean = false;
    int jobs = 1;
    bool with_globals = false;
};

struct RestoreOutcome {
    bool ok = false;
    bool refused = false;  // target not empty without --clean, or not confirmed
    std::string error;
    std::vector<std::string> warnings;  // an unauthenticated (older) backup; globals statements that failed
    double duration_seconds = 0;
};

// Tables in the target database outside the system schemas (the non-empty check).
[[nodiscard]] std::int64_t count_user_tables(const std::string& url);

// Checks the manifest (its MAC, its list of files) and every file's size and SHA-256 while copying the
// backup into a private scratch folder, and only then touches the target: globals.sql (with_globals)
// statement by statement through libpq, then pg_restore from the checked copy. A backup that does not match
// its manifest is refused and the target is untouched.
[[nodiscard]] RestoreOutcome restore_backup(const BackupConfig& config, const std::string& id,
                                            const RestoreOptions& options);

struct PruneDecision {
    std::string id;  // an <id>.failed folder name for failed backups
    bool keep = true;
    // newest|just_published|keep_last|daily|weekly|monthly|expired|in_use (expired, but being read);
    // failed folders: keep_failed|expired_failed
    std::string rule;
};

struct PruneOutcome {
    bool ok = false;
    bool busy = false;  // a backup is running: nothing deleted
    std::vector<PruneDecision> decisions;
    std::vector<std::string> deleted;
    std::string error;
};

// Applies the retention of `config` to the backups folder (never the newest, never while a backup runs),
// and keeps only the newest retention.keep_failed <id>.failed folders.
[[nodiscard]] PruneOutcome prune_backups(const BackupConfig& config, bool dry_run);

// What the daemon exports on /metrics; from the catalog table, or local manifests without a database.
struct BackupMetrics {
    std::optional<double> last_success_timestamp;  // unix seconds
    std::optional<double> last_duration_seconds;
    std::optional<double> last_size_bytes;
    std::int64_t failures_total = 0;
    std::int64_t backup_count = 0;
    std::optional<double> newest_age_seconds;
    std::optional<double> oldest_age_seconds;
    std::optional<double> offsite_last_success_timestamp;
    std::optional<double> last_drill_success_timestamp;  // unix seconds; catalog only
    std::int64_t drill_failures_total = 0;               // catalog only
    bool from_catalog = false;
};

[[nodiscard]] BackupMetrics backup_metrics(const BackupConfig& config);

// A restore drill: verify_backup(..., restore) of the newest published backup, recorded in the catalog
// (steward_backup_drills: backup id, ok, duration, error, host, time).
struct DrillOutcome {
    bool ran = false;  // false: no published backup to drill (error says so), or the drill could not start
    bool ok = false;
    std::string id;
    double duration_seconds = 0;
    std::string error;  // the problems, joined; "cancelled" when the cancel flag stopped it
    std::vector<std::string> warnings;
    bool recorded = false;  // the result reached the catalog
};
[[nodiscard]] DrillOutcome run_drill(const BackupConfig& config);

// 2026-11-23T11:43:03Z
std::string iso_utc_text(std::chrono::system_clock::time_point t);

// The catalog table's name in the backed-up database.
inline constexpr const char* kCatalogTable = "steward_backups";

}  // namespace steward::backup
