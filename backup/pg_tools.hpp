// Running PostgreSQL's client tools for backups: credentials via environment, versions, captured stderr, row
// counts.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/transaction_base>
#include <string>

#include "core/process.hpp"

namespace steward::backup {

// A conninfo for argv (no password) plus the tool's whole environment: pg::tool_environment() and the
// password as PGPASSWORD. Spawn tools with inherit_env = false.
struct ToolConnection {
    std::string conninfo;
    std::map<std::string, std::string> env;
};
ToolConnection tool_connection(const std::string& url, const std::string& dbname_override = {});

// "pg_dump (PostgreSQL) 15.18 (Debian ...)" -> 15; nullopt when the tool is missing or unreadable.
std::optional<int> tool_major_version(const std::string& program, std::string* version_text = nullptr);

// An anonymous in-memory file for a child's stderr, read back after it exits.
class Capture {
  public:
    Capture();
    ~Capture();
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    int fd() const { return fd_; }
    std::string text(std::size_t max_bytes = 4000) const;  // the last max_bytes, trimmed

  private:
    int fd_ = -1;
};

// Exact row count of every user table (relkind r) visible to `tx`, keyed "schema.table".
std::map<std::string, std::int64_t> count_rows(pqxx::transaction_base& tx);

// A "how it ended" phrase from a shell-style status: "exit code 1", "signal 9".
std::string describe_status(int status);

// Waits for `child`, polling `cancel` every 100 ms; when it is set, kills the child's group and returns
// nullopt.
std::optional<int> wait_or_cancel(Child& child, const std::atomic<bool>* cancel);

}  // namespace steward::backup
