// Shared pieces of the daemon tests: a spec around a fresh database, service scripts, pid files.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

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

    // A development spec on the fresh database with `body` (services, probes, ...) appended.
    std::filesystem::path spec(const std::string& body, const std::string& name = "steward.yaml") const {
        return dir.write(name, "version: 1\nname: t\nenvironment: development\ndatabase:\n  url: " + url +
                                   "\nmigrations: { dir: migrations }\n" + body);
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

}  // namespace steward::test
