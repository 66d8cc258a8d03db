// The backup manifest (manifest.json), backup ids and the on-disk layout of a backups folder.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/secret.hpp"

namespace steward::backup {

using TimePoint = std::chrono::system_clock::time_point;

struct ManifestFile {
    std::string path;  // relative to the backup folder ("dump", "dump/toc.dat", "globals.sql")
    std::uint64_t bytes = 0;
    std::string sha256;
};

struct Verification {
    std::string level;  // full | restore | none
    bool ok = false;
    std::string at;  // ISO 8601 UTC
    double duration_seconds = 0;
    std::string error;
};

struct BackupManifest {
    std::string id;
    std::string deployment;
    std::string database;
    std::string host;  // steward's host name
    std::string server_version;
    std::string pg_dump_version;
    std::string format;       // custom | directory
    std::string compression;  // zstd:3 | gzip:6 | none
    std::string encryption = "none";
    int jobs = 1;
    std::uint64_t raw_bytes = 0;  // pg_dump's output before steward's compression/encryption
    std::vector<ManifestFile> files;
    std::string started;
    std::string finished;
    double duration_seconds = 0;
    Verification verification;
    std::map<std::string, std::int64_t> row_counts;  // "schema.table" -> rows in the dump's snapshot
    // HMAC (hex) of authenticated_text() under the encryption key; "" for unencrypted backups and for
    // encrypted ones made before manifests were authenticated.
    std::string mac;

    std::uint64_t bytes() const;
    // SHA-256 of the dump file (custom) or of the sorted "sha256  path" lines (directory).
    std::string dump_sha256() const;
};

boost::json::value to_json(const BackupManifest& m);
BackupManifest manifest_from_json(const boost::json::value& v);  // throws std::runtime_error
BackupManifest read_manifest(const std::filesystem::path& backup_dir);
// Writes manifest.json through a temporary file, fsyncs it and the folder. With `key`, the manifest carries
// a MAC over authenticated_text(), which is returned ("" without a key).
std::string write_manifest(const std::filesystem::path& backup_dir, const BackupManifest& m,
                           const std::optional<Secret>& key = std::nullopt);

// Every field that says what the backup is and holds (not the durations), in one canonical text: the MAC's
// message, independent of how manifest.json is formatted.
std::string authenticated_text(const BackupManifest& m);

// Whether a manifest can be trusted before its files are read.
struct ManifestTrust {
    std::vector<std::string> problems;  // a wrong MAC, or a MAC that cannot be checked: refuse the backup
    std::vector<std::string> warnings;  // unauthenticated (an older or unencrypted backup): usable, say so
};
// Checks `m`'s MAC with `key` (the backups.encryption.key).
ManifestTrust check_manifest_trust(const BackupManifest& m, const std::optional<Secret>& key);

// "<name>-YYYYMMDDTHHMMSSZ" for `t` (UTC, seconds).
std::string make_backup_id(const std::string& name, TimePoint t);
// Parses the time out of an id; nullopt when `name` is not a backup id.
std::optional<TimePoint> parse_backup_id(const std::string& name);

std::string iso_utc(TimePoint t);  // 2026-11-23T11:43:03Z
std::optional<TimePoint> parse_iso_utc(const std::string& text);

// Folder kinds inside a backups folder.
enum class EntryKind { published, partial, failed, other };
EntryKind classify_entry(const std::string& folder_name);

}  // namespace steward::backup
