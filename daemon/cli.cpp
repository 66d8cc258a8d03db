// Command-line parsing, the shared command context, and the mapping of every failure to an exit code.
#include "daemon/cli.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <pqxx/pqxx>

#include "backup/schedule.hpp"
#include "checks/gate.hpp"
#include "core/database_url.hpp"
#include "core/embedded_postgres.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"
#include "core/secret.hpp"

namespace steward::cli {

Context::Context() = default;
Context::~Context() = default;

namespace {

// Keys whose syntax lives in a subsystem library (core cannot include them): checked here,
// at load time, so a bad schedule or time zone is a spec error (exit 2) like any other.
void validate_composed_keys(const Spec& spec) {
    auto fail = [&](const std::string& path, const std::string& what) {
        throw SpecError(path + ": " + what, spec.file.string(), spec.mark_of(path));
    };
    checks::validate_checks_section(spec);
    try {
        backup::find_time_zone(spec.timezone);
    } catch (const std::exception& e) {
        fail("timezone", e.what());
    }
    if (spec.backups && spec.backups->schedule) {
        try {
            backup::CronSchedule::parse(*spec.backups->schedule);
        } catch (const std::exception& e) {
            fail("backups.schedule", e.what());
        }
    }
    if (spec.backups && spec.backups->drill_schedule) {
        try {
            backup::CronSchedule::parse(*spec.backups->drill_schedule);
        } catch (const std::exception& e) {
            fail("backups.drill.schedule", e.what());
        }
    }
}

}  // namespace

Spec load_checked_spec(const std::filesystem::path& path) {
    Spec spec = load_spec(path);
    validate_composed_keys(spec);
    return spec;
}

const Spec& Context::spec() {
    if (spec_) return *spec_;
    std::filesystem::path path;
    if (!global.spec_path.empty()) {
        path = global.spec_path;
    } else if (auto found = default_spec_path()) {
        path = *found;
    } else {
        throw SpecError(
            "no spec found: pass --spec FILE, or create ./steward.yaml or /etc/steward/steward.yaml");
    }
    spec_ = std::make_unique<Spec>(load_spec(path, {}, load));  // check --lint loads differently
    validate_composed_keys(*spec_);
    // logging.level / logging.format are the defaults for --log-level / --log-format.
    if (!global.log_level_given) global.log_level = spec_->logging.level;
    if (!global.log_format_given) global.log_format = spec_->logging.format;
    if (!global.log_level_given || !global.log_format_given)
        log::setup({global.log_level, log::parse_format(global.log_format)});
    // Literal credentials in the spec are masked in every log line like resolved secrets.
    if (spec_->database.url) register_redaction(*spec_->database.url);
    if (!spec_->migrations.database_url.literal.empty())
        register_redaction(spec_->migrations.database_url.literal);
    for (const SecretOrValue* v :
         {&spec_->admin.token, spec_->backups ? &spec_->backups->encryption_key : nullptr,
          spec_->backups && spec_->backups->sftp ? &spec_->backups->sftp->key : nullptr})
        if (v && !v->literal.empty()) register_redaction(v->literal);
    return *spec_;
}

std::string Context::spec_database_url() {
    const Spec& s = spec();
    if (s.database.url) return effective_database_url(s);
    if (!embedded_) {
        EmbeddedPostgres::Options o;
        o.dir = s.database.embedded->dir;
        o.port = s.database.embedded->port;
        embedded_ = std::make_unique<EmbeddedPostgres>(o);
        embedded_->start();
    }
    return embedded_->url(s.name);
}

DatabaseTarget Context::database(const std::string& url_flag, bool dir_given) {
    std::string url = url_flag;
    if (url.empty())
        if (const char* env = std::getenv("DATABASE_URL")) url = env;
    // libpq would say `missing "=" after ...` about a sqlite:/// URL; say what is wrong instead.
    if (std::string scheme = checks::foreign_scheme(url); !scheme.empty())
        throw std::runtime_error(
            "the database URL is a " + scheme +
            ":// URL; steward needs a PostgreSQL URL (postgresql://user@host:5432/dbname)");
    // Spec-less mode: a database from flag/env and a folder, and no --spec.
    if (!url.empty() && dir_given && global.spec_path.empty()) {
        register_redaction(url);
        return {url, nullptr};
    }
    if (!url_flag.empty()) {
        register_redaction(url_flag);
        return {url_flag, &spec()};
    }
    const Spec& s = spec();
    if (std::string scheme = checks::foreign_scheme(s.database.url.value_or("")); !scheme.empty())
        throw std::runtime_error(
            "database.url is a " + scheme +
            ":// URL; steward needs a PostgreSQL URL (postgresql://user@host:5432/dbname)");
    std::string spec_url = spec_database_url();
    if (s.database.embedded) {
        // The embedded cluster's database for this deployment; created on first use.
        auto c = pg::connect(embedded_->url("postgres"));
        pqxx::nontransaction tx(*c);
        if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", s.name).empty())
            tx.exec("CREATE DATABASE " + pg::quote_ident(s.name));
    }
    return {spec_url, &s};
}

void Context::print_json(const boost::json::value& doc) const { std::cout << write_json(doc) << std::endl; }

boost::json::value error_json(const std::string& message, const std::string& file, Mark mark) {
    boost::json::object err;
    err["message"] = redact(message);
    err["file"] = file.empty() ? boost::json::value(nullptr) : boost::json::value(file);
    err["line"] = mark.present() ? boost::json::value(mark.line) : boost::json::value(nullptr);
    err["column"] = mark.present() ? boost::json::value(mark.column) : boost::json::value(nullptr);
    return boost::json::object{{"ok", false}, {"error", err}};
}

namespace {

int usage_error(const Context& ctx, const std::string& message, const std::string& hint = {}) {
    if (ctx.global.json)
        ctx.print_json(error_json(message));
    else
        std::cerr << "steward: " << message << (hint.empty() ? "" : "\n" + hint) << std::endl;
    return kUsage;
}

// A job that failed (exit 1): the message, redacted, on stderr or as {"ok": false, "error": {...}}.
int job_error(const Context& ctx, const std::string& what) {
    std::string msg = redact(what);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (ctx.global.json)
        ctx.print_json(boost::json::object{{"ok", false}, {"error", {{"message", msg}}}});
    else
        std::cerr << "steward: " << msg << std::endl;
    return kProblem;
}

bool argv_has_json(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--json") return true;
    return false;
}

}  // namespace

int run(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill steward while we write to it
    Context ctx;
    ctx.global.json = argv_has_json(argc, argv);
    CLI::App app{
        "steward: one daemon for a PostgreSQL-backed API's operations (gate, migrations, backups, probes, "
        "supervision)",
        "steward"};
    app.require_subcommand(1, 1);
    app.fallthrough();
    app.set_version_flag("--version", std::string("steward ") + STEWARD_VERSION);
    app.add_option("--spec", ctx.global.spec_path,
                   "Deployment spec (default ./steward.yaml, then /etc/steward/steward.yaml)");
    app.add_flag("--json", ctx.global.json, "Print one JSON document on stdout");
    auto* level =
        app.add_option("--log-level", ctx.global.log_level,
                       "trace|debug|info|warn|error|off (default: the spec's logging.level, else info)")
            ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    auto* format = app.add_option("--log-format", ctx.global.log_format,
                                  "text|json (default: the spec's logging.format, else text)")
                       ->check(CLI::IsMember({"text", "json"}));

    add_check_command(app, ctx);
    add_migrate_command(app, ctx);
    add_backup_command(app, ctx);
    add_render_command(app, ctx);
    add_run_command(app, ctx);
    add_status_command(app, ctx);

    add_inherited_options_help(app);
    if (std::string problem = command_problem(app, argc, argv); !problem.empty())
        return usage_error(ctx, problem);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string msg = redact(e.what());  // CLI11 echoes arguments, which may carry a URL password
        if (ctx.global.json) {
            ctx.print_json(error_json(msg));
        } else {
            std::cerr << "steward: " << msg << " (see 'steward --help')" << std::endl;
        }
        return kUsage;
    }

    ctx.global.log_level_given = level->count() > 0;
    ctx.global.log_format_given = format->count() > 0;
    try {
        log::setup({ctx.global.log_level, log::parse_format(ctx.global.log_format)});
        if (!ctx.action)
            return usage_error(ctx,
                               "no command given (commands: check, migrate, backup, render, run, status)",
                               "Run 'steward --help' for the commands.");
        return ctx.action();
    } catch (const SpecError& e) {
        if (ctx.global.json)
            ctx.print_json(error_json(e.message(), e.file(), e.mark()));
        else
            std::cerr << "steward: " << redact(e.what()) << std::endl;
        return kUsage;
    } catch (const CLI::ParseError& e) {
        return usage_error(ctx, e.what());
    } catch (const pqxx::argument_error& e) {  // derives from invalid_argument, but is not a usage error
        return job_error(ctx, e.what());
    } catch (const std::invalid_argument& e) {
        return usage_error(ctx, redact(e.what()));
    } catch (const std::exception& e) {
        return job_error(ctx, e.what());
    }
}

}  // namespace steward::cli
