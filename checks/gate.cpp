// The I/O side of the gate: stats paths, looks up programs, asks the database; then runs the rules.
#include "checks/gate.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
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
            auto row = tx.exec1(
                "SELECT current_user::text, rolsuper, rolcreatedb FROM pg_roles WHERE rolname = "
                "current_user");
            c.role = row[0].as<std::string>();
            c.superuser = row[1].as<bool>();
            c.createdb = row[2].as<bool>();
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

// Kubernetes and Docker mount secrets here, systemd its credentials in $CREDENTIALS_DIRECTORY.
std::vector<fs::path> secret_mounts() {
    std::vector<fs::path> out{"/run/secrets", "/var/run/secrets"};
    if (const char* d = std::getenv("CREDENTIALS_DIRECTORY"); d && *d) out.emplace_back(d);
    return out;
}

bool inside(const fs::path& file, const fs::path& folder) {
    auto f = file.lexically_normal().string(), d = folder.lexically_normal().string();
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return f.size() > d.size() && f.compare(0, d.size(), d) == 0 && f[d.size()] == '/';
}

SecretFileFacts secret_file_facts(const fs::path& file) {
    SecretFileFacts f;
    f.path = file;
    for (const auto& m : secret_mounts()) f.in_secret_mount = f.in_secret_mount || inside(file, m);
    struct stat st {};
    struct statvfs vfs {};
    if (::stat(file.c_str(), &st) != 0) return f;
    bool read_only = ::statvfs(file.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
    // By the mode bits, not access(): root may write anything on a writable mount, and the
    // question is whether the file is meant to be changed by steward's user.
    uid_t uid = ::geteuid();
    bool bits = (st.st_uid == uid && (st.st_mode & S_IWUSR)) ||
                (st.st_gid == ::getegid() && (st.st_mode & S_IWGRP)) || (st.st_mode & S_IWOTH);
    f.writable = !read_only && bits;
    return f;
}

}  // namespace

GateFacts gather_facts(const Spec& spec, const GateOptions& options) {
    GateFacts facts;
    facts.uid = ::geteuid();
    facts.lint = options.lint;
    for (const auto& svc : spec.services)
        facts.service_envs[svc.name] = resolve_service_env(spec, svc, {}, "", {!options.lint});
    if (options.env_file) {
        EnvFile file = read_env_file(*options.env_file);
        facts.env_file = EnvFileFacts{*options.env_file, std::move(file.entries), std::move(file.errors)};
    }
    facts.database_password_in_spec = password_in_spec_file(spec);
    if (options.lint) return facts;  // nothing else on the host
    for (const auto& s : spec.secrets) {
        if (s.source == SecretSpec::Source::file) facts.secret_files[s.name] = secret_file_facts(s.file);
        const char* creds = std::getenv("CREDENTIALS_DIRECTORY");
        if (s.source == SecretSpec::Source::credential && creds && *creds)
            facts.secret_files[s.name] = secret_file_facts(fs::path(creds) / s.credential);
    }
    for (const auto& svc : spec.services)
        if (svc.workdir) facts.service_workdirs[svc.name] = stat_dir(under(spec.folder, *svc.workdir), false);
    if (const char* mode = std::getenv("PGSSLMODE")) facts.pgsslmode = mode;
    if (const char* host = std::getenv("PGHOST"); host && *host) facts.pghost = host;
    if (const char* addr = std::getenv("PGHOSTADDR"); addr && *addr) facts.pghostaddr = addr;
    if (spec.backups) facts.backup_dir = stat_dir(under(spec.folder, spec.backups->dir), true);
    facts.migrations_dir = stat_dir(under(spec.folder, spec.migrations.dir), false);
    for (const auto& svc : spec.services)
        if (!svc.command.empty()) facts.service_programs[svc.name] = look_up_program(spec, svc);
    if (options.connect) facts.connect = ask_database(spec, options);
    return facts;
}

std::vector<Finding> run_gate(const Spec& spec, const GateOptions& options, std::vector<Skipped>* skipped) {
    GateFacts facts = gather_facts(spec, options);
    if (!options.resolve_secrets || options.lint) return evaluate(spec, nullptr, facts, skipped);
    auto secrets = resolve_secrets(spec);
    return evaluate(spec, &secrets, facts, skipped);
}

int run_startup_gate(const Spec& spec, const GateOptions& options, std::vector<Finding>* out) {
    std::vector<Finding> findings = run_gate(spec, options);
    if (out) *out = findings;
    int errors = 0;
    int warnings = 0;
    for (const auto& f : findings) {
        log::Fields fields{{"id", f.id},
                           {"path", f.path},
                           {"line", boost::json::value(f.line)},
                           {"message", f.message},
                           {"hint", f.hint}};
        if (f.is_waived()) {  // accepted by checks.waive: shown, never counted
            log::info("gate", "gate finding waived",
                      {{"id", f.id}, {"path", f.path}, {"message", f.message}, {"reason", f.waived}});
            continue;
        }
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
