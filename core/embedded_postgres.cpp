// Runs a private PostgreSQL (initdb once, postgres as our child on loopback) and stops it cleanly.
#include "core/embedded_postgres.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "core/pg.hpp"

namespace steward {
namespace {

bool running_as_root() { return ::geteuid() == 0; }

void chown_to(const std::filesystem::path& p, const std::string& user) {
    struct passwd* pw = ::getpwnam(user.c_str());
    if (!pw)
        throw std::runtime_error(
            fmt::format("embedded PostgreSQL: OS user '{}' does not exist; install postgresql-15", user));
    if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error(fmt::format("embedded PostgreSQL: cannot chown {} to {}: {}", p.string(),
                                             user, std::strerror(errno)));
}

}  // namespace

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot find a free loopback port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

EmbeddedPostgres::EmbeddedPostgres(Options options) : options_(std::move(options)) {}

EmbeddedPostgres::~EmbeddedPostgres() {
    try {
        stop();
    } catch (...) {
    }
}

std::string EmbeddedPostgres::url(const std::string& database) const {
    return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", options_.port, database);
}

void EmbeddedPostgres::start() {
    if (running()) return;
    namespace fs = std::filesystem;
    const auto& dir = options_.dir;
    std::optional<std::string> user;
    if (running_as_root()) user = options_.os_user;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("embedded PostgreSQL: cannot create {}: {}", dir.string(), ec.message()));
    fs::permissions(dir, fs::perms::owner_all, ec);
    if (user) {
        chown_to(dir, *user);
        ProcessOptions probe;
        probe.argv = {"test", "-w", dir.string(), "-a", "-x", dir.string()};
        probe.user = user;
        if (!run_process(probe, std::chrono::seconds(10)).ok())
            throw std::runtime_error(
                fmt::format("embedded PostgreSQL: the '{}' OS user cannot reach {} (PostgreSQL refuses to "
                            "run as root, so it runs as '{}'). "
                            "A folder under /root is not traversable by other users: set "
                            "database.embedded.dir to a path such as "
                            "/tmp/steward-pg or /var/lib/steward/pg",
                            *user, dir.string(), *user));
    }
    auto bin = [&](const char* name) { return (options_.bin_dir / name).string(); };
    if (!fs::exists(options_.bin_dir / "postgres"))
        throw std::runtime_error(
            fmt::format("embedded PostgreSQL: {} not found; install postgresql-15", bin("postgres")));

    if (!fs::exists(dir / "PG_VERSION")) {
        log::info("postgres", "initialising embedded cluster", {{"dir", dir.string()}});
        ProcessOptions init;
        init.argv = {bin("initdb"), "-D",    dir.string(), "-U",   "postgres",
                     "-A",          "trust", "-E",         "UTF8", "--locale=C"};
        if (!options_.durable) init.argv.push_back("--no-sync");
        init.user = user;
        init.cwd = dir;  // initdb complains when it cannot read the current folder (e.g. under /root)
        auto r = run_process(init, std::chrono::minutes(2));
        if (!r.ok())
            throw std::runtime_error(fmt::format("embedded PostgreSQL: initdb failed (exit {}): {}", r.status,
                                                 r.err.empty() ? r.out : r.err));
    }
    // postmaster.pid is PostgreSQL's guard against two servers on one folder: never remove it.
    // A stale one (its process gone) is handled by postgres itself; a live one is refused here.
    if (std::ifstream pidfile(dir / "postmaster.pid"); pidfile) {
        long pid = 0;
        if (pidfile >> pid && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0)
            throw std::runtime_error(
                fmt::format("embedded PostgreSQL: the cluster in {} is already in use by pid {} (another "
                            "steward command?); "
                            "wait for it to finish",
                            dir.string(), pid));
    }
    if (pg::ping(url()))
        throw std::runtime_error(
            fmt::format("embedded PostgreSQL: port {} on 127.0.0.1 is already taken by another server; set "
                        "database.embedded.port "
                        "to a free port",
                        options_.port));

    int logfd = ::open((dir / "postgres.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (user && logfd >= 0) chown_to(dir / "postgres.log", *user);
    ProcessOptions run;
    run.argv = {bin("postgres"),
                "-D",
                dir.string(),
                "-p",
                std::to_string(options_.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=100"};
    if (!options_.durable)
        for (const char* s : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"}) {
            run.argv.push_back("-c");
            run.argv.push_back(s);
        }
    run.user = user;
    run.stdout_fd = logfd >= 0 ? logfd : ProcessOptions::kDevNull;
    run.stderr_fd = run.stdout_fd;
    run.parent_death_signal = SIGINT;  // fast shutdown if steward dies
    child_ = spawn(run);
    if (logfd >= 0) ::close(logfd);

    auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
    while (!pg::ping(url())) {
        if (auto st = child_.try_wait())
            throw std::runtime_error(
                fmt::format("embedded PostgreSQL exited with status {} while starting; see {}", *st,
                            (dir / "postgres.log").string()));
        if (std::chrono::steady_clock::now() > deadline) {
            stop();
            throw std::runtime_error(
                fmt::format("embedded PostgreSQL did not accept connections within {}s; see {}",
                            options_.start_timeout.count(), (dir / "postgres.log").string()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (auto st = child_.try_wait())  // something else answered on our port
        throw std::runtime_error(
            fmt::format("embedded PostgreSQL exited with status {} while starting; see {}", *st,
                        (dir / "postgres.log").string()));
    log::info("postgres", "embedded PostgreSQL ready", {{"port", options_.port}, {"dir", dir.string()}});
}

void EmbeddedPostgres::stop() {
    if (!child_.running()) return;
    child_.signal(SIGINT, false);  // fast shutdown: roll back, disconnect, checkpoint
    if (!child_.wait_for(std::chrono::seconds(30))) {
        child_.signal(SIGKILL);
        child_.wait();
    }
}

}  // namespace steward
