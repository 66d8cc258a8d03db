// Every check kind against real servers: Python's http.server (and TLS), PostgreSQL, a silent socket,
// commands.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/embedded_postgres.hpp"
#include "daemon/probes/check.hpp"
#include "daemon/probes/prober.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace std::chrono_literals;

namespace {

struct Fixture {
    boost::asio::io_context io;
    boost::asio::ssl::context tls{boost::asio::ssl::context::tls_client};
    std::string url;
    test::TempDir dir;
    Fixture(std::string database_url = {}) : url(std::move(database_url)) { tls.set_default_verify_paths(); }

    probes::CheckResult check(const CheckTarget& t, Duration timeout = 2s) {
        auto c = probes::make_check(t, probes::CheckEnvironment{io, url, dir.path(), &tls});
        return run_once(*c, timeout);
    }
    probes::CheckResult run_once(probes::Check& c, Duration timeout) {
        std::optional<probes::CheckResult> out;
        c.run(timeout, [&](probes::CheckResult r) { out = r; });
        io.restart();
        while (!out && io.run_one()) {
        }
        return out.value_or(probes::CheckResult{false, "no result", 0});
    }
};

CheckTarget http(const std::string& url, std::vector<int> expect = {}, std::optional<std::string> body = {}) {
    CheckTarget t;
    t.http = HttpCheck{url, "GET", std::move(expect), std::move(body), {}};
    return t;
}

CheckTarget tcp(int port) {
    CheckTarget t;
    t.tcp = TcpCheck{"127.0.0.1:" + std::to_string(port)};
    return t;
}

CheckTarget exec(std::vector<std::string> argv) {
    CheckTarget t;
    t.exec = ExecCheck{std::move(argv)};
    return t;
}

CheckTarget postgres(const std::string& query) {
    CheckTarget t;
    t.postgres = PostgresCheck{query};
    return t;
}

// A listening socket that never answers (the kernel completes connects; nobody reads).
struct SilentServer {
    int fd = -1;
    int port = 0;
    SilentServer() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd, 16);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~SilentServer() { ::close(fd); }
};

}  // namespace

TEST(HttpCheck, StatusAndBodyDecide) {
    Fixture f;
    f.dir.write("www/health", "status: ok\n");
    test::HttpServer server(f.dir / "www");
    EXPECT_TRUE(f.check(http(server.url("/health"))).ok);
    EXPECT_TRUE(f.check(http(server.url("/health"), {200}, "ok")).ok);
    auto missing = f.check(http(server.url("/nope")));
    EXPECT_FALSE(missing.ok);
    EXPECT_EQ(missing.error, "status 404, expected 200-399");
    EXPECT_TRUE(f.check(http(server.url("/nope"), {404})).ok);
    auto body = f.check(http(server.url("/health"), {}, "healthy"));
    EXPECT_FALSE(body.ok);
    EXPECT_NE(body.error.find("does not contain"), std::string::npos) << body.error;
}

TEST(HttpCheck, RefusedAndSilentServersFailWithinTheTimeout) {
    Fixture f;
    int port = free_loopback_port();
    auto refused = f.check(http("http://127.0.0.1:" + std::to_string(port) + "/"));
    EXPECT_FALSE(refused.ok);
    EXPECT_NE(refused.error.find("refused"), std::string::npos) << refused.error;
    SilentServer silent;
    auto t0 = std::chrono::steady_clock::now();
    auto hung = f.check(http("http://127.0.0.1:" + std::to_string(silent.port) + "/"), 300ms);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_FALSE(hung.ok);
    EXPECT_NE(hung.error.find("timed out"), std::string::npos) << hung.error;
    EXPECT_GE(took, 290ms);
    EXPECT_LT(took, 2s);
}

TEST(HttpCheck, HttpsVerifiesTheCertificate) {
    Fixture f;
    f.dir.write("www/health", "ok");
    test::HttpServer server(f.dir / "www", 0, true);
    auto r = f.check(http(server.url("/health")), 5s);
    EXPECT_FALSE(r.ok);  // self-signed: not trusted
    EXPECT_NE(r.error.find("tls handshake"), std::string::npos) << r.error;
}

TEST(TcpCheck, ConnectsOrSaysWhyNot) {
    Fixture f;
    SilentServer silent;
    EXPECT_TRUE(f.check(tcp(silent.port)).ok);
    auto r = f.check(tcp(free_loopback_port()));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
}

