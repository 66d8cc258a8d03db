// steward migrate: status, plan, up, down, validate, baseline and repair of versioned SQL migrations.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "core/database_url.hpp"
#include "core/pg.hpp"
#include "core/secret.hpp"
#include "daemon/cli.hpp"
#include "daemon/metrics_textfile.hpp"
#include "migrate/migrator.hpp"

namespace steward::cli {
namespace {

struct MigrateFlags {
    std::string dir;
    std::string url;
    std::string to;
    std::string wait;
    std::optional<int> count;
    bool no_pending = false;
    std::string version;
    bool yes = false;
    std::string metrics_textfile;  // up: the migration series for the textfile collector
};

migrate::Options resolve_options(Context& ctx, const MigrateFlags& f) {
    // Spec mode, no --database-url: migrations.database_url (a privileged role) when the spec has one.
    bool specless =
        (!f.url.empty() || std::getenv("DATABASE_URL")) && !f.dir.empty() && ctx.global.spec_path.empty();
    std::string url = f.url;
    if (url.empty() && !specless && !ctx.spec().migrations.database_url.empty())
        url = migrations_database_url(ctx.spec(), "");
    auto target = ctx.database(url, url != f.url ? false : !f.dir.empty());
    migrate::Options o;
    if (target.spec) {
        o = migrate::options_from_spec(target.spec->migrations, target.url);
    } else {
        o.url = target.url;
    }
    if (!f.dir.empty()) o.dir = f.dir;
    if (o.dir.empty())
        throw SpecError("no migrations directory: pass --dir DIR or set migrations.dir in the spec");
    return o;
}

// The pending and failed counts after `up`, as the daemon exports them; a database that cannot say
// leaves the file as it was (the run has failed and says why).
bool write_migration_textfile(const migrate::Migrator& m, const std::string& path) {
    try {
        auto s = m.status();
        return cli::write_migration_textfile(path, s.pending, s.failed);
    } catch (const std::exception& e) {
        std::cerr << "steward: metrics textfile not written: " << redact(e.what()) << std::endl;
        return false;
    }
}

std::optional<std::string> opt(const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); }

// Prints a result as JSON (with the command and target added) or as text.
void emit(Context& ctx, const char* command, const migrate::Options& o, boost::json::value doc,
          const std::string& text, bool text_to_stderr = false) {
    if (ctx.global.json) {
        auto& obj = doc.as_object();
        obj["command"] = command;
        obj["database"] = pg::redact_url(o.url);
        obj["dir"] = o.dir.string();
        obj["table"] = o.table;
        ctx.print_json(doc);
    } else {
        (text_to_stderr ? std::cerr : std::cout) << text << std::flush;
    }
}

int run_command(Context& ctx, const std::string& command, const MigrateFlags& f) {
    check_textfile_path(f.metrics_textfile);
    const auto o = resolve_options(ctx, f);
    migrate::Migrator m(o);
    try {
        if (!f.wait.empty()) m.wait_for_server(parse_duration(f.wait));
        if (command == "status") {
            auto r = m.status();
            emit(ctx, "status", o, migrate::to_json(r), migrate::to_text(r));
            return kOk;
        }
        if (command == "plan") {
            auto r = m.plan(opt(f.to));
            emit(ctx, "plan", o, migrate::to_json(r), migrate::to_text(r));
            return r.blockers.empty() ? kOk : kProblem;
        }
        if (command == "up" || command == "down") {
            if (command == "down" && f.count && !f.to.empty())
                throw CLI::ValidationError("down: give N or --to, not both");
            if (command == "down" && f.count && *f.count < 1)
                throw CLI::ValidationError("down: N must be at least 1");
            auto r = command == "up" ? m.up(opt(f.to)) : m.down(f.count, opt(f.to));
            emit(ctx, command == "up" ? "up" : "down", o, migrate::to_json(r),
                 migrate::to_text(r, command == "up" ? "applied" : "reverted"));
            if (!ctx.global.json) {
                for (const auto& b : r.blockers)
                    std::cerr << "steward migrate " << command << ": refused: " << b << "\n";
                if (r.failure) std::cerr << migrate::to_text(*r.failure);
                std::cerr << std::flush;
            }
            bool textfile_ok = f.metrics_textfile.empty() || write_migration_textfile(m, f.metrics_textfile);
            return r.ok() && textfile_ok ? kOk : kProblem;
        }
        if (command == "validate") {
            auto r = m.validate(f.no_pending);
            emit(ctx, "validate", o, migrate::to_json(r), migrate::to_text(r));
            return r.ok() ? kOk : kProblem;
        }
        if (command == "baseline") {
            m.baseline(f.version);
            emit(ctx, "baseline", o, boost::json::object{{"ok", true}, {"version", f.version}},
                 "baseline recorded at version " + f.version + "\n");
            return kOk;
        }
        if (command == "repair") {
            auto changes = m.repair(f.yes);
            std::string text;
            for (const auto& c : changes) text += (f.yes ? "" : "would have ") + c.description + "\n";
            if (changes.empty())
                text = "nothing to repair\n";
            else if (!f.yes)
                text += "re-run with --yes to make these changes\n";
            emit(ctx, "repair", o, migrate::to_json(changes, f.yes), text);
            return changes.empty() || f.yes ? kOk : kProblem;
        }
    } catch (const migrate::MigrateError& e) {
        if (command == "up" && !f.metrics_textfile.empty()) write_migration_textfile(m, f.metrics_textfile);
        const std::string message = redact(e.what());  // a second guard: URLs are redacted where built
        if (ctx.global.json) {
            boost::json::value doc = boost::json::object{{"ok", false}, {"error", {{"message", message}}}};
            emit(ctx, command.c_str(), o, doc, "");
        } else {
            std::cerr << "steward migrate " << command << ": " << message << std::endl;
        }
        return kProblem;
    }
    return kUsage;
}

}  // namespace

