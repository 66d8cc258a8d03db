// steward backup now|list|verify|restore|prune: the CLI face of the backup library.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "backup/backup_job.hpp"
#include "core/database_url.hpp"
#include "core/json.hpp"
#include "core/pg.hpp"
#include "daemon/cli.hpp"
#include "daemon/client.hpp"
#include "daemon/metrics_textfile.hpp"

namespace steward::cli {
namespace {
namespace json = boost::json;
using backup::BackupConfig;

struct BackupFlags {
    std::string dir;
    std::string database_url;
    std::string verify, format, compression;
    int jobs = 0;
    std::string id;
    bool clean = false, with_globals = false, yes = false, dry_run = false, all = false;
    bool remote = false;  // now: ask the running daemon
    std::string metrics_textfile;
    ClientFlags client;
};

// `backup now --remote`: the daemon takes the backup (202 with its id), steward does not run pg_dump.
int cmd_now_remote(Context& ctx, const BackupFlags& f) {
    auto r = admin::request(client_endpoint(ctx, f.client), "POST", "/api/v1/backups");
    if (r.status != 202) return client_error(ctx, r);
    if (ctx.global.json) {
        std::cout << r.body << std::endl;
        return kOk;
    }
    auto doc = json::parse(r.body);
    std::cout << "backup " << doc.at("id").as_string().c_str()
              << " started by the daemon; `steward status` shows when it is published" << std::endl;
    return kOk;
}

// A backup time in the future: the clock of the host that made it was wrong.
std::string future_problem(const backup::BackupInfo& b) {
    return "backup " + b.id + " finished " + backup::iso_utc_text(b.finished) +
           ", in the future: the clock of host " + b.host + " was wrong";
}

std::string human_bytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        ++u;
    }
    char s[32];
    std::snprintf(s, sizeof s, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
    return s;
}

std::string human_age(double secs) {
    char s[32];
    if (secs < 120)
        std::snprintf(s, sizeof s, "%.0fs", secs);
    else if (secs < 7200)
        std::snprintf(s, sizeof s, "%.0fm", secs / 60);
    else if (secs < 172800)
        std::snprintf(s, sizeof s, "%.1fh", secs / 3600);
    else
        std::snprintf(s, sizeof s, "%.1fd", secs / 86400);
    return s;
}

BackupsSpec::Verify parse_verify(const std::string& v) {
    if (v == "full") return BackupsSpec::Verify::full;
    if (v == "restore") return BackupsSpec::Verify::restore;
    if (v == "none") return BackupsSpec::Verify::none;
    throw std::invalid_argument("--verify/--level: expected full, restore or none, got '" + v + "'");
}

// The config for commands that work on a folder only (list, prune): no database needed.
BackupConfig folder_config(Context& ctx, const BackupFlags& f) {
    BackupConfig c;
    if (!f.dir.empty() && ctx.global.spec_path.empty()) {
        c.settings.dir = f.dir;
        std::string url = f.database_url;
        if (url.empty())
            if (const char* env = std::getenv("DATABASE_URL")) url = env;
        if (!url.empty()) c = backup::config_without_spec(url, f.dir);
    } else {
        const Spec& s = ctx.spec();
        // --database-url overrides the spec's, as for every database command.
        std::string url = f.database_url;
        if (url.empty() && s.database.url) {
            try {
                url = effective_database_url(s);  // with database.password, when the spec has one
            } catch (const std::runtime_error&) {
                url = *s.database.url;  // list and prune work without the database
            }
        }
        c = backup::config_from_spec(s, url);
    }
    if (!f.dir.empty()) c.settings.dir = f.dir;
    if (c.settings.dir.empty())
        throw SpecError("no backups folder: set backups.dir in the spec or pass --dir");
    return c;
}

// The config for commands that work on the database too (now, verify).
BackupConfig database_config(Context& ctx, const BackupFlags& f) {
    auto t = ctx.database(f.database_url, !f.dir.empty());
    BackupConfig c =
        t.spec ? backup::config_from_spec(*t.spec, t.url) : backup::config_without_spec(t.url, f.dir);
    if (!f.dir.empty()) c.settings.dir = f.dir;
    if (c.settings.dir.empty())
        throw SpecError("no backups folder: set backups.dir in the spec or pass --dir");
    c.progress = !ctx.global.json && ::isatty(STDERR_FILENO);
    return c;
}

int cmd_now(Context& ctx, const BackupFlags& f) {
    check_textfile_path(f.metrics_textfile);
    BackupConfig c = database_config(ctx, f);
    if (!f.verify.empty()) c.settings.verify = parse_verify(f.verify);
    if (!f.format.empty()) {
        if (f.format != "custom" && f.format != "directory")
            throw std::invalid_argument("--format: expected custom or directory");
        c.settings.format =
            f.format == "directory" ? BackupsSpec::Format::directory : BackupsSpec::Format::custom;
    }
    if (!f.compression.empty())
        c.settings.compression = parse_compression(f.compression);
    else if (c.settings.format == BackupsSpec::Format::directory &&
             c.settings.compression.algorithm == Compression::Algorithm::zstd)
        c.settings.compression = {Compression::Algorithm::gzip,
                                  6};  // the spec loader's default for directory
    if (f.jobs > 0) c.settings.jobs = f.jobs;
    if (c.settings.format == BackupsSpec::Format::directory &&
        c.settings.compression.algorithm == Compression::Algorithm::zstd)
        throw std::invalid_argument(
            "directory format supports compression gzip:N or none (PostgreSQL 15's pg_dump has no zstd)");

    auto o = backup::run_backup(c);
    // The series go out whatever the result: a failure is what the alerts are for.
    bool textfile_ok = f.metrics_textfile.empty() || write_backup_textfile(f.metrics_textfile, c);
    int exit_code = o.exit_code() == kOk && !textfile_ok ? kProblem : o.exit_code();
    using S = backup::BackupOutcome::Status;
    if (ctx.global.json) {
        json::object doc{{"ok", exit_code == 0}};
        if (o.status == S::skipped) {
            doc["skipped"] = true;
            doc["reason"] = o.error;
        } else {
            doc["status"] = o.status == S::published       ? "published"
                            : o.status == S::verify_failed ? "verify_failed"
                                                           : "failed";
            doc["id"] = o.id.empty() ? json::value(nullptr) : json::value(o.id);
            doc["path"] = o.path.empty() ? json::value(nullptr) : json::value(o.path.string());
            doc["bytes"] = o.bytes;
            doc["sha256"] = o.sha256.empty() ? json::value(nullptr) : json::value(o.sha256);
            doc["verified"] = o.status == S::published ? json::value(o.verified) : json::value(false);
            doc["duration_seconds"] = o.duration_seconds;
            if (o.offsite)
                doc["offsite"] =
                    json::object{{"ok", o.offsite->ok},
                                 {"error", o.offsite->error.empty() ? json::value(nullptr)
                                                                    : json::value(o.offsite->error)},
                                 {"attempts", o.offsite->attempts},
                                 {"remote_path", o.offsite->remote_path}};
            else
                doc["offsite"] = nullptr;
            json::array pruned;
            for (const auto& id : o.pruned) pruned.push_back(json::value(id));
            doc["pruned"] = pruned;
            json::array pruned_failed;
            for (const auto& id : o.pruned_failed) pruned_failed.push_back(json::value(id));
            doc["pruned_failed"] = pruned_failed;
            doc["error"] = o.error.empty() ? json::value(nullptr) : json::value(redact(o.error));
        }
        ctx.print_json(doc);
        return exit_code;
    }
    switch (o.status) {
        case S::skipped:
            std::cerr << "steward: backup skipped: " << o.error << std::endl;
            break;
        case S::failed:
            std::cerr << "steward: backup failed: " << redact(o.error) << std::endl;
            break;
        case S::verify_failed:
            std::cerr << "steward: backup " << o.id << " " << redact(o.error) << "\nkept for inspection in "
                      << o.path.string() << " (never listed or counted)" << std::endl;
            break;
        case S::published:
            std::cout << "backup " << o.id << " published: " << human_bytes(static_cast<double>(o.bytes))
                      << ", verified " << o.verified << ", " << std::fixed;
            std::cout.precision(1);
            std::cout << o.duration_seconds << " s\n  " << o.path.string() << std::endl;
            for (const auto& id : o.pruned) std::cout << "  pruned " << id << std::endl;
            for (const auto& id : o.pruned_failed) std::cout << "  deleted " << id << std::endl;
            if (o.offsite) {
                if (o.offsite->ok)
                    std::cout << "  off-site copy: " << o.offsite->remote_path << std::endl;
                else
                    std::cerr << "steward: off-site copy failed after " << o.offsite->attempts
                              << " attempt(s): " << o.offsite->error << " (the local backup stays published)"
                              << std::endl;
            }
            break;
    }
    return exit_code;
}

int cmd_list(Context& ctx, const BackupFlags& f) {
    BackupConfig c = folder_config(ctx, f);
    auto list = backup::list_backups(c.settings.dir, f.all);
    auto now = std::chrono::system_clock::now();
    // Never a negative age: a future time is reported as a problem instead.
    auto age_of = [&](const backup::BackupInfo& b) {
        return std::max(0.0, std::chrono::duration<double>(now - b.finished).count());
    };
    if (ctx.global.json) {
        json::array arr;
        for (const auto& b : list) {
            json::array problems;
            if (b.in_future) problems.push_back(json::value(future_problem(b)));
            arr.push_back(json::object{{"id", b.id},
                                       {"status", b.failed ? "failed" : "published"},
                                       {"time", backup::iso_utc_text(b.finished)},
                                       {"bytes", b.bytes},
                                       {"verified", b.verified},
                                       {"age_seconds", age_of(b)},
                                       {"format", b.format},
                                       {"compression", b.compression},
                                       {"encrypted", b.encrypted},
                                       {"path", b.path.string()},
                                       {"problems", problems}});
        }
        ctx.print_json(json::object{{"ok", true}, {"dir", c.settings.dir.string()}, {"backups", arr}});
        return kOk;
    }
    if (list.empty()) {
        std::cout << "no backups in " << c.settings.dir.string() << std::endl;
        return kOk;
    }
    std::printf("%-40s %-21s %11s %-9s %s\n", "ID", "TIME (UTC)", "SIZE", "VERIFIED", "AGE");
    for (const auto& b : list) {
        std::string id = b.failed ? b.id + " (failed)" : b.id;
        std::printf("%-40s %-21s %11s %-9s %s\n", id.c_str(), backup::iso_utc_text(b.finished).c_str(),
                    human_bytes(static_cast<double>(b.bytes)).c_str(), b.verified.c_str(),
                    b.in_future ? "future!" : human_age(age_of(b)).c_str());
    }
    std::cout << std::flush;
    for (const auto& b : list)
        if (b.in_future) std::cerr << "steward: " << future_problem(b) << std::endl;
    return kOk;
}

// Whether `id` names a published backup in the folder: a missing id is its own error, not a failed check.
bool published(const BackupConfig& c, const std::string& id) {
    for (const auto& b : backup::list_backups(c.settings.dir))
        if (b.id == id) return true;
    return false;
}

int no_such_backup(const Context& ctx, const BackupConfig& c, const std::string& id) {
    std::string msg =
        fmt::format("no backup {} in {} (steward backup list shows them)", id, c.settings.dir.string());
    if (ctx.global.json)
        ctx.print_json(json::object{{"ok", false}, {"id", id}, {"error", {{"message", valid_utf8(msg)}}}});
    else
        std::cerr << "steward: " << msg << std::endl;
    return kProblem;
}

int cmd_verify(Context& ctx, const BackupFlags& f) {
    BackupsSpec::Verify level = f.verify.empty() ? BackupsSpec::Verify::full : parse_verify(f.verify);
    if (level == BackupsSpec::Verify::none) throw std::invalid_argument("--level: expected full or restore");
    BackupConfig c = level == BackupsSpec::Verify::restore ? database_config(ctx, f) : folder_config(ctx, f);
    if (!published(c, f.id)) return no_such_backup(ctx, c, f.id);
    auto v = backup::verify_backup(c, f.id, level);
    if (ctx.global.json) {
        json::array problems;
        for (const auto& p : v.problems) problems.push_back(json::value(redact(p)));
        json::array warnings;
        for (const auto& w : v.warnings) warnings.push_back(json::value(redact(w)));
        ctx.print_json(json::object{{"id", f.id},
                                    {"ok", v.ok},
                                    {"level", v.level},
                                    {"duration_seconds", v.duration_seconds},
                                    {"problems", problems},
                                    {"warnings", warnings}});
        return v.ok ? kOk : kProblem;
    }
    for (const auto& w : v.warnings) std::cerr << "steward: warning: " << redact(w) << std::endl;
    if (v.ok) {
        std::cout << "backup " << f.id << " verified (" << v.level << ")" << std::endl;
    } else {
        std::cerr << "steward: backup " << f.id << " failed verification (" << v.level << "):" << std::endl;
        for (const auto& p : v.problems) std::cerr << "  " << redact(p) << std::endl;
    }
    return v.ok ? kOk : kProblem;
}

bool same_database(const std::string& a, const std::string& b) {
    try {
        auto x = pg::parse_conninfo(a), y = pg::parse_conninfo(b);
        return x.host() == y.host() && x.get("port", "5432") == y.get("port", "5432") &&
               x.dbname() == y.dbname();
    } catch (const std::exception&) {
        return false;
    }
}

int cmd_restore(Context& ctx, const BackupFlags& f) {
    auto target = ctx.database(f.database_url, !f.dir.empty());
    BackupConfig c = target.spec ? backup::config_from_spec(*target.spec, target.url)
                                 : backup::config_without_spec(target.url, f.dir);
    if (!f.dir.empty()) c.settings.dir = f.dir;
    if (c.settings.dir.empty())
        throw SpecError("no backups folder: set backups.dir in the spec or pass --dir");
    c.progress = !ctx.global.json && ::isatty(STDERR_FILENO);
    if (!published(c, f.id)) return no_such_backup(ctx, c, f.id);
    std::string db = pg::parse_conninfo(target.url).dbname();
    if (target.spec && !f.yes && ::isatty(STDIN_FILENO) &&
        same_database(target.url, ctx.spec_database_url())) {
        std::cerr << "Restore " << f.id << " into " << pg::redact_url(target.url)
                  << ", the deployment's own database?\nType the database name (" << db
                  << ") to confirm: " << std::flush;
        std::string answer;
        std::getline(std::cin, answer);
        if (answer != db) {
            std::cerr << "steward: restore cancelled" << std::endl;
            return kProblem;
        }
    }
    backup::RestoreOptions o{target.url, f.clean, std::max(1, f.jobs), f.with_globals};
    auto r = backup::restore_backup(c, f.id, o);
    if (ctx.global.json) {
        json::array warnings;
        for (const auto& w : r.warnings) warnings.push_back(json::value(redact(w)));
        ctx.print_json(json::object{{"id", f.id},
                                    {"ok", r.ok},
                                    {"refused", r.refused},
                                    {"target", pg::redact_url(target.url)},
                                    {"duration_seconds", r.duration_seconds},
                                    {"warnings", warnings},
                                    {"error", r.ok ? json::value(nullptr) : json::value(redact(r.error))}});
        return r.ok ? kOk : kProblem;
    }
    for (const auto& w : r.warnings) std::cerr << "steward: warning: " << redact(w) << std::endl;
    if (r.ok) {
        std::cout << "backup " << f.id << " restored into " << pg::redact_url(target.url) << std::endl;
    } else {
        std::cerr << "steward: restore " << (r.refused ? "refused" : "failed") << ": " << redact(r.error)
                  << std::endl;
    }
    return r.ok ? kOk : kProblem;
}

int cmd_prune(Context& ctx, const BackupFlags& f) {
    BackupConfig c = folder_config(ctx, f);
    auto p = backup::prune_backups(c, f.dry_run);
    if (ctx.global.json) {
        json::array arr, deleted;
        for (const auto& d : p.decisions)
            arr.push_back(
                json::object{{"id", d.id}, {"action", d.keep ? "keep" : "delete"}, {"rule", d.rule}});
        for (const auto& id : p.deleted) deleted.push_back(json::value(id));
        ctx.print_json(json::object{{"ok", p.ok},
                                    {"dry_run", f.dry_run},
                                    {"busy", p.busy},
                                    {"backups", arr},
                                    {"deleted", deleted},
                                    {"error", p.ok ? json::value(nullptr) : json::value(p.error)}});
    } else if (!p.ok) {
        std::cerr << "steward: prune: " << p.error << std::endl;
    } else {
        for (const auto& d : p.decisions)
            std::cout << (d.keep ? "keep   " : (f.dry_run ? "delete " : "deleted")) << " " << d.id << "  ("
                      << d.rule << ")\n";
        if (p.decisions.empty()) std::cout << "no backups in " << c.settings.dir.string() << "\n";
        std::cout << std::flush;
    }
    return p.ok ? kOk : kProblem;
}

void common_flags(CLI::App* sub, BackupFlags& f) {
    sub->add_option("--dir", f.dir,
                    "Backups folder (overrides backups.dir; with --database-url needs no spec)");
    sub->add_option("--database-url", f.database_url,
                    "Database URL (default DATABASE_URL, then the spec's database)");
}

}  // namespace

