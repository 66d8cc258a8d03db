// `backup now`: lock, dump into <id>.partial/, hash and fsync while streaming, verify, publish by rename,
// then prune and copy off-site.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <pqxx/pqxx>
#include <system_error>
#include <thread>

#include "backup/backup_job.hpp"
#include "backup/catalog.hpp"
#include "backup/internal.hpp"
#include "backup/lock.hpp"
#include "backup/manifest.hpp"
#include "backup/pg_tools.hpp"
#include "backup/progress.hpp"
#include "backup/restore_io.hpp"
#include "backup/stream.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"
#include "core/process.hpp"

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

// The chain in front of a FileSink: [zstd] -> [encrypt] -> file.
struct OutputChain {
    std::unique_ptr<Sink> enc, zstd;
    Sink* head;
    OutputChain(FileSink& file, const std::optional<Secret>& key, std::optional<int> zstd_level)
        : head(&file) {
        if (key) {
            enc = make_encryptor(*head, *key);
            head = enc.get();
        }
        if (zstd_level) {
            int workers = static_cast<int>(std::max(1u, std::min(std::thread::hardware_concurrency(), 8u)));
            zstd = make_zstd_compressor(*head, *zstd_level, workers);
            head = zstd.get();
        }
    }
};

// Runs a dump tool writing to stdout through `chain`; throws with its stderr on failure.
std::uint64_t stream_tool(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          Sink& head, Progress* progress) {
    Capture err;
    ProcessOptions o;
    o.argv = argv;
    o.env = env;
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = err.fd();
    Child child = spawn(o);
    std::uint64_t raw = pump_fd(child.stdout_fd(), head, argv[0] + " output", [&](std::uint64_t n) {
        if (progress) progress->update(n);
    });
    int status = child.wait();
    if (status != 0) {
        std::string e = argv[0] + " failed (" + describe_status(status) + ")";
        if (auto t = err.text(); !t.empty()) e += ": " + t;
        throw std::runtime_error(e);
    }
    head.finish();
    return raw;
}

void dump_custom(const BackupConfig& c, const ToolConnection& tc, const fs::path& partial,
                 const std::string& snapshot, BackupManifest& m) {
    const auto& comp = c.settings.compression;
    int pg_level = comp.algorithm == Compression::Algorithm::gzip ? comp.level : 0;
    std::vector<std::string> argv{
        "pg_dump", "--format=custom", "--compress=" + std::to_string(pg_level),
        "--lock-wait-timeout=" + std::to_string(c.settings.lock_wait_timeout.count()), "--no-password"};
    if (!snapshot.empty()) argv.push_back("--snapshot=" + snapshot);
    argv.push_back("--dbname=" + tc.conninfo);
    FileSink file(partial / "dump");
    std::optional<int> zstd_level;
    if (comp.algorithm == Compression::Algorithm::zstd) zstd_level = comp.level;
    OutputChain chain(file, c.encryption_key, zstd_level);
    Progress progress(c.progress, "pg_dump");
    m.raw_bytes = stream_tool(argv, tc.env, *chain.head, &progress);
    m.files.push_back({"dump", file.bytes(), file.sha256()});
}

void dump_directory(const BackupConfig& c, const ToolConnection& tc, const fs::path& partial,
                    const std::string& snapshot, BackupManifest& m) {
    const auto& comp = c.settings.compression;
    int pg_level = comp.algorithm == Compression::Algorithm::gzip ? comp.level : 0;
    auto dir = partial / "dump";
    std::vector<std::string> argv{
        "pg_dump",
        "--format=directory",
        "--jobs=" + std::to_string(std::max(1, c.settings.jobs)),
        "--compress=" + std::to_string(pg_level),
        "--lock-wait-timeout=" + std::to_string(c.settings.lock_wait_timeout.count()),
        "--no-password",
        "--file=" + dir.string()};
    if (!snapshot.empty()) argv.push_back("--snapshot=" + snapshot);
    argv.push_back("--dbname=" + tc.conninfo);
    Capture err;
    ProcessOptions o;
    o.argv = argv;
    o.env = tc.env;
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = err.fd();
    Child child = spawn(o);
    int status = child.wait();
    if (status != 0) {
        std::string e = "pg_dump failed (" + describe_status(status) + ")";
        if (auto t = err.text(); !t.empty()) e += ": " + t;
        throw std::runtime_error(e);
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::string rel = "dump/" + f.filename().string();
        m.raw_bytes += fs::file_size(f);
        if (c.encryption_key) {  // encrypt each file, then replace the clear copy
            auto enc = f.string() + ".enc";
            FileSink out(enc);
            auto e = make_encryptor(out, *c.encryption_key);
            pump_file(f, *e);
            fs::rename(enc, f);
            m.files.push_back({rel, out.bytes(), out.sha256()});
        } else {
            fsync_path(f);
            auto d = digest_file(f);
            m.files.push_back({rel, d.bytes, d.sha256});
        }
    }
    fsync_path(dir);
}

