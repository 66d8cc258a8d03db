// Functions shared by the backup library's own files (not part of its public header).
#pragma once

#include <filesystem>

#include "backup/backup_job.hpp"
#include "backup/manifest.hpp"

namespace steward::backup {

// Verifies the backup in `folder` (published or .partial) described by `m`.
VerifyOutcome verify_folder(const BackupConfig& c, const std::filesystem::path& folder,
                            const BackupManifest& m, BackupsSpec::Verify level);
// Retention with the folder lock already held by the caller.
PruneOutcome prune_locked(const BackupConfig& c, bool dry_run);
// Uploads a published backup and applies retention remotely.
OffsiteReport copy_offsite(const BackupConfig& c, const std::filesystem::path& published);
// Removes <id>.partial folders left by a run that died.
void remove_leftovers(const std::filesystem::path& dir);

}  // namespace steward::backup
