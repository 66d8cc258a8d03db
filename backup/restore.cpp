// `backup restore`: trust nothing unchecked. The manifest is authenticated and its file list checked, every
// file is hashed while it is copied into a private scratch folder, and only then is the target touched:
// globals.sql statement by statement through libpq (never psql), then pg_restore from the checked copy.
#include <sys/statvfs.h>

#include <chrono>
#include <pqxx/pqxx>
#include <regex>

#include "backup/backup_files.hpp"
#include "backup/internal.hpp"
#include "backup/lock.hpp"
#include "backup/pg_tools.hpp"
#include "backup/progress.hpp"
#include "backup/restore_io.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"
#include "core/sql_scanner.hpp"

namespace steward::backup {
namespace fs = std::filesystem;
namespace {

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
    return out;
}

// Runs each statement on its own (autocommit), as psql with ON_ERROR_STOP=0 did: a role that already exists
// fails its CREATE ROLE and the rest goes on. Returns the failures.
std::vector<std::string> replay_globals(const std::string& url, const std::vector<std::string>& statements) {
    std::vector<std::string> failures;
    auto conn = pg::connect(url);
    for (const auto& st : statements) {
        try {
            pqxx::nontransaction tx(*conn);
            tx.exec(st);
        } catch (const pqxx::broken_connection&) {
            throw;
        } catch (const std::exception& e) {
            std::string msg = e.what();
            while (!msg.empty() && msg.back() == '\n') msg.pop_back();
            failures.push_back(msg.substr(0, 300));
        }
    }
    return failures;
}

// Room for the decoded copy in the backups folder, judged from the manifest before copying.
std::string space_problem(const fs::path& dir, const BackupManifest& m) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return {};
    auto free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    std::uint64_t need = std::max(m.raw_bytes, m.bytes());
    if (free_bytes >= need) return {};
    return "not enough space in " + dir.string() +
           " for the checked copy restore works from: " + std::to_string(need) + " bytes needed, " +
           std::to_string(free_bytes) + " free";
}

}  // namespace

// Meta-commands are found by the same scanner that splits statements, so one in a string is not one.
std::vector<std::string> globals_statements(const std::string& text, std::string& problem) {
    auto scan = sql::scan_sql(text);
    if (scan.unterminated) {
        problem = "globals.sql ends inside a quoted string, comment or dollar-quoted body";
        return {};
    }
    static const std::regex allowed(R"(\\(un)?restrict [A-Za-z0-9]+[ \t\r]*)");
    std::string cleaned = text;
    for (const auto& mc : scan.meta_commands) {
        std::size_t line_start = mc.begin;
        while (line_start > 0 && text[line_start - 1] != '\n') --line_start;
        bool alone = text.find_first_not_of(" \t", line_start) == mc.begin;
        std::string command = text.substr(mc.begin, mc.end - mc.begin);
        // Bounded before the regex (libstdc++'s recurses per character): pg_dumpall's key is 64 characters.
        if (!alone || command.size() > 256 || !std::regex_match(command, allowed)) {
            std::string word = command.substr(0, command.find_first_of(" \t\r"));
            for (auto& ch : word)
                if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
            problem = "globals.sql line " + std::to_string(sql::position_of(text, mc.begin).line) +
                      ": psql meta-command " + word.substr(0, 40) +
                      " refused (only pg_dumpall's \\restrict and \\unrestrict lines are accepted); nothing "
                      "was run";
            return {};
        }
        cleaned.replace(mc.begin, mc.end - mc.begin, mc.end - mc.begin, ' ');
    }
    std::vector<std::string> out;
    for (const auto& st : sql::scan_sql(cleaned).statements)
        out.push_back(cleaned.substr(st.begin, st.end - st.begin));
    return out;
}

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
    if (classify_entry(id) != EntryKind::published || !fs::is_directory(fs::symlink_status(folder)))
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
    if (m.id != id) return finish("manifest.json of " + id + " names another backup");
    auto trust = check_manifest_trust(m, c.encryption_key);
    if (!trust.problems.empty()) return finish(join(trust.problems) + "; nothing was restored");
    for (const auto& w : trust.warnings) {
        out.warnings.push_back(w);
        log::warn("backup", "restoring an unauthenticated backup", {{"id", id}, {"warning", w}});
    }
    if (auto layout = layout_problems(m); !layout.empty())
        return finish(join(layout) + "; nothing was restored");
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
                      pg::scrub_error(o.target_url, e.what()));
    }
    if (auto p = space_problem(c.settings.dir, m); !p.empty()) return finish(p);

    // Every byte restore uses is read once, hashed, and copied: a file swapped after the check is never read.
    std::optional<ScratchDir> scratch;
    VerifiedCopy copy;
    try {
        scratch.emplace(restore_scratch_path(c.settings.dir, id));
        Progress shown(c.progress, "restore: check and copy");
        copy = copy_verified(folder, m, c.encryption_key, scratch->path(),
                             [&](std::uint64_t n) { shown.update(n); });
    } catch (const std::exception& e) {
        return finish(std::string("scratch copy: ") + e.what());
    }
    if (!copy.problems.empty())
        return finish("backup " + id + " does not match its manifest: " + join(copy.problems) +
                      "; nothing was restored");
    std::vector<std::string> statements;
    if (o.with_globals) {
        std::string problem;
        statements = globals_statements(copy.globals_sql, problem);
        if (!problem.empty()) return finish(problem);
    }

    log::info("backup", "restore started", {{"id", id}, {"target", pg::redact_url(o.target_url)}});
    auto tc = tool_connection(o.target_url);
    if (o.with_globals) {
        try {
            auto failures = replay_globals(o.target_url, statements);
            // Roles that already exist fail their CREATE ROLE; that is expected on a live server.
            if (!failures.empty()) {
                log::warn("backup", "globals restored with errors",
                          {{"failed_statements", failures.size()}, {"first", redact(failures.front())}});
                out.warnings.push_back(
                    "globals.sql: " + std::to_string(failures.size()) + " of " +
                    std::to_string(statements.size()) +
                    " statements failed (e.g. roles that exist already): " + redact(failures.front()));
            }
        } catch (const std::exception& e) {
            return finish(std::string("restoring globals failed: ") +
                          pg::scrub_error(o.target_url, e.what()));
        }
    }

    std::vector<std::string> args{"--dbname=" + tc.conninfo, "--no-password"};
    if (o.clean) {
        args.push_back("--clean");
        args.push_back("--if-exists");
    }
    PgRestoreRun run;
    try {
        run = run_pg_restore_on(copy.dump, args, tc.env, std::max(1, o.jobs));
    } catch (const std::exception& e) {
        return finish(std::string("pg_restore: ") + e.what());
    }
    if (!run.ok()) return finish(pg::scrub_error(o.target_url, run.error()));
    log::info("backup", "restore finished", {{"id", id}, {"target", pg::redact_url(o.target_url)}});
    return finish({});
}

}  // namespace steward::backup
