// The process lock on <backups dir>/.lock (flock) and the PostgreSQL advisory lock for one database's
// backups.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <pqxx/connection>
#include <string>

namespace steward::backup {

// Non-blocking exclusive flock; released on destruction (and by the kernel when steward dies).
class FolderLock {
  public:
    explicit FolderLock(
        const std::filesystem::path& dir);  // throws std::system_error if the file cannot be opened
    ~FolderLock();
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;
    bool acquired() const { return acquired_; }

  private:
    int fd_ = -1;
    bool acquired_ = false;
};

// A shared flock on a published backup's folder while restore or verify reads it (waits while prune
// deletes it); released on destruction. Prune deletes a backup only under lock_backup_for_delete().
class BackupInUse {
  public:
    explicit BackupInUse(const std::filesystem::path& folder);
    ~BackupInUse();
    BackupInUse(const BackupInUse&) = delete;
    BackupInUse& operator=(const BackupInUse&) = delete;

  private:
    int fd_ = -1;
};

// Exclusive flock on a backup's folder without waiting: the fd to close after deleting, or -1 when a
// restore or verify is reading it (or it cannot be opened).
int lock_backup_for_delete(const std::filesystem::path& folder);

// Session advisory lock pg::backup_lock_key(db) on `c`; nullopt when taken, else who holds it.
std::optional<std::string> try_backup_advisory_lock(pqxx::connection& c, const std::string& database);

// The advisory lock key that serializes scratch restores into `<db>_steward_verify` (verify: restore):
// two at once would drop each other's scratch database.
std::int64_t verify_scratch_lock_key(const std::string& database);

}  // namespace steward::backup
