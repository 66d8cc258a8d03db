// A private PostgreSQL 15 on loopback, run as steward's child: database.embedded and the test harness.
// It admits password (scram-sha-256) connections only and runs with a minimal environment.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
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
        // The superuser's password when a cluster is created (or an old trust cluster is secured);
        // empty: a random one. An existing cluster keeps the password in its folder.
        std::string password;
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

    // postgresql://postgres:PASSWORD@127.0.0.1:PORT/DB (the password once start() has read it)
    std::string url(const std::string& database = "postgres") const;
    int port() const { return options_.port; }
    const std::filesystem::path& dir() const { return options_.dir; }

    // The file in the data folder (mode 0600) that keeps the superuser's password.
    static std::filesystem::path password_file(const std::filesystem::path& dir);

  private:
    void secure(const std::optional<std::string>& user);
    Options options_;
    std::string password_;
    Child child_;
};

// A free TCP port on 127.0.0.1 (bound and released).
int free_loopback_port();

}  // namespace steward
