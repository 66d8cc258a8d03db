// The process lock on <backups dir>/.lock (flock) and the PostgreSQL advisory lock for one database's
// backups.
#include "backup/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <pqxx/pqxx>
#include <system_error>

#include "core/pg.hpp"

namespace steward::backup {

FolderLock::FolderLock(const std::filesystem::path& dir) {
    auto file = dir / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "open " + file.string());
    acquired_ = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

FolderLock::~FolderLock() {
    if (fd_ >= 0) ::close(fd_);
}

BackupInUse::BackupInUse(const std::filesystem::path& folder) {
    fd_ = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) return;  // a missing folder is reported by the caller
    while (::flock(fd_, LOCK_SH) != 0 && errno == EINTR) {
    }
}

BackupInUse::~BackupInUse() {
    if (fd_ >= 0) ::close(fd_);
}

int lock_backup_for_delete(const std::filesystem::path& folder) {
    int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::optional<std::string> try_backup_advisory_lock(pqxx::connection& c, const std::string& database) {
    auto key = pg::backup_lock_key(database);
    bool got = false;
    {
        pqxx::nontransaction tx(c);
        got = tx.exec_params1("SELECT pg_try_advisory_lock($1)", key)[0].as<bool>();
    }
    if (got) return std::nullopt;
    auto holder = pg::advisory_lock_holder(c, key);
    return holder.value_or("another session");
}

std::int64_t verify_scratch_lock_key(const std::string& database) {
    return pg::backup_lock_key("verify:" + database);
}

}  // namespace steward::backup