void add_backup_command(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<BackupFlags>();
    auto* cmd = app.add_subcommand("backup", "pg_dump backups: now, list, verify, restore, prune");
    cmd->require_subcommand(1, 1);
    BackupFlags& f = *flags;

    auto* now =
        cmd->add_subcommand("now", "Back up the database now (dump, verify, publish, prune, off-site copy)");
    common_flags(now, f);
    now->add_option("--verify", f.verify, "full|restore|none (overrides backups.verify)");
    now->add_option("--format", f.format, "custom|directory (overrides backups.format)");
    now->add_option("--compression", f.compression, "zstd:N|gzip:N|none (overrides backups.compression)");
    now->add_option("--jobs", f.jobs, "Parallel pg_dump jobs for the directory format");
    now->add_option("--metrics-textfile", f.metrics_textfile,
                    "Also write the backup series to this file (node_exporter's textfile collector)");
    now->add_flag("--remote", f.remote, "Ask the running daemon to take the backup (its admin API)");
    now->add_option("--admin-url", f.client.admin_url, "With --remote: the daemon's admin address");
    now->add_option("--token-file", f.client.token_file, "With --remote: a file holding the admin token");
    now->callback([&ctx, flags] {
        ctx.action = [&ctx, flags] {
            return flags->remote ? cmd_now_remote(ctx, *flags) : cmd_now(ctx, *flags);
        };
    });

    auto* list = cmd->add_subcommand("list", "List published backups");
    common_flags(list, f);
    list->add_flag("--all", f.all, "Also list the <id>.failed folders kept for diagnosis");
    list->callback([&ctx, flags] { ctx.action = [&ctx, flags] { return cmd_list(ctx, *flags); }; });

    auto* verify = cmd->add_subcommand(
        "verify", "Verify a backup: hashes and a full read (full), or a scratch restore (restore)");
    common_flags(verify, f);
    verify->add_option("id", f.id, "Backup id")->required();
    verify->add_option("--level", f.verify, "full|restore (default full)");
    verify->callback([&ctx, flags] { ctx.action = [&ctx, flags] { return cmd_verify(ctx, *flags); }; });

    auto* restore = cmd->add_subcommand("restore", "Restore a backup into a database");
    common_flags(restore, f);
    restore->add_option("id", f.id, "Backup id")->required();
    restore->add_flag("--clean", f.clean,
                      "Drop the target's objects that the backup contains before restoring");
    restore->add_option("--jobs", f.jobs, "Parallel pg_restore jobs");
    restore->add_flag("--with-globals", f.with_globals, "Also replay roles and grants (globals.sql) first");
    restore->add_flag("--yes", f.yes, "Do not ask for confirmation on a terminal");
    restore->callback([&ctx, flags] { ctx.action = [&ctx, flags] { return cmd_restore(ctx, *flags); }; });

    auto* prune = cmd->add_subcommand("prune", "Apply the retention policy (never the newest backup)");
    common_flags(prune, f);
    prune->add_flag("--dry-run", f.dry_run, "Show what would be kept and deleted, delete nothing");
    prune->callback([&ctx, flags] { ctx.action = [&ctx, flags] { return cmd_prune(ctx, *flags); }; });
}

}  // namespace steward::cli
