// Fuzzes the backup manifest reader (manifest.json from disk) and what is derived from a manifest it accepts.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "backup/manifest.hpp"
#include "fuzz/fuzz_target.hpp"

namespace fs = std::filesystem;

namespace {

// One folder per process, in memory when the machine has /dev/shm: the reader wants a real file.
const fs::path& backup_dir() {
    static const fs::path dir = [] {
        fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        fs::path d = base / ("steward-fuzz-manifest-" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

}  // namespace

STEWARD_FUZZ_TARGET(manifest) {
    {
        std::ofstream out(backup_dir() / "manifest.json", std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    steward::backup::BackupManifest m;
    try {
        m = steward::backup::read_manifest(backup_dir());
    } catch (const std::runtime_error&) {
        return 0;
    }
    (void)m.bytes();
    (void)m.dump_sha256();
    (void)steward::backup::check_manifest_trust(m, steward::Secret("fuzz-backup-key-0123456789abcdef"));
    (void)steward::backup::check_manifest_trust(m, std::nullopt);
    (void)steward::backup::parse_backup_id(m.id);
    (void)steward::backup::classify_entry(m.id);
    (void)steward::backup::parse_iso_utc(m.started);
    // What the reader accepted, written back and read again, authenticates the same.
    auto again = steward::backup::manifest_from_json(steward::backup::to_json(m));
    STEWARD_FUZZ_CHECK(steward::backup::authenticated_text(again) == steward::backup::authenticated_text(m),
                       steward::fuzz::as_text(data, size));
    return 0;
}
