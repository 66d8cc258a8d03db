// `--metrics-textfile PATH` of `backup now` and `migrate up`: the daemon's backup and migration series,
// written for node_exporter's textfile collector, so the same alerts work for CLI users (a timer).
#pragma once

#include <string>

#include "backup/backup_job.hpp"

namespace steward::cli {

// A usage error (std::invalid_argument, exit 2) when PATH cannot be a textfile: checked before any work.
void check_textfile_path(const std::string& path);

// The backup series from the catalog (local manifests when the database is unreachable), with the
// schedule's longest gap when backups.schedule is set. False (and one line on stderr) when it cannot be
// written.
bool write_backup_textfile(const std::string& path, const backup::BackupConfig& config);

// steward_migrations_pending and steward_migrations_failed.
bool write_migration_textfile(const std::string& path, int pending, int failed);

}  // namespace steward::cli