void dump_globals(const BackupConfig& c, const ToolConnection& tc, const fs::path& partial,
                  BackupManifest& m) {
    std::vector<std::string> argv{"pg_dumpall", "--globals-only", "--no-role-passwords", "--no-password",
                                  "--dbname=" + tc.conninfo};
    FileSink file(partial / "globals.sql");
    OutputChain chain(file, c.encryption_key, std::nullopt);
    stream_tool(argv, tc.env, *chain.head, nullptr);
    m.files.push_back({"globals.sql", file.bytes(), file.sha256()});
}

// A new id that no folder uses yet (two backups in one second get consecutive seconds).
std::string fresh_id(const BackupConfig& c, TimePoint t) {
    for (;;) {
        std::string id = make_backup_id(c.deployment, t);
        auto d = c.settings.dir;
        if (!fs::exists(d / id) && !fs::exists(d / (id + ".partial")) && !fs::exists(d / (id + ".failed")))
            return id;
        t += std::chrono::seconds(1);
    }
}

}  // namespace

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
    if (c.settings.dir.empty()) return fail("no backups folder: set backups.dir or pass --dir");
    if (c.encryption_configured && !c.encryption_key)
        return fail("backups.encryption.key is set but its secret did not resolve");

    std::error_code ec;
    fs::create_directories(c.settings.dir, ec);
    if (ec) return fail("cannot create " + c.settings.dir.string() + ": " + ec.message());
    std::optional<FolderLock> lock;
    try {
        lock.emplace(c.settings.dir);
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    if (!lock->acquired()) {
        out.status = BackupOutcome::Status::skipped;
        out.error = "another backup is running in " + c.settings.dir.string() + " (" +
                    (c.settings.dir / ".lock").string() + " is locked)";
        return out;
    }

    remove_leftovers(c.settings.dir);  // only a steward holding this folder's lock writes .partial here
    remove_scratch_leftovers(c.settings.dir);  // decoded copies of a killed restore or verify (not live ones)

    std::unique_ptr<pqxx::connection> conn;
    std::string database;
    try {
        database = pg::parse_conninfo(c.database_url).dbname();
        conn = pg::connect(c.database_url);
    } catch (const std::exception& e) {
        return fail("cannot connect to database " + pg::redact_url(c.database_url) + ": " + redact(e.what()));
    }
    BackupManifest m;
    std::unique_ptr<pqxx::connection> snap_conn;
    std::unique_ptr<pqxx::transaction<pqxx::isolation_level::repeatable_read>> snap_tx;
    try {
        if (auto holder = try_backup_advisory_lock(*conn, database)) {
            out.status = BackupOutcome::Status::skipped;
            out.error = "another backup of database " + database + " is running (advisory lock held by " +
                        *holder + ")";
            return out;
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
        return fail(std::string("database: ") + redact(e.what()));
    }

    out.id = fresh_id(c, started);
    fs::path partial = c.settings.dir / (out.id + ".partial");
    m.id = out.id;
    m.deployment = c.deployment;
    m.database = database;
    m.host = host_name();
    m.format = c.settings.format == BackupsSpec::Format::directory ? "directory" : "custom";
    m.compression = compression_text(c.settings.compression);
    m.encryption = c.encryption_key ? kEncryptionScheme : "none";
    m.jobs = c.settings.format == BackupsSpec::Format::directory ? std::max(1, c.settings.jobs) : 1;
    m.started = iso_utc(started);
    log::info("backup", "backup started", {{"id", out.id}, {"database", database}});

    auto record_fail = [&](const std::string& status) {
        try {
            record_failure(*conn, out.id, database, m.started, seconds_since(t0), status, out.error);
        } catch (const std::exception& e) {
            log::warn("backup", "catalog update failed", {{"error", redact(e.what())}});
        }
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
        write_manifest(partial, m);
        fsync_path(c.settings.dir);
    } catch (const std::exception& e) {
        fs::remove_all(partial, ec);
        fail(redact(e.what()));
        record_fail("failed");
        return out;
    }

    if (c.settings.verify != BackupsSpec::Verify::none) {
        auto v = verify_folder(c, partial, m, c.settings.verify);
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
                write_manifest(partial, m);
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
            return out;
        }
    }

    fs::path published = c.settings.dir / out.id;
    try {
        m.duration_seconds = seconds_since(t0);
        write_manifest(partial, m);
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
    try {
        record_published(*conn, m, out.bytes);
    } catch (const std::exception& e) {
        log::warn("backup", "catalog update failed", {{"error", redact(e.what())}});
    }

    auto pruned = prune_locked(c, false);
    if (!pruned.ok) log::warn("backup", "retention failed", {{"error", pruned.error}});
    out.pruned = pruned.deleted;
    try {
        record_pruned(*conn, pruned.deleted);
    } catch (const std::exception& e) {
        log::warn("backup", "catalog update failed", {{"error", redact(e.what())}});
    }

    if (c.settings.sftp) {
        out.offsite = copy_offsite(c, published);
        try {
            record_offsite(*conn, out.id, out.offsite->ok, out.offsite->error);
        } catch (const std::exception& e) {
            log::warn("backup", "catalog update failed", {{"error", redact(e.what())}});
        }
    }
    out.duration_seconds = seconds_since(t0);
    return out;
}

}  // namespace steward::backup
