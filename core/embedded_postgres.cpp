// Runs a private PostgreSQL (initdb once, postgres as our child on loopback) and stops it cleanly.
#include "core/embedded_postgres.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "core/pg.hpp"
#include "core/secret.hpp"

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

constexpr const char* kServerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// What the server and initdb get: nothing of steward's environment, which holds its secrets.
std::map<std::string, std::string> server_env(const std::filesystem::path& dir) {
    return {{"PATH", kServerPath}, {"LANG", "C.UTF-8"}, {"PGDATA", dir.string()}};
}

// Only password connections on loopback; there is no unix socket (unix_socket_directories is empty).
constexpr const char* kHba =
    "# Written by steward at every start: the embedded server admits password (scram-sha-256)\n"
    "# connections on loopback only, never trust. The password is in steward-password (mode 0600).\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
    "host all all ::1/128 scram-sha-256\n";

std::string random_password() {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    while (out.size() < 32) {
        unsigned char b[64];
        if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("embedded PostgreSQL: no random bytes");
        for (unsigned char c : b)
            if (c < 248 && out.size() < 32) out += alphabet[c % 62];  // 248 = 4 * 62: no modulo bias
    }
    return out;
}

std::string read_small_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    return s;
}

// Writes `content` to `p` through a temporary file (mode 0600), owned by `user` when set.
void write_private_file(const std::filesystem::path& p, const std::string& content,
                        const std::optional<std::string>& user) {
    auto tmp = p.string() + ".tmp";
    ::unlink(tmp.c_str());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::runtime_error(
            fmt::format("embedded PostgreSQL: cannot write {}: {}", tmp, std::strerror(errno)));
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error(fmt::format("embedded PostgreSQL: cannot write {}", tmp));
    if (user) chown_to(tmp, *user);
    if (::rename(tmp.c_str(), p.c_str()) != 0)
        throw std::runtime_error(
            fmt::format("embedded PostgreSQL: cannot write {}: {}", p.string(), std::strerror(errno)));
}

std::string url_encode(const std::string& v) {
    std::string out;
    for (unsigned char c : v) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

}  // namespace

std::filesystem::path EmbeddedPostgres::password_file(const std::filesystem::path& dir) {
    return dir / "steward-password";
}

// Gives the cluster its password (a new one, or one made by an older steward with trust) and its pg_hba.conf.
void EmbeddedPostgres::secure(const std::optional<std::string>& user) {
    const auto& dir = options_.dir;
    auto file = password_file(dir);
    std::string pw = read_small_file(file);
    if (pw.empty()) {
        pw = options_.password.empty() ? random_password() : options_.password;
        if (pw.find_first_of("\n\r") != std::string::npos)
            throw std::runtime_error("embedded PostgreSQL: the password must be one line");
        register_redaction(pw);
        log::info("postgres", "setting the embedded superuser's password (password authentication only)",
                  {{"dir", dir.string()}});
        // Single-user mode: no server runs, so no one can connect while trust may still be configured.
        std::string quoted;
        for (char c : pw) quoted += c == '\'' ? std::string("''") : std::string(1, c);
        ProcessOptions single;
        single.argv = {(options_.bin_dir / "postgres").string(), "--single", "-D", dir.string()};
        if (!options_.durable) single.argv.push_back("-F");
        single.argv.push_back("postgres");
        single.inherit_env = false;
        single.env = server_env(dir);
        single.user = user;
        single.cwd = dir;
        auto r = run_process(single, std::chrono::minutes(2),
                             "ALTER ROLE postgres WITH PASSWORD '" + quoted + "'\n");
        std::string out = redact(r.err.empty() ? r.out : r.err);
        if (!r.ok() || r.err.find("ERROR") != std::string::npos || r.out.find("ERROR") != std::string::npos)
            throw std::runtime_error(fmt::format(
                "embedded PostgreSQL: cannot set the superuser's password (exit {}): {}", r.status, out));
        write_private_file(dir / "pg_hba.conf", kHba, user);
        write_private_file(file, pw + "\n", user);
    }
    std::stringstream hba;
    hba << std::ifstream(dir / "pg_hba.conf").rdbuf();
    if (hba.str() != kHba)
        write_private_file(dir / "pg_hba.conf", kHba, user);  // never trust, whoever edited it
    std::error_code ec;
    std::filesystem::permissions(
        file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    password_ = pw;
    register_redaction(pw);
}

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
    if (password_.empty())
        return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", options_.port, database);
    return fmt::format("postgresql://postgres:{}@127.0.0.1:{}/{}", url_encode(password_), options_.port,
                       database);
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
        probe.inherit_env = false;
        probe.env = server_env(dir);
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
        // reject until secure() has set the password and written steward's pg_hba.conf
        init.argv = {bin("initdb"), "-D",     dir.string(), "-U",   "postgres",
                     "-A",          "reject", "-E",         "UTF8", "--locale=C"};
        if (!options_.durable) init.argv.push_back("--no-sync");
        init.inherit_env = false;
        init.env = server_env(dir);
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
    secure(user);
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
    run.inherit_env = false;
    run.env = server_env(dir);
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
    try {  // the password in the folder must be the server's: a stale file is a clear error, not a hang
        pg::connect(url(), std::chrono::seconds(10));
    } catch (const std::exception& e) {
        stop();
        throw std::runtime_error(fmt::format(
            "embedded PostgreSQL: cannot log in with the password in {} ({}); remove that file and start "
            "again: steward then sets a new password",
            password_file(dir).string(), redact(e.what())));
    }
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
