// Shared pieces of the daemon tests: a spec around a fresh database, service scripts, pid files.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "core/embedded_postgres.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {

struct DaemonFixture {
    TempDir dir{"steward-daemon"};
    std::string url;

    explicit DaemonFixture(bool with_database = true) {
        if (with_database) url = fresh_database("run");
        std::filesystem::create_directories(dir / "migrations");
    }

    // A development spec on the fresh database with `body` (services, probes, ...) appended. Without an
    // admin section of its own, the admin API gets a free port (tests run side by side).
    std::filesystem::path spec(const std::string& body, const std::string& name = "steward.yaml") const {
        std::string admin = body.find("admin:") == std::string::npos
                                ? "admin: { listen: '127.0.0.1:" + std::to_string(free_loopback_port()) + "' }\n"
                                : "";
        return dir.write(name, "version: 1\nname: t\nenvironment: development\ndatabase:\n  url: " + url +
                                   "\nmigrations: { dir: migrations }\n" + body + admin);
    }

    // An executable shell script; `$$`-free YAML, so the script may use the shell's own `$`.
    std::string script(const std::string& name, const std::string& body) const {
        auto p = dir.write(name, "#!/bin/sh\n" + body + "\n");
        ::chmod(p.c_str(), 0755);
        return p.string();
    }

    std::filesystem::path log() const { return dir / "steward.log"; }

    pid_t pid_in(const std::string& file) const {
        std::string t = read_text(dir / file);
        while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
        return t.empty() ? 0 : static_cast<pid_t>(std::stol(t));
    }
    // Waits until `file` names a live pid other than `old`; returns it (0 on timeout).
    pid_t wait_new_pid(const std::string& file, pid_t old,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
        pid_t now = 0;
        wait_until(
            [&] {
                now = pid_in(file);
                return now != 0 && now != old && process_alive(now);
            },
            timeout);
        return now != old && process_alive(now) ? now : 0;
    }
};

// A PostgreSQL of the test's own, started, for tests that stop and start it under a running steward (the
// shared test cluster must stay up for the suites beside them).
class StoppablePostgres {
  public:
    explicit StoppablePostgres(const std::string& prefix) : dir_(prefix), pg_(options(dir_)) { pg_.start(); }
    std::string url() const { return pg_.url(); }
    void stop() { pg_.stop(); }
    void start() { pg_.start(); }

  private:
    static EmbeddedPostgres::Options options(const TempDir& dir) {
        EmbeddedPostgres::Options o;
        o.dir = dir / "data";
        o.port = free_loopback_port();
        o.durable = false;
        return o;
    }
    TempDir dir_;  // outlives the server, which is stopped first
    EmbeddedPostgres pg_;
};

}  // namespace steward::test
