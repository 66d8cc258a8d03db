// `backup now`: lock, dump into <id>.partial/, hash and fsync while streaming, verify, publish by rename,
// then prune and copy off-site.
#include <unistd.h>

#include <chrono>
#include <future>
#include <pqxx/pqxx>
#include <system_error>

#include "backup/backup_job.hpp"
#include "backup/catalog.hpp"
#include "backup/internal.hpp"
#include "backup/lock.hpp"
#include "backup/manifest.hpp"
#include "backup/pg_tools.hpp"
#include "backup/restore_io.hpp"
#include "backup/stream.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"

namespace steward::backup {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string compression_text(const Compression& c) {
    switch (c.algorithm) {
        case Compression::Algorithm::zstd:
            return "zstd:" + std::to_string(c.level);
        case Compression::Algorithm::gzip:
            return "gzip:" + std::to_string(c.level);
        case Compression::Algorithm::none:
            return "none";
    }
    return "none";
}

bool id_free(const BackupConfig& c, const std::string& id) {
    auto d = c.settings.dir;
    return !fs::exists(d / id) && !fs::exists(d / (id + ".partial")) && !fs::exists(d / (id + ".failed"));
}

}  // namespace

std::string new_backup_id(const BackupConfig& c, TimePoint t) {
    for (;; t += std::chrono::seconds(1))
        if (std::string id = make_backup_id(id_prefix(c), t); id_free(c, id)) return id;
}

void remove_leftovers(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (!e.is_directory() || classify_entry(e.path().filename().string()) != EntryKind::partial) continue;
        log::warn("backup", "removing leftover of an interrupted run", {{"path", e.path().string()}});
        fs::remove_all(e.path(), ec);
    }
}

int BackupOutcome::exit_code() const {
    switch (status) {
        case Status::published:
            return offsite && !offsite->ok ? 1 : 0;
        case Status::skipped:
            return 0;
        default:
            return 1;
    }
}

namespace {

// The catalog's part of a run: best effort, a catalog that cannot be written never fails a backup.
template <typename F>
void catalog_update(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        log::warn("backup", "catalog update failed", {{"error", redact(e.what())}});
    }
}

// Claims the run under the advisory lock: marks abandoned 'running' rows, skips a slot another host took,
// and records this run as 'running'. Returns the reason to skip, or "".
std::string claim_run(const BackupConfig& c, pqxx::connection& conn, const BackupManifest& m) {
    catalog_update([&] { mark_interrupted(conn, m.database); });
    if (c.slot) {
        std::string slot = iso_utc(*c.slot);
        try {
            if (auto taken = slot_taken(conn, m.database, slot))
                return "the backup for the slot " + slot + " was already taken by host " + taken->host +
                       " (" + taken->id + ", " + taken->status + ")";
        } catch (const std::exception& e) {  // no catalog: this host cannot know, so it backs up
            log::warn("backup", "cannot check the schedule slot in the catalog",
                      {{"error", redact(e.what())}});
        }
    }
    catalog_update([&] { record_started(conn, m); });
    return {};
}

}  // namespace

