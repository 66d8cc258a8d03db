// Verification of a backup: hashes, a full read through pg_restore, and optionally a scratch restore with row
// counts.
#include <chrono>
#include <pqxx/pqxx>

#include "backup/backup_files.hpp"
#include "backup/internal.hpp"
#include "backup/lock.hpp"
#include "backup/pg_tools.hpp"
#include "backup/restore_io.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"

namespace steward::backup {
namespace fs = std::filesystem;
namespace {

void restore_check(const BackupConfig& c, const fs::path& folder, const BackupManifest& m, VerifyOutcome& v) {
    auto info = pg::parse_conninfo(c.database_url);
    std::string scratch = info.dbname() + "_steward_verify";
    auto admin = pg::connect(c.database_url);
    {  // held until `admin` closes: a concurrent verify: restore of this database waits here
        pqxx::nontransaction tx(*admin);
        tx.exec_params("SELECT pg_advisory_lock($1)", verify_scratch_lock_key(info.dbname()));
    }
    auto drop = [&] {
        pqxx::nontransaction tx(*admin);
        tx.exec("DROP DATABASE IF EXISTS " + pg::quote_ident(scratch) + " WITH (FORCE)");
    };
    drop();
    {
        pqxx::nontransaction tx(*admin);
        tx.exec("CREATE DATABASE " + pg::quote_ident(scratch));
    }
    try {
        auto tc = tool_connection(c.database_url, scratch);
        auto run = run_pg_restore(
            folder, m, c.encryption_key,
            {"--dbname=" + tc.conninfo, "--no-owner", "--no-privileges", "--exit-on-error", "--no-password"},
            tc.env, 1, verify_scratch_path(c.settings.dir, m.id), false, c.cancel.get());
        if (run.cancelled) {
            v.cancelled = true;
            v.problems.push_back("cancelled");
        } else if (!run.ok()) {
            v.problems.push_back("scratch restore failed: " + run.error());
        } else {
            auto sc = pg::connect(pg::to_conninfo(info, {{"dbname", scratch}}));
            std::map<std::string, std::int64_t> counts;
            {
                pqxx::work tx(*sc);
                counts = count_rows(tx);
            }
            sc.reset();
            for (const auto& [table, n] : m.row_counts) {
                auto it = counts.find(table);
                if (it == counts.end())
                    v.problems.push_back("table " + table + " missing after restore");
                else if (it->second != n)
                    v.problems.push_back("table " + table + ": " + std::to_string(it->second) +
                                         " rows restored, " + std::to_string(n) + " in the snapshot");
            }
        }
    } catch (const std::exception& e) {
        v.problems.push_back(std::string("scratch restore: ") + redact(e.what()));
    }
    try {
        drop();
    } catch (const std::exception& e) {
        log::warn("backup", "cannot drop scratch database",
                  {{"database", scratch}, {"error", redact(e.what())}});
    }
}

}  // namespace

VerifyOutcome verify_folder(const BackupConfig& c, const fs::path& folder, const BackupManifest& m,
                            BackupsSpec::Verify level) {
    auto t0 = std::chrono::steady_clock::now();
    VerifyOutcome v;
    v.level = level == BackupsSpec::Verify::restore ? "restore" : "full";
    auto done = [&] {
        v.ok = v.problems.empty();
        v.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return v;
    };
    // The list of files first: a path outside the folder is never read, a missing dump never passes.
    v.problems = layout_problems(m);
    if (!v.problems.empty()) return done();
    v.problems = check_files(folder, m);
    if (!v.problems.empty()) return done();
    if (m.encryption != "none" && !c.encryption_key) {
        v.problems.push_back("backup is encrypted: set backups.encryption.key to verify it");
        return done();
    }
    try {
        auto run = run_pg_restore(folder, m, c.encryption_key, {"--file=/dev/null"}, tool_env_without_password(),
                                  1, verify_scratch_path(c.settings.dir, m.id), false, c.cancel.get());
        if (run.cancelled) {
            v.cancelled = true;
            v.problems.push_back("cancelled");
            return done();
        }
        if (!run.ok()) v.problems.push_back("archive unreadable: " + run.error());
    } catch (const std::exception& e) {  // pg_restore missing, scratch folder unusable
        v.problems.push_back(std::string("pg_restore: ") + e.what());
    }
    try {
        NullSink null;
        decode_file(folder, "globals.sql", null, m, c.encryption_key, false);
    } catch (const std::exception& e) {
        v.problems.push_back(std::string("globals.sql: ") + e.what());
    }
    if (v.problems.empty() && level == BackupsSpec::Verify::restore) {
        try {
            restore_check(c, folder, m, v);
        } catch (const std::exception& e) {
            v.problems.push_back(std::string("scratch database: ") + redact(e.what()));
        }
    }
    return done();
}

VerifyOutcome verify_backup(const BackupConfig& c, const std::string& id, BackupsSpec::Verify level) {
    VerifyOutcome v;
    v.level = level == BackupsSpec::Verify::restore ? "restore" : "full";
    auto folder = c.settings.dir / id;
    if (classify_entry(id) != EntryKind::published || !fs::is_directory(fs::symlink_status(folder))) {
        v.problems.push_back("no backup " + id + " in " + c.settings.dir.string());
        return v;
    }
    remove_scratch_leftovers(c.settings.dir);  // decoded copies a killed restore or verify left behind
    BackupInUse in_use(folder);                // prune keeps it until the verify ends
    if (!fs::is_directory(folder)) {
        v.problems.push_back("no backup " + id + " in " + c.settings.dir.string());
        return v;
    }
    BackupManifest m;
    try {
        m = read_manifest(folder);
    } catch (const std::exception& e) {
        v.problems.push_back(e.what());
        return v;
    }
    if (m.id != id) {
        v.problems.push_back("manifest.json of " + id + " names another backup (" + m.id + ")");
        return v;
    }
    auto trust = check_manifest_trust(m, c.encryption_key);
    if (!trust.problems.empty()) {
        v.problems = trust.problems;
        return v;
    }
    auto finished = parse_iso_utc(m.finished);
    bool future = finished && *finished > std::chrono::system_clock::now() + kClockSkewTolerance;
    auto out = verify_folder(c, folder, m, level);
    out.warnings = trust.warnings;
    for (const auto& w : trust.warnings)
        log::warn("backup", "verifying an unauthenticated backup", {{"id", id}, {"warning", w}});
    if (future) {
        out.problems.push_back(
            "finished " + m.finished + " lies in the future: the clock of host " + m.host +
            " was wrong when it made the backup (retention and age figures are off until it is gone)");
        out.ok = false;
    }
    return out;
}

}  // namespace steward::backup