TEST(PostgresCheck, QueriesKeepsItsConnectionAndReconnects) {
    Fixture f(test::fresh_database("probe"));
    auto c =
        probes::make_check(postgres("SELECT 1"), probes::CheckEnvironment{f.io, f.url, f.dir.path(), &f.tls});
    EXPECT_TRUE(f.run_once(*c, 5s).ok);
    auto backends = [&] {
        return test::query_value(
            test::cluster_url(),
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'steward-probe'");
    };
    EXPECT_EQ(backends(), "1");
    EXPECT_TRUE(f.run_once(*c, 5s).ok);
    EXPECT_EQ(backends(), "1");  // the same connection, kept
    // Its backend is killed: the next run fails, the one after reconnects.
    test::query_value(
        test::cluster_url(),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'steward-probe'");
    auto broken = f.run_once(*c, 5s);
    EXPECT_FALSE(broken.ok);
    EXPECT_TRUE(f.run_once(*c, 5s).ok);
}

TEST(PostgresCheck, AFailingQueryAndAClosedPortAreErrors) {
    Fixture f(test::fresh_database("probe"));
    auto bad = f.check(postgres("SELECT * FROM no_such_table"), 5s);
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.error.find("no_such_table"), std::string::npos) << bad.error;
    Fixture closed("postgresql://postgres:hunter2-secret@127.0.0.1:" + std::to_string(free_loopback_port()) +
                   "/x");
    auto down = closed.check(postgres("SELECT 1"), 5s);
    EXPECT_FALSE(down.ok);
    EXPECT_EQ(down.error.find("hunter2"), std::string::npos) << down.error;
}

TEST(PostgresCheck, ASlowQueryTimesOut) {
    Fixture f(test::fresh_database("probe"));
    auto r = f.check(postgres("SELECT pg_sleep(5)"), 300ms);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
}

TEST(ExecCheck, ExitCodeDecidesAndStderrExplains) {
    Fixture f;
    EXPECT_TRUE(f.check(exec({"/bin/true"})).ok);
    auto r = f.check(exec({"/bin/sh", "-c", "echo first >&2; echo 'disk full' >&2; exit 3"}));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "exit code 3: disk full");
    auto missing = f.check(exec({"/no/such/program"}));
    EXPECT_FALSE(missing.ok);
}

TEST(ExecCheck, ATimeoutKillsTheCommandAndItsChildren) {
    Fixture f;
    auto pidfile = f.dir / "pid";
    auto r = f.check(exec({"/bin/sh", "-c", "sleep 30 & echo $! > " + pidfile.string() + "; wait"}), 3s);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
    ASSERT_FALSE(test::read_text(pidfile).empty()) << "the shell did not start its child within the timeout";
    pid_t grandchild = static_cast<pid_t>(std::stol(test::read_text(pidfile)));
    EXPECT_TRUE(test::wait_until([&] { return !test::process_alive(grandchild); }, 5s));
}

TEST(Probe, GoesDownAfterTheThresholdAndComesBack) {
    Fixture f;
    f.dir.write("www/health", "ok");
    int port = free_loopback_port();
    auto server = std::make_unique<test::HttpServer>(f.dir / "www", port);
    ProbeSpec spec;
    spec.name = "web";
    spec.target = http("http://127.0.0.1:" + std::to_string(port) + "/health");
    spec.interval = 50ms;
    spec.timeout = 1s;
    spec.failure_threshold = 2;
    std::vector<probes::Health> changes;
    probes::Probe probe(
        f.io, spec, probes::make_check(spec.target, {f.io, "", f.dir.path(), &f.tls}),
        [&](const std::string&, const probes::ProbeStatus& s, const probes::CheckResult&, bool changed) {
            if (changed) changes.push_back(s.health);
        });
    probe.start();
    auto run_until = [&](auto pred) {
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!pred() && std::chrono::steady_clock::now() < deadline) f.io.run_for(20ms);
        return pred();
    };
    ASSERT_TRUE(run_until([&] { return probe.status().health == probes::Health::up; }));
    server->stop();
    ASSERT_TRUE(run_until([&] { return probe.status().health == probes::Health::down; }));
    EXPECT_GE(probe.status().consecutive_failures, 2);
    server->start();
    ASSERT_TRUE(run_until([&] { return probe.status().health == probes::Health::up; }));
    EXPECT_EQ(changes,
              (std::vector<probes::Health>{probes::Health::up, probes::Health::down, probes::Health::up}));
}
