// Feeding a backup to pg_restore: decrypt and decompress as needed, by stdin or a temporary copy.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backup/manifest.hpp"
#include "backup/pg_tools.hpp"
#include "backup/stream.hpp"
#include "core/secret.hpp"

namespace steward::backup {

// Decrypts (and for custom+zstd decompresses) file `rel` of backup `m` in `folder` into `sink`, finishing it.
// The file is opened without following symlinks; an encrypted file must carry the binding to `m.id` and `rel`
// when the manifest is authenticated. `cancel`, when set during the read, throws Cancelled.
void decode_file(const std::filesystem::path& folder, const std::string& rel, Sink& sink,
                 const BackupManifest& m, const std::optional<Secret>& key, bool decompress,
                 const std::function<void(std::uint64_t)>& on_bytes = {},
                 const std::atomic<bool>* cancel = nullptr);

struct PgRestoreRun {
    int status = -1;  // -1 when pg_restore did not run
    std::string stderr_text;
    std::string decode_error;  // steward's side failed (decrypt, decompress, disk)
    bool cancelled = false;    // the cancel flag was set: pg_restore was killed
    bool ok() const { return status == 0 && decode_error.empty() && !cancelled; }
    std::string error() const;  // one message for the user
};

// Runs `pg_restore <args> ...` on the backup in `backup_dir` (verification: decoding on the fly). `env` is
// the tool's whole environment. `scratch` is a folder for temporary copies (jobs > 1 with steward-side
// compression or encryption; encrypted directory format).
PgRestoreRun run_pg_restore(const std::filesystem::path& backup_dir, const BackupManifest& m,
                            const std::optional<Secret>& key, std::vector<std::string> args,
                            const ToolEnv& env, int jobs,
                            const std::filesystem::path& scratch, bool progress = false,
                            const std::atomic<bool>* cancel = nullptr);

// Runs `pg_restore <args> [--jobs=N] <input>` on an already decoded input (restore's verified copy).
PgRestoreRun run_pg_restore_on(const std::filesystem::path& input, std::vector<std::string> args,
                               const ToolEnv& env, int jobs);

// A private folder (0700) for decoded copies, removed (recursively) on destruction. It holds an flock on
// itself while alive, so remove_scratch_leftovers() can tell a live run's folder from a dead run's.
// Throws if a live run holds a folder of that name; removes a dead run's leftover of that name first.
class ScratchDir {
  public:
    explicit ScratchDir(std::filesystem::path path);
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// The scratch folder names restore and verify use inside the backups folder.
std::filesystem::path restore_scratch_path(const std::filesystem::path& dir, const std::string& id);
std::filesystem::path verify_scratch_path(const std::filesystem::path& dir, const std::string& id);
// Removes scratch folders (decrypted or decompressed copies) that a killed restore or verify left in
// `dir`; folders of runs that are still alive (flock held) are left alone.
void remove_scratch_leftovers(const std::filesystem::path& dir);

}  // namespace steward::backup
