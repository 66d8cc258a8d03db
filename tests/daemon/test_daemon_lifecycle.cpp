// `steward run` over time: notify during a slow migration, watchdog pings, reloads, probes, PostgreSQL
// restarts.
#include <signal.h>

#include <algorithm>

#include "core/embedded_postgres.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/notify_socket.hpp"

using namespace steward;
using namespace std::chrono_literals;

TEST(Lifecycle, StatusAndExtendTimeoutWhileASlowMigrationRuns) {
    test::DaemonFixture f;
    test::NotifySocket notify;
    f.dir.write("migrations/V1__slow.sql", "SELECT pg_sleep(2);\nCREATE TABLE t (id int);\n");
    test::DaemonProcess d(f.spec(""), f.log(), {{"NOTIFY_SOCKET", notify.path()}});
    auto status = notify.wait_for("STATUS=starting: migrations", 60s);
    ASSERT_TRUE(status) << d.log();
    auto extend = notify.wait_for("EXTEND_TIMEOUT_USEC=", 10s);
    ASSERT_TRUE(extend);
    auto ready = notify.wait_for("READY=1", 60s);
    ASSERT_TRUE(ready) << d.log();
    EXPECT_LE(extend->at, ready->at);
    EXPECT_GE(ready->at - status->at, 1900ms);  // READY waited for the migration
    EXPECT_EQ(test::query_value(f.url, "SELECT count(*) FROM t"), "0");
}

TEST(Lifecycle, WatchdogPingsEveryHalfPeriod) {
    test::DaemonFixture f;
    test::NotifySocket notify;
    test::DaemonProcess d(f.spec(""), f.log(),
                          {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "400000"}});
    ASSERT_TRUE(notify.wait_for("READY=1", 60s)) << d.log();
    std::size_t start = notify.messages().size();
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto m = notify.messages();
            return std::count_if(m.begin() + static_cast<long>(start), m.end(),
                                 [](const auto& x) { return x.text == "WATCHDOG=1"; }) >= 6;
        },
        10s));
    std::vector<std::chrono::steady_clock::time_point> pings;
    auto all = notify.messages();
    for (std::size_t i = start; i < all.size(); ++i)
        if (all[i].text == "WATCHDOG=1") pings.push_back(all[i].at);
    // Gaps are timed where the test's reader picks the message up, so one late wake-up stretches one gap and
    // shrinks the next: the median says the pace (half of 400 ms), the largest that none reached the period.
    std::vector<std::chrono::milliseconds> gaps;
    for (std::size_t i = 1; i < pings.size(); ++i)
        gaps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(pings[i] - pings[i - 1]));
    std::sort(gaps.begin(), gaps.end());
    EXPECT_GT(gaps[gaps.size() / 2], 150ms);
    EXPECT_LT(gaps[gaps.size() / 2], 300ms);
    EXPECT_LT(gaps.back(), 400ms);
}

