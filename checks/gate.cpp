// The I/O side of the gate: stats paths, looks up programs, asks the database; then runs the rules.
#include "checks/gate.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <pqxx/nontransaction>
#include <regex>
#include <system_error>

#include "checks/rule.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"
#include "core/process.hpp"

namespace steward::checks {
namespace {

namespace fs = std::filesystem;

fs::path under(const fs::path& base, const fs::path& p) { return p.is_absolute() ? p : base / p; }

PathFacts stat_dir(const fs::path& dir, bool probe_write) {
    PathFacts f;
    std::error_code ec;
    f.exists = fs::exists(dir, ec);
    f.is_directory = f.exists && fs::is_directory(dir, ec);
    if (!f.is_directory || !probe_write) return f;
    // access() says yes to root everywhere; only creating a file tells the truth.
    std::string tmpl = (dir / ".steward-check-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
        f.error = std::error_code(errno, std::generic_category()).message();
        return f;
    }
    ::close(fd);
    ::unlink(tmpl.c_str());
    f.writable = true;
    return f;
}

ProgramFacts look_up_program(const Spec& spec, const ServiceSpec& svc) {
    ProgramFacts p;
    const std::string& argv0 = svc.command.front();
    if (argv0.find('/') == std::string::npos) {
        auto found = find_program(argv0);
        p.found = p.executable = found.has_value();
        p.resolved = found ? found->string() : argv0 + " (on PATH)";
        return p;
    }
    fs::path base = svc.workdir ? under(spec.folder, *svc.workdir) : spec.folder;
    fs::path program = under(base, argv0).lexically_normal();
    p.resolved = program.string();
    std::error_code ec;
    p.found = fs::exists(program, ec);
    p.executable = p.found && fs::is_regular_file(program, ec) && ::access(program.c_str(), X_OK) == 0;
    return p;
}

std::string scrub(std::string text, const std::string& password) {
    if (password.empty()) return text;
    for (auto at = text.find(password); at != std::string::npos; at = text.find(password, at))
        text.replace(at, password.size(), "***");
    return text;
}

void ask_pg_dump(ConnectFacts& c) {
    auto program = find_program("pg_dump");
    if (!program) {
        c.pg_dump_error = "pg_dump is not on PATH";
        return;
    }
    ProcessOptions opts;
    opts.argv = {program->string(), "--version"};
    ProcessResult r = run_process(opts, std::chrono::seconds(10));
    std::smatch m;
    static const std::regex version(R"((\d+)(\.\d+)*)");
    if (!r.ok() || !std::regex_search(r.out, m, version)) {
        c.pg_dump_error = fmt::format("`pg_dump --version` exited {}", r.status);
        return;
    }
    c.pg_dump_version = m.str(0);
    c.pg_dump_major = std::stoi(m.str(1));
}

ConnectFacts ask_database(const Spec& spec, const GateOptions& options) {
    ConnectFacts c;
    const std::optional<std::string>& effective =
        options.database_url ? options.database_url : spec.database.url;
    if (!effective || effective->empty()) {
        c.skipped = true;
        c.skip_reason = spec.database.embedded ? "database.embedded is started by `steward run`, not by check"
                                               : "no database.url";
        return c;
    }
    const std::string& url = *effective;
    std::string password;
    std::string dbname;
    try {
        pg::ConnInfo info = pg::parse_conninfo(url);
        // libpq would fail on it, quoting pieces of the password in its error: do not try.
        if (!misparsed_url(info).empty()) {
            c.error = "database.url cannot be parsed: " + misparsed_url(info);
            return c;
        }
        password = info.get("password");
        dbname = info.dbname();
    } catch (const std::exception&) {
        c.error = "database.url cannot be parsed";
        return c;
    }
    ask_pg_dump(c);
    try {
        auto conn = pg::connect(url, options.connect_timeout);
        c.answered = true;
        c.server_major = pg::server_major_version(*conn);
        {
            pqxx::nontransaction tx(*conn);
            c.server_version = tx.exec1("SHOW server_version")[0].as<std::string>();
        }
        {
            pqxx::nontransaction tx(*conn);
            auto row =
                tx.exec1("SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user");
            c.role = row[0].as<std::string>();
            c.superuser = row[1].as<bool>();
        }
        try {
            c.migration_lock_holder =
                pg::advisory_lock_holder(*conn, pg::migration_lock_key(dbname, spec.migrations.table));
        } catch (const std::exception& e) {
            c.lock_error = scrub(e.what(), password);
        }
    } catch (const std::exception& e) {
        if (!c.answered)
            c.error = scrub(e.what(), password);
        else if (c.server_version.empty())
            c.server_version = "unknown";
    }
    while (!c.error.empty() && (c.error.back() == '\n' || c.error.back() == ' ')) c.error.pop_back();
    return c;
}

// Whether database.url's password sits in the spec file itself rather than coming from ${VAR}.
bool password_in_spec_file(const Spec& spec) {
    if (!spec.database.url || spec.file.empty()) return false;
    std::string password;
    try {
        password = pg::parse_conninfo(*spec.database.url).get("password");
    } catch (const std::exception&) {
        return false;
    }
    if (password.empty()) return false;
    std::ifstream in(spec.file, std::ios::binary);
    if (!in) return false;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find(*spec.database.url) != std::string::npos) return true;
    // A short password would be found by chance in any text; it is weak_password's anyway.
    return password.size() >= 8 && text.find(password) != std::string::npos;
}

}  // namespace

