// Off-site copy of published backups over SFTP (libssh), with strict host-key checking and remote retention.
// Both calls block (network I/O, retries with backoff): run them off the daemon's event loop.
#pragma once

#include <date/tz.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/secret.hpp"
#include "core/spec.hpp"

namespace steward::backup {

struct OffsiteResult {
    bool ok = false;
    std::string error;  // human text; never contains the key
    int attempts = 0;
    std::string remote_path;           // upload: path/<deployment>/<id>; prune: path/<deployment>
    std::vector<std::string> deleted;  // prune_remote: ids removed
};

// Uploads every file under `backup_dir` (the published <id>/ dir, subdirectories included) to
// `spec.path/<deployment>/<id>/`: written into `<id>.partial/`, each file fsynced
// (fsync@openssh.com), renamed to `<id>/`, remote sizes checked (and SHA-256 read back with
// verify_remote). Retries up to `max_attempts` times with backoff. An unknown or changed host
// key, or a refused user key, fails at once without retrying.
OffsiteResult upload_backup(const SftpSpec& spec, const Secret& private_key, const std::string& deployment,
                            const std::filesystem::path& backup_dir, int max_attempts = 3);

// Applies plan_retention to the backup dirs under `spec.path/<deployment>/` and deletes the
// expired ones recursively. Only directories named `<deployment>-YYYYMMDDTHHMMSSZ` are considered
// (plus stale `<id>.partial` leftovers, which are removed); nothing else is touched.
OffsiteResult prune_remote(const SftpSpec& spec, const Secret& private_key, const std::string& deployment,
                           const RetentionSpec& retention, const date::time_zone* tz);

}  // namespace steward::backup
