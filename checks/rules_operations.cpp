// Operations rules (backups, retention, migrations, probes, services, logging) and the --connect rules.
#include <fmt/format.h>

#include <algorithm>

#include "checks/rule.hpp"
#include "core/pg.hpp"

namespace steward::checks {

void check_operations_no_backups(const RuleContext& ctx, Hits& hits) {
    if (!ctx.spec.backups) {
        hits.push_back({"backups", "no backups are configured",
                        "add a backups: section with a schedule, dir and retention"});
        return;
    }
    // A backups: section without a schedule only serves `steward backup now` by hand.
    if (ctx.spec.backups->schedule && !ctx.spec.backups->schedule->empty()) return;
    hits.push_back({"backups.schedule", "backups has no schedule: no backup is taken automatically",
                    "set backups.schedule, e.g. \"0 2 * * *\" (every day at 02:00 in the spec's timezone)"});
}

void check_operations_backup_dir(const RuleContext& ctx, Hits& hits) {
    if (!ctx.spec.backups || !ctx.facts.backup_dir) return;
    const auto& dir = ctx.spec.backups->dir;
    const PathFacts& f = *ctx.facts.backup_dir;
    if (!f.exists) {
        hits.push_back({"backups.dir", fmt::format("backup folder {} does not exist", dir.string()),
                        fmt::format("mkdir -p {} and give steward's user write access", dir.string())});
    } else if (!f.is_directory) {
        hits.push_back({"backups.dir", fmt::format("backup folder {} is not a folder", dir.string()),
                        "point backups.dir at a folder"});
    } else if (!f.writable) {
        hits.push_back({"backups.dir",
                        fmt::format("backup folder {} is not writable{}", dir.string(),
                                    f.error.empty() ? "" : " (" + f.error + ")"),
                        fmt::format("chown it to steward's user or chmod u+w {}", dir.string())});
    }
}

void check_operations_retention_too_short(const RuleContext& ctx, Hits& hits) {
    if (!ctx.spec.backups) return;
    const auto& r = ctx.spec.backups->retention;
    // The newest backup counts for every class at once, so the classes overlap: at most the largest.
    int kept = std::max({r.keep_last, r.daily, r.weekly, r.monthly});
    if (kept >= 2) return;
    hits.push_back({"backups.retention", fmt::format("retention keeps at most {} backup(s)", kept),
                    "keep at least 2, e.g. retention: { keep_last: 3, daily: 7, weekly: 4, monthly: 6 }"});
}

void check_operations_migrations_dir(const RuleContext& ctx, Hits& hits) {
    if (ctx.spec.migrations.on_start == MigrationsSpec::OnStart::skip || !ctx.facts.migrations_dir) return;
    const auto& dir = ctx.spec.migrations.dir;
    const PathFacts& f = *ctx.facts.migrations_dir;
    if (f.exists && f.is_directory) return;
    hits.push_back({"migrations.dir",
                    fmt::format("migrations folder {} {}", dir.string(),
                                f.exists ? "is not a folder" : "does not exist"),
                    "create it (an empty folder is fine) or set migrations.on_start: skip"});
}

void check_operations_no_probes(const RuleContext& ctx, Hits& hits) {
    if (!ctx.spec.probes.empty()) return;
    hits.push_back(
        {"probes", "no probes are configured",
         "add probes, e.g. { name: api-health, http: { url: \"http://127.0.0.1:8000/health\" } }"});
}

void check_operations_service_command(const RuleContext& ctx, Hits& hits) {
    for (std::size_t i = 0; i < ctx.spec.services.size(); ++i) {
        const auto& svc = ctx.spec.services[i];
        std::string path = "services." + svc.name + ".command";
        if (svc.command.empty()) {
            hits.push_back({path, "service " + svc.name + " has an empty command",
                            "set services." + svc.name + ".command"});
            continue;
        }
        auto it = ctx.facts.service_programs.find(svc.name);
        if (it == ctx.facts.service_programs.end()) continue;
        const ProgramFacts& p = it->second;
        if (p.found && p.executable) continue;
        std::string where = p.resolved.empty() ? svc.command.front() : p.resolved;
        hits.push_back(
            {path,
             p.found ? fmt::format("service {}: {} is not executable", svc.name, where)
                     : fmt::format("service {}: program {} does not exist", svc.name, where),
             p.found ? fmt::format("chmod +x {}", where)
                     : "install it, or fix the path (relative paths resolve against the service's workdir, "
                       "else the spec's folder; bare names against PATH)"});
    }
}

void check_operations_service_workdir(const RuleContext& ctx, Hits& hits) {
    for (const auto& svc : ctx.spec.services) {
        auto it = ctx.facts.service_workdirs.find(svc.name);
        if (!svc.workdir || it == ctx.facts.service_workdirs.end() || it->second.is_directory) continue;
        hits.push_back({"services." + svc.name + ".workdir",
                        fmt::format("service {}: working directory {} {}", svc.name, svc.workdir->string(),
                                    it->second.exists ? "is not a folder" : "does not exist"),
                        fmt::format("create it (mkdir -p {}) or fix services.{}.workdir",
                                    svc.workdir->string(), svc.name)});
    }
}

void check_operations_service_env_file(const RuleContext& ctx, Hits& hits) {
    for (const auto& svc : ctx.spec.services) {
        auto it = ctx.facts.service_envs.find(svc.name);
        if (!svc.env_file || it == ctx.facts.service_envs.end()) continue;
        for (const auto& e : it->second.env_file_errors)
            hits.push_back(
                {"services." + svc.name + ".env_file", "service " + svc.name + ": " + e,
                 "write one KEY=VALUE per line (comments start with #), readable by steward's user"});
    }
    if (!ctx.facts.env_file) return;
    for (const auto& e : ctx.facts.env_file->errors)
        hits.push_back({"env_file", e, "write one KEY=VALUE per line (comments start with #)"});
}

void check_operations_debug_logging(const RuleContext& ctx, Hits& hits) {
    env_debug_logging(ctx, hits);
    const auto& level = ctx.spec.logging.level;
    if (level != "debug" && level != "trace") return;
    hits.push_back({"logging.level", fmt::format("logging.level is {}", level), "set logging.level: info"});
}

void check_connect_database_unreachable(const RuleContext& ctx, Hits& hits) {
    const ConnectFacts& c = *ctx.facts.connect;
    if (c.skipped || c.answered) return;
    hits.push_back({"database.url", "the database does not answer: " + c.error,
                    "check host, port, credentials and that the server is running (pg_isready)"});
}

void check_connect_server_version(const RuleContext& ctx, Hits& hits) {
    const ConnectFacts& c = *ctx.facts.connect;
    if (c.skipped) {
        hits.push_back({"database", "--connect checks skipped: " + c.skip_reason, ""});
        return;
    }
    if (!c.answered) return;
    hits.push_back({"database.url",
                    fmt::format("PostgreSQL server version {} (major {})", c.server_version, c.server_major),
                    ""});
}

void check_connect_pg_dump_version(const RuleContext& ctx, Hits& hits) {
    const ConnectFacts& c = *ctx.facts.connect;
    if (c.skipped || !c.answered) return;
    if (!c.pg_dump_major) {
        hits.push_back({"backups", "pg_dump is not usable: " + c.pg_dump_error,
                        fmt::format("install postgresql-client-{} so pg_dump is on PATH", c.server_major)});
        return;
    }
    if (*c.pg_dump_major >= c.server_major) return;
    hits.push_back(
        {"backups",
         fmt::format("pg_dump {} is older than the server's major version {}: it refuses to dump it",
                     c.pg_dump_version, c.server_major),
         fmt::format("install postgresql-client-{} (or newer)", c.server_major)});
}

void check_connect_migration_lock_held(const RuleContext& ctx, Hits& hits) {
    const ConnectFacts& c = *ctx.facts.connect;
    if (c.skipped || !c.answered) return;
    if (!c.lock_error.empty()) {
        hits.push_back({"migrations", "could not check the migration lock: " + c.lock_error, ""});
        return;
    }
    if (!c.migration_lock_holder) return;
    hits.push_back({"migrations", "the migration lock is held by " + *c.migration_lock_holder,
                    "another steward is migrating; wait for it, or find and stop the holder"});
}

void check_connect_cannot_create_database(const RuleContext& ctx, Hits& hits) {
    const ConnectFacts& c = *ctx.facts.connect;
    if (c.skipped || !c.answered || !c.createdb || *c.createdb || (c.superuser && *c.superuser)) return;
    if (!ctx.spec.backups) return;
    const auto& b = *ctx.spec.backups;
    if (b.verify == BackupsSpec::Verify::restore)
        hits.push_back(
            {"backups.verify",
             fmt::format("backups.verify is restore, but role {} cannot create the scratch database it "
                         "restores into: every backup will fail verification",
                         c.role),
             fmt::format("ALTER ROLE {} CREATEDB, or set backups.verify: full", c.role)});
    if (b.drill_schedule)
        hits.push_back(
            {"backups.drill",
             fmt::format("backups.drill is scheduled, but role {} cannot create the scratch database a "
                         "restore drill restores into: every drill will fail",
                         c.role),
             fmt::format("ALTER ROLE {} CREATEDB", c.role)});
}

void check_connect_database_superuser(const RuleContext& ctx, Hits& hits) {
    const ConnectFacts& c = *ctx.facts.connect;
    if (c.skipped || !c.answered || !c.superuser || !*c.superuser) return;
    hits.push_back({"database.url", fmt::format("database.url connects as {}, a superuser", c.role),
                    "create a role that owns only the application's database (CREATE ROLE app LOGIN; "
                    "CREATE DATABASE chat OWNER app) and connect as it"});
}

}  // namespace steward::checks
