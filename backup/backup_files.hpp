// A backup's files as the manifest lists them: which paths may appear, opening them without leaving the
// folder, checking their hashes, and the verified copy that restore works from.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backup/manifest.hpp"
#include "core/secret.hpp"

namespace steward::backup {

// What is wrong with the manifest's list of files, without touching the disk: a format steward does not
// write, a path that is absolute, has a ".." or any shape steward never writes ("dump", "globals.sql",
// "dump/<file>" for the directory format), a path listed twice, and a file the format requires that is not
// listed ("dump" or "dump/toc.dat", and "globals.sql").
std::vector<std::string> layout_problems(const BackupManifest& m);

// An open file descriptor, closed on destruction.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    ~Fd();
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }

  private:
    int fd_ = -1;
};

// Opens the backup folder itself (not through a symlink). Throws std::runtime_error.
Fd open_backup_folder(const std::filesystem::path& folder);
// Opens manifest path `rel` (already checked by layout_problems) under the folder without following any
// symlink: a symlink, a FIFO or a directory where a file should be is an error naming it.
Fd open_backup_file(const Fd& folder, const std::string& rel);

// Size and SHA-256 of every file against the manifest; one problem per file that differs or cannot be read.
std::vector<std::string> check_files(const std::filesystem::path& folder, const BackupManifest& m);

// Restore's input: every file read once, hashed as it is read, and decoded (decrypted; a zstd custom dump
// decompressed) into the private scratch folder, so the bytes restore uses are the bytes that were checked.
struct VerifiedCopy {
    std::vector<std::string> problems;  // anything here: nothing of the copy may be used
    std::filesystem::path dump;         // <scratch>/dump: a file (custom) or a folder (directory)
    std::string globals_sql;            // decoded globals.sql
};
VerifiedCopy copy_verified(const std::filesystem::path& folder, const BackupManifest& m,
                           const std::optional<Secret>& key, const std::filesystem::path& scratch,
                           const std::function<void(std::uint64_t)>& on_bytes = {});

// globals.sql as statements to run one by one through libpq. pg_dumpall writes `\restrict KEY` and
// `\unrestrict KEY` lines (psql's restricted mode): each alone on its line, they are dropped. Any other psql
// meta-command (`\! cmd` runs a shell command, `\i file` reads one) sets `problem` and returns nothing, so
// nothing of the file runs. Text that ends inside a quote or comment is refused the same way.
std::vector<std::string> globals_statements(const std::string& text, std::string& problem);

}  // namespace steward::backup
