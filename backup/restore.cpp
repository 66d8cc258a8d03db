// `backup restore`: refuse a non-empty target without --clean, optionally replay roles, then pg_restore.
#include <chrono>
#include <pqxx/pqxx>

#include "backup/internal.hpp"
#include "backup/lock.hpp"
#include "backup/pg_tools.hpp"
#include "backup/restore_io.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"
#include "core/process.hpp"

namespace steward::backup {
namespace fs = std::filesystem;
namespace {

class StringSink : public Sink {
  public:
    void write(const std::uint8_t* d, std::size_t n) override {
        text.append(reinterpret_cast<const char*>(d), n);
    }
    void finish() override {}
    std::string text;
};

}  // namespace

std::int64_t count_user_tables(const std::string& url) {
    auto c = pg::connect(url);
    pqxx::nontransaction tx(*c);
    return tx
        .exec(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'")[0][0]
        .as<std::int64_t>();
}

RestoreOutcome restore_backup(const BackupConfig& c, const std::string& id, const RestoreOptions& o) {
    auto t0 = std::chrono::steady_clock::now();
    RestoreOutcome out;
    auto finish = [&](std::string error) {
        out.error = std::move(error);
        out.ok = out.error.empty();
        out.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!out.ok) log::error("backup", "restore failed", {{"id", id}, {"error", out.error}});
        return out;
    };
    auto folder = c.settings.dir / id;
    if (classify_entry(id) != EntryKind::published || !fs::is_directory(folder))
        return finish("no backup " + id + " in " + c.settings.dir.string());
    remove_scratch_leftovers(c.settings.dir);  // decoded copies a killed restore or verify left behind
    BackupInUse in_use(folder);                // prune keeps it until the restore ends
    if (!fs::is_directory(folder)) return finish("no backup " + id + " in " + c.settings.dir.string());
    BackupManifest m;
    try {
        m = read_manifest(folder);
    } catch (const std::exception& e) {
        return finish(e.what());
    }
    if (m.encryption != "none" && !c.encryption_key)
        return finish("backup " + id +
                      " is encrypted: set backups.encryption.key (the key it was made with)");
    if (o.target_url.empty()) return finish("no target database: pass --database-url");

    std::string target_db;
    try {
        target_db = pg::parse_conninfo(o.target_url).dbname();
        auto tables = count_user_tables(o.target_url);
        if (tables > 0 && !o.clean) {
            out.refused = true;
            return finish("target database " + target_db + " has " + std::to_string(tables) +
                          " tables: pass --clean to replace its contents, or restore into an empty database");
        }
    } catch (const std::exception& e) {
        return finish("cannot connect to target database " + pg::redact_url(o.target_url) + ": " +
                      redact(e.what()));
    }
    log::info("backup", "restore started", {{"id", id}, {"target", pg::redact_url(o.target_url)}});
    auto tc = tool_connection(o.target_url);

    if (o.with_globals) {
        StringSink globals;
        try {
            decode_file(folder / "globals.sql", globals, m, c.encryption_key, false);
        } catch (const std::exception& e) {
            return finish(std::string("globals.sql: ") + e.what());
        }
        ProcessOptions p;
        p.argv = {"psql",          "--no-psqlrc",           "--quiet",
                  "--no-password", "--set=ON_ERROR_STOP=0", "--dbname=" + tc.conninfo};
        p.env = tc.env;
        p.stdin_fd = ProcessOptions::kPipe;
        p.stdout_fd = ProcessOptions::kPipe;
        p.stderr_fd = ProcessOptions::kPipe;
        ProcessResult r;
        try {
            r = run_process(p, std::chrono::minutes(10), globals.text);
        } catch (const std::exception& e) {
            return finish(std::string("psql: ") + e.what());
        }
        if (!r.ok()) return finish("restoring globals failed (" + describe_status(r.status) + "): " + r.err);
        // Roles that already exist make psql complain; that is expected on a live server.
        if (!r.err.empty())
            log::warn("backup", "globals restored with notices", {{"psql", r.err.substr(0, 2000)}});
    }

    std::vector<std::string> args{"--dbname=" + tc.conninfo, "--no-password"};
    if (o.clean) {
        args.push_back("--clean");
        args.push_back("--if-exists");
    }
    PgRestoreRun run;
    try {
        run = run_pg_restore(folder, m, c.encryption_key, args, tc.env, std::max(1, o.jobs),
                             restore_scratch_path(c.settings.dir, id), c.progress);
    } catch (const std::exception& e) {
        return finish(std::string("pg_restore: ") + e.what());
    }
    if (!run.ok()) return finish(run.error());
    log::info("backup", "restore finished", {{"id", id}, {"target", pg::redact_url(o.target_url)}});
    return finish({});
}

}  // namespace steward::backup
