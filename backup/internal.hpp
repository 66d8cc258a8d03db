// Functions shared by the backup library's own files (not part of its public header).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "backup/backup_job.hpp"
#include "backup/manifest.hpp"
#include "backup/pg_tools.hpp"

namespace steward::backup {

// Verifies the backup in `folder` (published or .partial) described by `m`.
VerifyOutcome verify_folder(const BackupConfig& c, const std::filesystem::path& folder,
                            const BackupManifest& m, BackupsSpec::Verify level);
// Retention with the folder lock already held by the caller; `just_published` (the id a backup run just
// published) is always kept, whatever the clocks say.
PruneOutcome prune_locked(const BackupConfig& c, bool dry_run, const std::string& just_published = {});
// Deletes <id>.failed folders of this deployment beyond retention.keep_failed (newest kept); folder lock
// held.
std::vector<PruneDecision> prune_failed_locked(const BackupConfig& c, bool dry_run);
// Uploads a published backup and applies retention remotely.
OffsiteReport copy_offsite(const BackupConfig& c, const std::filesystem::path& published);
// Removes <id>.partial folders left by a run that died.
void remove_leftovers(const std::filesystem::path& dir);

// The prefix of this deployment's backup ids: its name with anything but letters, digits, '.', '_' and '-'
// replaced by '_' and no leading '.', so an id is always one plain folder name inside the backups folder.
std::string id_prefix(const BackupConfig& c);
std::string safe_id_prefix(const std::string& name);

// The host recorded in manifests and the catalog.
std::string config_host(const BackupConfig& c);

// pg_dump / pg_dumpall into the .partial folder (dump.cpp); throw Cancelled when the run is cancelled.
void dump_custom(const BackupConfig& c, const ToolConnection& tc, const std::filesystem::path& partial,
                 const std::string& snapshot, BackupManifest& m);
void dump_directory(const BackupConfig& c, const ToolConnection& tc, const std::filesystem::path& partial,
                    const std::string& snapshot, BackupManifest& m);
void dump_globals(const BackupConfig& c, const ToolConnection& tc, const std::filesystem::path& partial,
                  BackupManifest& m);

}  // namespace steward::backup
