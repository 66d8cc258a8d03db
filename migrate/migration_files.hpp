// Migration file names, versions and the directory loader (golang-migrate and Flyway styles).
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/tx_mode.hpp"

namespace steward::migrate {

// A bad migrations directory: a bad name, a duplicate version, mixed styles. Names the file.
class MigrationDirError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class NameStyle { golang, flyway };
enum class FileRole { up, down, repeatable };

// What a file name says.
struct ParsedName {
    NameStyle style = NameStyle::golang;
    FileRole role = FileRole::up;
    std::string version;  // as written ("1.2.10", "0003"); empty for repeatables
    std::string name;     // description part
};

// nullopt when the name matches neither format. Only call it for names ending in ".sql".
std::optional<ParsedName> parse_file_name(std::string_view file_name);

// Numeric, part-wise comparison ignoring leading zeros: "1.2.10" > "1.2.9", "001" == "1".
// Parts are separated by '.' or '_'. Returns <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);
// Canonical text of a version: parts without leading zeros joined by '.' ("01_2" -> "1.2").
std::string normalize_version(std::string_view v);
bool valid_version(std::string_view v);

enum class Kind { versioned, repeatable };
std::string to_string(Kind);

// One migration: an up file (versioned or repeatable) and, maybe, its down file.
struct Migration {
    Kind kind = Kind::versioned;
    std::string version;  // normalized; empty for repeatables
    std::string name;
    std::filesystem::path file;  // up (or repeatable) file
    std::string sql;             // its bytes as they are
    std::string checksum;        // SHA-256 hex of sql
    ScanResult scan;
    TxMode mode = TxMode::transaction;
    std::optional<std::filesystem::path> down_file;
    std::string down_sql;  // the down file's bytes
    ScanResult down_scan;
    TxMode down_mode = TxMode::transaction;
};

// The migrations of one directory: versioned ones in version order, then repeatables by name.
struct MigrationSet {
    std::optional<NameStyle> style;  // nullopt for a directory without migrations
    std::vector<Migration> versioned;
    std::vector<Migration> repeatable;
    const Migration* find_version(std::string_view version) const;
    const Migration* find_repeatable(std::string_view name) const;
};

// One file as found on disk: name plus bytes.
struct FileEntry {
    std::string file_name;
    std::string content;
};

// Builds the set from names and contents (pure; tested without a disk). `dir` prefixes paths.
// Throws MigrationDirError naming the file for bad names, duplicates, mixed styles, a down file
// without its up file, text that ends inside a quote or comment, and a NUL byte (with its offset).
MigrationSet build_migration_set(const std::filesystem::path& dir, std::vector<FileEntry> files);

// Reads every *.sql file in `dir` (not recursive; other files are ignored). Throws
// MigrationDirError when the folder is missing or unreadable, when a *.sql entry is not a regular file
// (a directory, FIFO, socket, or a symlink that dangles or loops), or as build_migration_set.
MigrationSet load_migrations(const std::filesystem::path& dir);

// Reads one regular file's bytes (never blocks on a FIFO); throws MigrationDirError naming it.
std::string read_file_bytes(const std::filesystem::path& file);

std::string sha256_hex(std::string_view data);

}  // namespace steward::migrate
