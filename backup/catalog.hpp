// The steward_backups catalog table: every steward of a deployment reports the same backups.
#pragma once

#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "backup/backup_job.hpp"
#include "backup/manifest.hpp"

namespace steward::backup {

// Creates the table if needed. All functions throw pqxx exceptions; callers treat the catalog as best effort.
void ensure_catalog(pqxx::connection& c);
void record_published(pqxx::connection& c, const BackupManifest& m, std::uint64_t bytes);
void record_failure(pqxx::connection& c, const std::string& id, const std::string& database,
                    const std::string& started, double duration_seconds, const std::string& status,
                    const std::string& error);
void record_offsite(pqxx::connection& c, const std::string& id, bool ok, const std::string& error);
void record_pruned(pqxx::connection& c, const std::vector<std::string>& ids);
BackupMetrics catalog_metrics(pqxx::connection& c, const std::string& database);

std::string host_name();

}  // namespace steward::backup