void add_migrate_command(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<MigrateFlags>();
    auto* cmd =
        app.add_subcommand("migrate", "Versioned SQL migrations (golang-migrate and Flyway file names)");
    cmd->require_subcommand(1, 1);
    cmd->fallthrough();
    cmd->add_option("--dir", flags->dir, "Migrations directory (overrides migrations.dir)");
    cmd->add_option("--database-url", flags->url,
                    "Database URL (overrides the spec; DATABASE_URL from the environment also works)");

    auto add = [&](const char* name, const char* help) {
        auto* sub = cmd->add_subcommand(name, help);
        sub->fallthrough();
        sub->callback([&ctx, flags, name = std::string(name)] {
            ctx.action = [&ctx, flags, name] { return run_command(ctx, name, *flags); };
        });
        return sub;
    };
    add("status", "Applied, pending, failed and drifted migrations");
    add("plan", "What up would run, in order, with each file's transaction mode (changes nothing)")
        ->add_option("--to", flags->to, "Stop at this version");
    auto* up = add("up", "Apply pending migrations under the migration lock");
    up->add_option("--to", flags->to, "Stop at this version");
    up->add_option(
        "--metrics-textfile", flags->metrics_textfile,
        "Also write steward_migrations_pending/failed to this file (node_exporter's textfile collector)");
    up->add_option("--wait", flags->wait, "Wait this long for the database to accept connections (e.g. 60s)");
    auto* down = add("down", "Revert the last N migrations (default 1) with their down files");
    down->add_option("N", flags->count, "How many migrations to revert");
    down->add_option("--to", flags->to, "Revert every migration above this version");
    add("validate", "Fail on drift, missing files, or failed/running rows")
        ->add_flag("--no-pending", flags->no_pending, "Pending migrations fail validation too");
    add("baseline", "Adopt an existing database: mark everything up to --version applied")
        ->add_option("--version", flags->version, "The version the database already has")
        ->required();
    add("repair", "Remove failed rows, realign checksums, forget rows of missing files")
        ->add_flag("--yes", flags->yes, "Make the changes (without it, only list them)");
}

}  // namespace steward::cli
