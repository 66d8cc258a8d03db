// Running PostgreSQL's client tools for backups: credentials via environment, versions, captured stderr, row
// counts.
#include "backup/pg_tools.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <pqxx/pqxx>
#include <regex>
#include <system_error>

#include "core/pg.hpp"
#include "core/process.hpp"

namespace steward::backup {

PassFile::PassFile(const std::string& password) {
    if (password.find_first_of("\r\n") != std::string::npos || password.find('\0') != std::string::npos)
        throw std::runtime_error(
            "the database password holds a line break, which PostgreSQL's tools cannot be given; choose "
            "another password");
    std::string line = "*:*:*:*:";
    for (char ch : password) {
        if (ch == ':' || ch == '\\') line += '\\';
        line += ch;
    }
    line += '\n';
    fd_ = ::memfd_create("steward-pgpass", MFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
    // libpq ignores a password file that the group or others may read.
    bool ok = ::fchmod(fd_, 0600) == 0;
    for (std::size_t done = 0; ok && done < line.size();) {
        ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
        if (n <= 0) ok = false;
        else done += static_cast<std::size_t>(n);
    }
    std::fill(line.begin(), line.end(), '\0');
    if (!ok) {
        int e = errno;
        ::close(fd_);
        throw std::system_error(e, std::generic_category(), "writing the tools' password file");
    }
}

PassFile::~PassFile() {
    if (fd_ >= 0) ::close(fd_);
}

void ToolEnv::apply(ProcessOptions& o) const {
    o.env = vars;
    o.inherit_env = false;  // libpq's variables only, never steward's secrets
    if (passfile) {
        o.env["PGPASSFILE"] = "/proc/self/fd/" + std::to_string(passfile->fd());
        o.inherit_fds.push_back(passfile->fd());
    }
}

ToolEnv tool_env_without_password() { return ToolEnv{pg::tool_environment(), nullptr}; }

ToolConnection tool_connection(const std::string& url, const std::string& dbname_override) {
    pg::ConnInfo info = pg::parse_conninfo(url);
    ToolConnection t;
    t.env.vars = pg::tool_environment();
    if (auto it = info.params.find("password"); it != info.params.end()) {
        t.env.passfile = std::make_shared<PassFile>(it->second);
        info.params.erase(it);
    } else if (const char* pw = std::getenv("PGPASSWORD"); pw && *pw) {
        t.env.passfile = std::make_shared<PassFile>(pw);
    }
    if (!info.params.count("connect_timeout")) info.params["connect_timeout"] = "10";
    std::map<std::string, std::string> overrides;
    if (!dbname_override.empty()) overrides["dbname"] = dbname_override;
    info.params["application_name"] = "steward-backup";
    t.conninfo = pg::to_conninfo(info, overrides);
    return t;
}

std::optional<int> tool_major_version(const std::string& program, std::string* version_text) {
    if (!find_program(program)) return std::nullopt;
    ProcessOptions o;
    o.argv = {program, "--version"};
    tool_env_without_password().apply(o);
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = ProcessOptions::kPipe;
    ProcessResult r;
    try {
        r = run_process(o, std::chrono::seconds(10));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    std::smatch m;
    static const std::regex re(R"((\d+)(\.\d+)*)");
    if (!r.ok() || !std::regex_search(r.out, m, re)) return std::nullopt;
    if (version_text) *version_text = m[0];
    return std::stoi(m[1]);
}

Capture::Capture() {
    fd_ = ::memfd_create("steward-capture", MFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
}

Capture::~Capture() {
    if (fd_ >= 0) ::close(fd_);
}

std::string Capture::text(std::size_t max_bytes) const {
    off_t size = ::lseek(fd_, 0, SEEK_END);
    if (size <= 0) return {};
    off_t from = size > static_cast<off_t>(max_bytes) ? size - static_cast<off_t>(max_bytes) : 0;
    std::string s(static_cast<std::size_t>(size - from), '\0');
    ssize_t n = ::pread(fd_, s.data(), s.size(), from);
    s.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::map<std::string, std::int64_t> count_rows(pqxx::transaction_base& tx) {
    std::map<std::string, std::int64_t> counts;
    auto tables = tx.exec(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2");
    for (const auto& row : tables) {
        std::string schema = row[0].as<std::string>(), table = row[1].as<std::string>();
        auto r = tx.exec("SELECT count(*) FROM " + pg::quote_ident(schema) + "." + pg::quote_ident(table));
        counts[schema + "." + table] = r[0][0].as<std::int64_t>();
    }
    return counts;
}

std::optional<int> wait_or_cancel(Child& child, const std::atomic<bool>* cancel) {
    for (;;) {
        if (auto st = child.wait_for(std::chrono::milliseconds(100))) return st;
        if (cancel && cancel->load()) {
            child.signal(SIGKILL);
            child.wait();
            return std::nullopt;
        }
    }
}

std::string describe_status(int status) {
    if (status > 128) return "signal " + std::to_string(status - 128);
    return "exit code " + std::to_string(status);
}

}  // namespace steward::backup