GateFacts gather_facts(const Spec& spec, const GateOptions& options) {
    GateFacts facts;
    facts.uid = ::geteuid();
    if (const char* mode = std::getenv("PGSSLMODE")) facts.pgsslmode = mode;
    if (const char* host = std::getenv("PGHOST"); host && *host) facts.pghost = host;
    if (const char* addr = std::getenv("PGHOSTADDR"); addr && *addr) facts.pghostaddr = addr;
    facts.database_password_in_spec = password_in_spec_file(spec);
    if (spec.backups) facts.backup_dir = stat_dir(under(spec.folder, spec.backups->dir), true);
    facts.migrations_dir = stat_dir(under(spec.folder, spec.migrations.dir), false);
    for (const auto& svc : spec.services)
        if (!svc.command.empty()) facts.service_programs[svc.name] = look_up_program(spec, svc);
    if (options.connect) facts.connect = ask_database(spec, options);
    return facts;
}

std::vector<Finding> run_gate(const Spec& spec, const GateOptions& options) {
    GateFacts facts = gather_facts(spec, options);
    if (!options.resolve_secrets) return evaluate(spec, nullptr, facts);
    auto secrets = resolve_secrets(spec);
    return evaluate(spec, &secrets, facts);
}

int run_startup_gate(const Spec& spec, const GateOptions& options) {
    std::vector<Finding> findings = run_gate(spec, options);
    int errors = 0;
    int warnings = 0;
    for (const auto& f : findings) {
        log::Fields fields{{"id", f.id},
                           {"path", f.path},
                           {"line", boost::json::value(f.line)},
                           {"message", f.message},
                           {"hint", f.hint}};
        switch (f.severity) {
            case Severity::error:
                ++errors;
                log::error("gate", "gate finding", fields);
                break;
            case Severity::warning:
                ++warnings;
                log::warn("gate", "gate finding", fields);
                break;
            case Severity::info:
                log::info("gate", "gate finding", fields);
                break;
        }
    }
    if (errors > 0) {
        log::error("gate", "startup refused: the gate found errors",
                   {{"errors", boost::json::value(errors)},
                    {"warnings", boost::json::value(warnings)},
                    {"environment", to_string(spec.environment)}});
        return 1;
    }
    log::info("gate", "gate passed",
              {{"warnings", boost::json::value(warnings)}, {"environment", to_string(spec.environment)}});
    return 0;
}

}  // namespace steward::checks
