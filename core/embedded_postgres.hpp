// A private PostgreSQL 15 on loopback, run as steward's child: database.embedded and the test harness.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/process.hpp"

namespace steward {

class EmbeddedPostgres {
  public:
    struct Options {
        std::filesystem::path dir;  // data directory; initdb runs when it holds no cluster
        int port = 55432;
        std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";
        std::string os_user = "postgres";  // used only when steward runs as root
        bool durable = true;               // false: fsync=off (tests)
        std::chrono::seconds start_timeout{60};
    };

    explicit EmbeddedPostgres(Options options);
    ~EmbeddedPostgres();  // stop()
    EmbeddedPostgres(const EmbeddedPostgres&) = delete;
    EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

    // initdb if needed, start, wait until it accepts connections. Throws std::runtime_error
    // with what to do (e.g. the postgres user cannot reach the folder).
    void start();
    // Fast shutdown (SIGINT), waits; SIGKILL after 30 s.
    void stop();
    bool running() const { return child_.running(); }

    // postgresql://postgres@127.0.0.1:PORT/DB
    std::string url(const std::string& database = "postgres") const;
    int port() const { return options_.port; }
    const std::filesystem::path& dir() const { return options_.dir; }

  private:
    Options options_;
    Child child_;
};

// A free TCP port on 127.0.0.1 (bound and released).
int free_loopback_port();

}  // namespace steward
