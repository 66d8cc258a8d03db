// Running PostgreSQL's client tools for backups: credentials via environment, versions, captured stderr, row
// counts.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/transaction_base>
#include <string>

#include "core/process.hpp"

namespace steward::backup {

// An anonymous in-memory password file (mode 0600) in libpq's format, matching any server: "*:*:*:*:pw".
class PassFile {
  public:
    explicit PassFile(const std::string& password);  // throws for a password libpq's format cannot hold
    ~PassFile();
    PassFile(const PassFile&) = delete;
    PassFile& operator=(const PassFile&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
};

// A tool child's whole environment and the descriptors it inherits. A password reaches the tool as
// PGPASSFILE=/proc/self/fd/N naming a PassFile the child inherits: never in its environment, which
// /proc/<pid>/environ shows, nor on its command line, which the process list shows.
struct ToolEnv {
    std::map<std::string, std::string> vars;
    std::shared_ptr<const PassFile> passfile;  // null: no password
    // Sets o.env, o.inherit_env = false and the descriptor to inherit.
    void apply(ProcessOptions& o) const;
};

// pg::tool_environment() and no password: for tools that do not connect.
ToolEnv tool_env_without_password();

// A conninfo for argv (no password) plus the tool's environment. The password is the URL's or, when the
// URL has none, steward's own PGPASSWORD.
struct ToolConnection {
    std::string conninfo;
    ToolEnv env;
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