TEST(Lifecycle, ABadSpecOnSighupIsRefusedAndTheOldOneKeepsRunning) {
    test::DaemonFixture f;
    auto svc = f.script("svc.sh", "echo $$ > " + (f.dir / "pid").string() + "; exec sleep 1000");
    auto spec = f.spec("services:\n  svc:\n    command: [" + svc + "]\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    pid_t pid = f.wait_new_pid("pid", 0);
    f.spec("services:\n  svc:\n    command: [" + svc + "]\n    restrat: {}\n");  // a typo
    d.signal(SIGHUP);
    ASSERT_TRUE(d.wait_for_log("reload refused", 20s)) << d.log();
    EXPECT_NE(d.log().find("did you mean 'restart'"), std::string::npos);
    // A spec that loads but fails the gate is refused too.
    f.dir.write("steward.yaml", "version: 1\nname: t\nenvironment: production\ndatabase:\n  url: " + f.url +
                                    "\nmigrations: { dir: migrations }\nservices:\n  svc:\n    command: [" +
                                    svc + "]\nsecurity: { require_auth: false }\n");
    d.signal(SIGHUP);
    ASSERT_TRUE(d.wait_for_log("reload refused", 20s, 2)) << d.log();
    EXPECT_NE(d.log().find("security.auth_disabled"), std::string::npos);
    EXPECT_EQ(f.pid_in("pid"), pid);
    EXPECT_TRUE(test::process_alive(pid));
    EXPECT_TRUE(d.running());
}

TEST(Lifecycle, AReloadRestartsOnlyTheServiceThatChanged) {
    test::DaemonFixture f;
    auto a = f.script("a.sh", "echo $$ > " + (f.dir / "a.pid").string() + "; exec sleep 1000");
    auto b = f.script("b.sh", "echo $$ > " + (f.dir / "b.pid").string() + "; exec sleep 1000");
    auto body = [&](const std::string& mode) {
        return "services:\n  a:\n    command: [" + a + "]\n    env: { MODE: " + mode +
               " }\n  b:\n    command: [" + b + "]\n";
    };
    test::DaemonProcess d(f.spec(body("one")), f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    pid_t pa = f.wait_new_pid("a.pid", 0), pb = f.wait_new_pid("b.pid", 0);
    f.spec(body("two"));
    d.signal(SIGHUP);
    ASSERT_TRUE(d.wait_for_log("spec reloaded", 20s)) << d.log();
    pid_t pa2 = f.wait_new_pid("a.pid", pa);
    EXPECT_NE(pa2, 0) << d.log();
    EXPECT_EQ(f.pid_in("b.pid"), pb);
    EXPECT_TRUE(test::process_alive(pb));
    EXPECT_NE(d.log().find("env MODE"), std::string::npos);
}

TEST(Lifecycle, AProbeOfAStoppedServerGoesDownAndComesBack) {
    test::DaemonFixture f;
    f.dir.write("www/health", "ok");
    int port = free_loopback_port();
    test::HttpServer server(f.dir / "www", port);
    auto spec = f.spec("probes:\n  - { name: web, http: { url: 'http://127.0.0.1:" + std::to_string(port) +
                       "/health' }, interval: 100ms, failure_threshold: 3 }\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("probe up probe=web", 60s)) << d.log();
    server.stop();
    ASSERT_TRUE(d.wait_for_log("probe down probe=web", 20s)) << d.log();
    EXPECT_NE(d.log().find("reason=\"connect: Connection refused\""), std::string::npos) << d.log();
    server.start();
    ASSERT_TRUE(d.wait_for_log("probe up probe=web", 20s, 2)) << d.log();
    EXPECT_EQ(d.count("probe down probe=web"), 1);  // once per change, not per failure
}

TEST(Lifecycle, PostgresRestartedDuringARunTheProbeFailsAndRecoversStewardStaysUp) {
    test::DaemonFixture f(false);
    test::StoppablePostgres pg("steward-pg-restart");
    f.url = pg.url();
    test::NotifySocket notify;
    auto spec = f.spec(
        "probes:\n  - { name: db, postgres: { query: 'SELECT 1' }, interval: 100ms, timeout: 1s, "
        "failure_threshold: 2 }\n");
    test::DaemonProcess d(spec, f.log(), {{"NOTIFY_SOCKET", notify.path()}});
    ASSERT_TRUE(notify.wait_for("READY=1", 60s)) << d.log();
    ASSERT_TRUE(d.wait_for_log("probe up probe=db", 20s)) << d.log();
    pg.stop();
    ASSERT_TRUE(d.wait_for_log("probe down probe=db", 20s)) << d.log();
    pg.start();
    ASSERT_TRUE(d.wait_for_log("probe up probe=db", 30s, 2)) << d.log();
    EXPECT_TRUE(d.running());
    EXPECT_FALSE(notify.wait_for("STOPPING", 0ms));
}