BackupOutcome run_backup(const BackupConfig& c) {
    auto t0 = Clock::now();
    auto started = std::chrono::system_clock::now();
    BackupOutcome out;
    auto fail = [&](std::string why) {
        out.status = BackupOutcome::Status::failed;
        out.error = std::move(why);
        out.duration_seconds = seconds_since(t0);
        log::error("backup", "backup failed", {{"id", out.id}, {"error", out.error}});
        return out;
    };
    auto skip = [&](std::string why) {
        out.status = BackupOutcome::Status::skipped;
        out.error = std::move(why);
        out.duration_seconds = seconds_since(t0);
        log::info("backup", "backup skipped", {{"reason", out.error}});
        return out;
    };
    if (c.settings.dir.empty()) return fail("no backups folder: set backups.dir or pass --dir");
    if (c.encryption_configured && !c.encryption_key)
        return fail("backups.encryption.key is set but its secret did not resolve");
    if (is_cancelled(c)) return fail("cancelled");

    std::error_code ec;
    fs::create_directories(c.settings.dir, ec);
    if (ec) return fail("cannot create " + c.settings.dir.string() + ": " + ec.message());
    std::optional<FolderLock> lock;
    try {
        lock.emplace(c.settings.dir);
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    if (!lock->acquired())
        return skip("another backup is running in " + c.settings.dir.string() + " (" +
                    (c.settings.dir / ".lock").string() + " is locked)");

    remove_leftovers(c.settings.dir);  // only a steward holding this folder's lock writes .partial here
    remove_scratch_leftovers(c.settings.dir);  // decoded copies of a killed restore or verify (not live ones)

    std::unique_ptr<pqxx::connection> conn;
    std::string database;
    try {
        database = pg::parse_conninfo(c.database_url).dbname();
        conn = pg::connect(c.database_url);
        // Whoever finds the advisory lock taken sees which host holds it (pg_stat_activity).
        pqxx::nontransaction tx(*conn);
        tx.exec_params("SELECT set_config('application_name', $1, false)",
                       "steward backup on " + config_host(c));
    } catch (const std::exception& e) {
        return fail("cannot connect to database " + pg::redact_url(c.database_url) + ": " +
                    pg::scrub_error(c.database_url, e.what()));
    }
    BackupManifest m;
    std::unique_ptr<pqxx::connection> snap_conn;
    std::unique_ptr<pqxx::transaction<pqxx::isolation_level::repeatable_read>> snap_tx;
    try {
        if (auto holder = try_backup_advisory_lock(*conn, database)) {
            std::string host;
            try {
                if (auto h = running_host(*conn, database)) host = " on host " + *h;
            } catch (const std::exception&) {
            }
            return skip("another backup of database " + database + " is running" + host +
                        " (advisory lock held by " + *holder + ")");
        }
        std::string tool_version;
        auto tool_major = tool_major_version("pg_dump", &tool_version);
        int server_major = pg::server_major_version(*conn);
        if (!tool_major)
            return fail("pg_dump not found: install postgresql-client-" + std::to_string(server_major));
        if (*tool_major < server_major)
            return fail("pg_dump " + tool_version + " is older than the server (major " +
                        std::to_string(server_major) + "): install postgresql-client-" +
                        std::to_string(server_major));
        if (!tool_major_version("pg_dumpall"))
            return fail("pg_dumpall not found: install postgresql-client-" + std::to_string(server_major));
        {
            pqxx::nontransaction tx(*conn);
            m.server_version = tx.exec("SHOW server_version")[0][0].as<std::string>();
        }
        m.pg_dump_version = tool_version;
    } catch (const std::exception& e) {
        return fail(std::string("database: ") + pg::scrub_error(c.database_url, e.what()));
    }

    out.id = !c.id.empty() && id_free(c, c.id) ? c.id : new_backup_id(c, started);
    fs::path partial = c.settings.dir / (out.id + ".partial");
    // A database named "../../x" or "/x" must not make the backup land outside the folder.
    if (partial.parent_path() != c.settings.dir || partial.filename() != out.id + ".partial")
        return fail("backup id " + out.id + " is not a plain folder name inside " + c.settings.dir.string());
    m.id = out.id;
    m.deployment = c.deployment;
    m.database = database;
    m.host = config_host(c);
    m.format = c.settings.format == BackupsSpec::Format::directory ? "directory" : "custom";
    m.compression = compression_text(c.settings.compression);
    m.encryption = c.encryption_key ? kEncryptionScheme : "none";
    m.jobs = c.settings.format == BackupsSpec::Format::directory ? std::max(1, c.settings.jobs) : 1;
    m.started = iso_utc(started);
    if (auto why = claim_run(c, *conn, m); !why.empty()) {
        out.id.clear();
        return skip(why);
    }
    log::info("backup", "backup started", {{"id", out.id}, {"database", database}});

    auto record_fail = [&](const std::string& status) {
        catalog_update([&] {
            record_failure(*conn, out.id, database, m.host, m.started, seconds_since(t0), status, out.error);
        });
    };
    auto prune_failed = [&] {
        for (const auto& d : prune_failed_locked(c, false))
            if (!d.keep) out.pruned_failed.push_back(d.id);
    };
    try {
        fs::create_directory(partial);
        fs::permissions(partial, fs::perms::owner_all);  // dumps hold the whole database
        auto tc = tool_connection(c.database_url);
        std::string snapshot;
        if (c.settings.verify == BackupsSpec::Verify::restore) {
            // Count rows in the very snapshot pg_dump will use.
            snap_conn = pg::connect(c.database_url);
            snap_tx = std::make_unique<pqxx::transaction<pqxx::isolation_level::repeatable_read>>(*snap_conn);
            snapshot = snap_tx->exec("SELECT pg_export_snapshot()")[0][0].as<std::string>();
            m.row_counts = count_rows(*snap_tx);
        }
        // Roles and grants are small and independent of the snapshot: dump them alongside.
        BackupManifest globals_m;
        globals_m.id = m.id;
        auto globals = std::async(std::launch::async, [&] { dump_globals(c, tc, partial, globals_m); });
        try {
            if (m.format == "directory")
                dump_directory(c, tc, partial, snapshot, m);
            else
                dump_custom(c, tc, partial, snapshot, m);
        } catch (...) {
            globals.wait();
            throw;
        }
        globals.get();
        m.files.insert(m.files.end(), globals_m.files.begin(), globals_m.files.end());
        snap_tx.reset();
        snap_conn.reset();
        m.finished = iso_utc(std::chrono::system_clock::now());
        m.duration_seconds = seconds_since(t0);
        m.verification.level = "none";
        m.mac = write_manifest(partial, m,
                               c.encryption_key);  // verification reads the files as an authenticated backup
        fsync_path(c.settings.dir);
    } catch (const Cancelled&) {
        fs::remove_all(partial, ec);
        fail("cancelled");
        record_fail("cancelled");
        return out;
    } catch (const std::exception& e) {
        fs::remove_all(partial, ec);
        fail(pg::scrub_error(c.database_url, e.what()));
        record_fail("failed");
        prune_failed();
        return out;
    }

    if (c.settings.verify != BackupsSpec::Verify::none) {
        auto v = verify_folder(c, partial, m, c.settings.verify);
        if (v.cancelled || is_cancelled(c)) {
            fs::remove_all(partial, ec);
            fail("cancelled");
            record_fail("cancelled");
            return out;
        }
        m.verification.level = v.level;
        m.verification.ok = v.ok;
        m.verification.at = iso_utc(std::chrono::system_clock::now());
        m.verification.duration_seconds = v.duration_seconds;
        if (!v.ok) {
            std::string why;
            for (const auto& p : v.problems) why += (why.empty() ? "" : "; ") + p;
            m.verification.error = why;
            fs::path failed = c.settings.dir / (out.id + ".failed");
            try {
                write_manifest(partial, m, c.encryption_key);
                fs::rename(partial, failed);
                fsync_path(c.settings.dir);
            } catch (const std::exception& e) {
                log::error("backup", "cannot keep failed backup", {{"error", e.what()}});
            }
            out.status = BackupOutcome::Status::verify_failed;
            out.path = failed;
            out.error = "verification failed: " + why;
            out.duration_seconds = seconds_since(t0);
            log::error("backup", "backup verification failed", {{"id", out.id}, {"error", why}});
            record_fail("verify_failed");
            prune_failed();
            return out;
        }
    }

    fs::path published = c.settings.dir / out.id;
    try {
        m.duration_seconds = seconds_since(t0);
        write_manifest(partial, m, c.encryption_key);
        fs::rename(partial, published);
        fsync_path(c.settings.dir);
    } catch (const std::exception& e) {
        fs::remove_all(partial, ec);
        fail(std::string("publish: ") + e.what());
        record_fail("failed");
        return out;
    }
    out.status = BackupOutcome::Status::published;
    out.path = published;
    out.bytes = m.bytes();
    out.sha256 = m.dump_sha256();
    out.verified = m.verification.level;
    out.duration_seconds = seconds_since(t0);
    log::info("backup", "backup published",
              {{"id", out.id}, {"bytes", out.bytes}, {"duration_seconds", out.duration_seconds}});
    catalog_update([&] { record_published(*conn, m, out.bytes); });

    // The backup just published is never pruned by its own run, whatever another backup's clock says.
    auto pruned = prune_locked(c, false, out.id);
    if (!pruned.ok) log::warn("backup", "retention failed", {{"error", pruned.error}});
    out.pruned = pruned.deleted;
    catalog_update([&] { record_pruned(*conn, pruned.deleted); });
    prune_failed();

    if (c.settings.sftp) {
        out.offsite = copy_offsite(c, published);
        catalog_update([&] { record_offsite(*conn, out.id, out.offsite->ok, out.offsite->error); });
    }
    out.duration_seconds = seconds_since(t0);
    return out;
}

}  // namespace steward::backup
