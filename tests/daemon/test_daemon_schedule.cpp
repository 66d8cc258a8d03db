// Scheduled work of `steward run`: backups and restore drills on a (seconds) schedule, and a loop that keeps
// answering while a backup runs.
#include <signal.h>

#include <boost/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "core/embedded_postgres.hpp"
#include "core/pg.hpp"
#include "daemon/admin/client.hpp"
#include "tests/daemon/daemon_fixture.hpp"

using namespace steward;
using namespace std::chrono_literals;

TEST(Schedule, ABackupAndARestoreDrillHappenOnAShortSchedule) {
    test::DaemonFixture f;
    test::query_value(
        f.url, "CREATE TABLE notes (id int PRIMARY KEY); INSERT INTO notes SELECT generate_series(1, 50)");
    std::filesystem::create_directories(f.dir / "backups");
    auto spec = f.spec(
        "backups:\n  dir: backups\n  schedule: '*/2 * * * * *'\n  catch_up: false\n"
        "  drill: { schedule: '1-59/3 * * * * *' }\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("backup published", 60s)) << d.log();
    ASSERT_TRUE(d.wait_for_log("restore drill passed", 60s)) << d.log();
    EXPECT_NE(d.log().find("backup job started kind=scheduled"), std::string::npos);
    std::size_t published = 0;
    for (const auto& e : std::filesystem::directory_iterator(f.dir / "backups"))
        if (e.is_directory() && std::filesystem::exists(e.path() / "manifest.json")) ++published;
    EXPECT_GE(published, 1u);
}

TEST(Schedule, TheLoopKeepsAnsweringAndProbingWhileABackupRuns) {
    test::DaemonFixture f;
    test::query_value(f.url, "CREATE TABLE notes (id int PRIMARY KEY)");
    std::filesystem::create_directories(f.dir / "backups");
    int port = free_loopback_port();
    auto ticks = f.dir / "ticks";
    auto spec = f.spec(
        "backups: { dir: backups, catch_up: false }\n"
        "probes:\n  - { name: tick, exec: { command: [/bin/sh, -c, 'date +%s%N >> " +
        ticks.string() +
        "'] }, interval: 200ms }\n"
        "secrets: { admin_token: { env: ADMIN_TOKEN } }\n"
        "admin: { listen: '127.0.0.1:" +
        std::to_string(port) + "', token: 'secret:admin_token' }\n");
    const std::string token = "T0ken-for-the-schedule-test-0123456789";
    test::DaemonProcess d(spec, f.log(), {{"ADMIN_TOKEN", token}});
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    // pg_dump waits for this lock: the backup runs (on a worker) for as long as we hold it.
    auto blocker = pg::connect(f.url);
    pqxx::work tx(*blocker);
    tx.exec("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE");
    admin::AdminEndpoint api;
    api.port = std::to_string(port);
    api.token = token;
    ASSERT_EQ(admin::request(api, "POST", "/api/v1/backups").status, 202);
    auto t0 = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration slowest{};
    int answered = 0;
    while (std::chrono::steady_clock::now() - t0 < 3s) {
        auto a = std::chrono::steady_clock::now();
        EXPECT_EQ(admin::request(api, "GET", "/healthz").status, 200);
        slowest = std::max(slowest, std::chrono::steady_clock::now() - a);
        ++answered;
        std::this_thread::sleep_for(50ms);  // the client's pace
    }
    auto status = boost::json::parse(admin::request(api, "GET", "/api/v1/status").body);
    EXPECT_TRUE(status.at("backups").at("running").as_bool()) << "the backup should still wait for the lock";
    tx.commit();
    ASSERT_TRUE(d.wait_for_log("backup published", 60s)) << d.log();
    EXPECT_LT(slowest, 2s);  // a loop held by the backup would wait the lock's whole 3 s
    EXPECT_GE(answered, 5);
    // The probe kept its 200 ms period during the backup: no gap of a second between ticks.
    std::istringstream in(test::read_text(ticks));
    std::vector<long long> ns;
    for (long long t; in >> t;) ns.push_back(t);
    ASSERT_GT(ns.size(), 10u);
    long long worst = 0;
    for (std::size_t i = 1; i < ns.size(); ++i) worst = std::max(worst, ns[i] - ns[i - 1]);
    EXPECT_LT(worst, 2'000'000'000LL) << "a probe gap of " << worst / 1e6 << " ms";  // held: 3 s or more
}

TEST(Schedule, TwoDaemonsOnOneDatabaseBackUpOncePerSlot) {
    test::DaemonFixture f;
    test::query_value(f.url, "CREATE TABLE notes (id int PRIMARY KEY)");
    std::filesystem::create_directories(f.dir / "a");
    std::filesystem::create_directories(f.dir / "b");
    auto body = [](const std::string& dir) {
        return "backups: { dir: " + dir + ", schedule: '*/4 * * * * *', catch_up: false, verify: none }\n";
    };
    test::DaemonProcess a(f.spec(body("a"), "a.yaml"), f.dir / "a.log");
    test::DaemonProcess b(f.spec(body("b"), "b.yaml"), f.dir / "b.log");
    ASSERT_TRUE(a.wait_for_log("steward is ready", 60s)) << a.log();
    ASSERT_TRUE(b.wait_for_log("steward is ready", 60s)) << b.log();
    // Three slots at least, once both are up (a backup published before the second was up had no rival).
    auto published_now = [&] { return a.count("backup published") + b.count("backup published"); };
    const int both_up = published_now();
    ASSERT_TRUE(test::wait_until([&] { return published_now() >= both_up + 3; }, 60s)) << a.log() << b.log();
    a.signal(SIGTERM);
    b.signal(SIGTERM);
    a.wait_exit(30s);
    b.wait_exit(30s);
    // Every published backup comes from a different slot; the other daemon skipped each of them.
    // A backup starts within a second or two of its slot (every 4 s): its start second / 4 names the slot.
    std::set<long> slots;
    int published = 0;
    for (const char* dir : {"a", "b"})
        for (const auto& e : std::filesystem::directory_iterator(f.dir / dir)) {
            if (!std::filesystem::exists(e.path() / "manifest.json")) continue;
            ++published;
            std::string id = e.path().filename().string();
            int ss = std::stoi(id.substr(id.size() - 3, 2)), mm = std::stoi(id.substr(id.size() - 5, 2)),
                hh = std::stoi(id.substr(id.size() - 7, 2));
            slots.insert((hh * 3600 + mm * 60 + ss) / 4);
        }
    EXPECT_EQ(static_cast<int>(slots.size()), published) << "two backups in one slot";
    EXPECT_GE(a.count("skipped") + b.count("skipped"), 2) << a.log() << b.log();
}
