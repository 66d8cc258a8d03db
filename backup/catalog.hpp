// The steward_backups catalog table: every steward of a deployment reports the same backups.
#pragma once

#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "backup/backup_job.hpp"
#include "backup/manifest.hpp"

namespace steward::backup {

// Creates the tables if needed. All functions throw pqxx exceptions; callers treat the catalog as best
// effort.
void ensure_catalog(pqxx::connection& c);
// A row with status 'running' for a backup that has started (under the backup advisory lock).
void record_started(pqxx::connection& c, const BackupManifest& m);
// With the advisory lock held, a 'running' row belongs to a steward that died: it becomes 'failed'.
void mark_interrupted(pqxx::connection& c, const std::string& database);
void record_published(pqxx::connection& c, const BackupManifest& m, std::uint64_t bytes);
void record_failure(pqxx::connection& c, const std::string& id, const std::string& database,
                    const std::string& host, const std::string& started, double duration_seconds,
                    const std::string& status, const std::string& error);

// A backup of `database` that started at or after `slot` (ISO 8601 UTC) and is published or running.
struct SlotTaken {
    std::string id, host, status;
};
std::optional<SlotTaken> slot_taken(pqxx::connection& c, const std::string& database,
                                    const std::string& slot);
// The host of a 'running' backup of `database`, if the catalog knows one.
std::optional<std::string> running_host(pqxx::connection& c, const std::string& database);

struct DrillRecord {
    std::string backup_id, database, host, error;
    bool ok = false;
    double duration_seconds = 0;
};
void record_drill(pqxx::connection& c, const DrillRecord& d);
void record_offsite(pqxx::connection& c, const std::string& id, bool ok, const std::string& error);
void record_pruned(pqxx::connection& c, const std::vector<std::string>& ids);
BackupMetrics catalog_metrics(pqxx::connection& c, const std::string& database);

std::string host_name();

}  // namespace steward::backup
