// Running PostgreSQL's client tools for backups: credentials via environment, versions, captured stderr, row
// counts.
#include "backup/pg_tools.hpp"

#include <sys/mman.h>
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

ToolConnection tool_connection(const std::string& url, const std::string& dbname_override) {
    pg::ConnInfo info = pg::parse_conninfo(url);
    ToolConnection t;
    t.env = pg::tool_environment();
    if (auto it = info.params.find("password"); it != info.params.end()) {
        t.env["PGPASSWORD"] = it->second;
        info.params.erase(it);
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
    o.inherit_env = false;
    o.env = pg::tool_environment();
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
