// Outages around a running daemon: PostgreSQL stopped (probe down and up, a backup in the window fails, is
// reported and the next one succeeds), the backup disk full, and a service that crash-loops for ever.
#include <sys/mount.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/faults/fault_settings.hpp"
#include "tests/support/notify_socket.hpp"

namespace fs = std::filesystem;
using namespace steward;
using namespace std::chrono_literals;

namespace {

// Published backups in `dir` (folders with a manifest, not .partial/.failed).
std::set<std::string> published(const fs::path& dir) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        if (e.is_directory() && fs::exists(e.path() / "manifest.json") && name.find('.') == std::string::npos)
            out.insert(name);
    }
    return out;
}

bool has_partial(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".partial") return true;
    return false;
}

// utime + stime of `pid`, in clock ticks.
long cpu_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> f; ++i) {
        if (i == 14) utime = std::stol(f);
        if (i == 15) {
            stime = std::stol(f);
            break;
        }
    }
    return utime + stime;
}

}  // namespace

TEST(Outages, PostgresStoppedDuringRunProbeAndBackupFailThenRecoverStewardStaysReady) {
    test::DaemonFixture f(false);
    test::StoppablePostgres pg("steward-fault-pg");
    f.url = pg.url();
    test::query_value(f.url, "CREATE TABLE notes (id int PRIMARY KEY); INSERT INTO notes VALUES (1), (2)");
    fs::create_directories(f.dir / "backups");
    test::NotifySocket notify;
    auto spec = f.spec(
        "probes:\n  - { name: db, postgres: { query: 'SELECT 1' }, interval: 200ms, timeout: 1s, "
        "failure_threshold: 2 }\n"
        "backups:\n  dir: backups\n  schedule: '*/2 * * * * *'\n  catch_up: false\n  verify: none\n"
        "  retention: { keep_last: 1000 }\n");  // every backup stays, so "nothing lost" can be checked
    test::DaemonProcess d(spec, f.log(), {{"NOTIFY_SOCKET", notify.path()}});
    ASSERT_TRUE(notify.wait_for("READY=1", 60s)) << d.log();
    ASSERT_TRUE(d.wait_for_log("probe up probe=db", 20s)) << d.log();
    ASSERT_TRUE(d.wait_for_log("backup published", 30s)) << d.log();
    auto before = published(f.dir / "backups");
    const auto outage = test::fault_setting(5s, 30s);
    pg.stop();
    auto stopped_at = std::chrono::steady_clock::now();
    ASSERT_TRUE(d.wait_for_log("probe down probe=db", 20s)) << d.log();
    // A backup due in the window fails and is reported (and retried).
    ASSERT_TRUE(d.wait_for_log("backup failed", 20s)) << d.log();
    std::this_thread::sleep_for(outage -
                                (std::chrono::steady_clock::now() - stopped_at));  // the outage itself
    EXPECT_TRUE(d.running());
    pg.start();
    ASSERT_TRUE(d.wait_for_log("probe up probe=db", 30s, 2)) << d.log();
    int published_before_restart = d.count("backup published");
    ASSERT_TRUE(d.wait_for_log("backup published", 30s, published_before_restart + 1)) << d.log();
    EXPECT_TRUE(d.running());
    EXPECT_FALSE(notify.wait_for("STOPPING", 0ms));
    // Nothing lost: every backup published before the outage is still there, none half-written is listed.
    auto after = published(f.dir / "backups");
    for (const auto& id : before) EXPECT_TRUE(after.count(id)) << id;
    EXPECT_GT(after.size(), before.size());
    test::report_fault_figure(
        "PostgreSQL stopped during run", "outage s",
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(outage).count()));
    test::report_fault_figure("PostgreSQL stopped during run", "backups failed in the window",
                              std::to_string(d.count("backup failed")));
}

TEST(Outages, DiskFullInTheBackupFolderFailsCleanlyAndTheNextBackupSucceedsOnceThereIsRoom) {
    test::DaemonFixture f;
    test::query_value(f.url,
                      "CREATE TABLE noise AS SELECT g, md5(random()::text) || md5(random()::text) AS a "
                      "FROM generate_series(1, 100000) g");
    auto mnt = f.dir / "backups";
    fs::create_directories(mnt);
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=512k"), 0)
        << "mount tmpfs: " << std::strerror(errno);
    struct Unmount {
        fs::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{mnt};
    auto spec =
        f.spec("backups:\n  dir: backups\n  schedule: '*/2 * * * * *'\n  catch_up: false\n  verify: none\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    ASSERT_TRUE(d.wait_for_log("backup failed", 30s, 2)) << d.log();
    EXPECT_NE(d.log().find("No space left"), std::string::npos) << d.log();
    EXPECT_TRUE(published(mnt).empty());
    EXPECT_FALSE(has_partial(mnt));
    EXPECT_TRUE(d.running());
    // Room again: the next scheduled backup is published.
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0) << std::strerror(errno);
    ASSERT_TRUE(d.wait_for_log("backup published", 30s)) << d.log();
    EXPECT_EQ(published(mnt).size(), 1u);
    test::report_fault_figure("disk full in the backup folder", "backups failed before room",
                              std::to_string(d.count("backup failed")));
}

TEST(Outages, AServiceThatExitsAtOnceForEverBacksOffToTheCapWithLowCpu) {
    test::DaemonFixture f;
    auto ok = f.dir / "ok";
    auto svc = f.script("svc.sh", "if [ -f " + ok.string() + " ]; then echo $$ > " + (f.dir / "pid").string() +
                                      "; exec sleep 1000; fi; exit 1");
    f.dir.write("ok", "");  // startup needs one good start; then it exits at once, for ever
    auto spec = f.spec("services:\n  svc:\n    command: [" + svc +
                       "]\n    restart: { policy: always, backoff_initial: 10ms, backoff_max: 500ms }\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    // "ready" comes at spawn (no readiness check): wait until the instance is past its check of the flag.
    pid_t pid = f.wait_new_pid("pid", 0);
    ASSERT_NE(pid, 0) << d.log();
    fs::remove(ok);
    // Kill the running instance (steward's only child): from here every start exits at once.
    EXPECT_EQ(test::children_of(d.pid()), std::vector<pid_t>{pid});
    ::kill(pid, SIGKILL);
    ASSERT_TRUE(d.wait_for_log("service is crash looping", 30s)) << d.log();
    const auto window = test::fault_setting(5s, 30s);
    long ticks0 = cpu_ticks(d.pid());
    int restarts0 = d.count("service exited; restarting");
    std::this_thread::sleep_for(window);  // the crash loop runs for this long
    long ticks = cpu_ticks(d.pid()) - ticks0;
    int restarts = d.count("service exited; restarting") - restarts0;
    double cpu = static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK)) /
                 std::chrono::duration<double>(window).count();
    // At the 500 ms cap there is about one restart per 500 ms; without backoff there would be hundreds.
    // Twice the cap's pace leaves room for a start that, slowed by load, ran long enough to count as stable.
    EXPECT_LE(restarts, 2 * static_cast<int>(window / 500ms)) << d.log().substr(0, 4000);
    EXPECT_GE(restarts, static_cast<int>(window / 500ms) / 2);
    EXPECT_LT(cpu, 0.2) << "steward used " << cpu * 100 << " % of a core";
    EXPECT_TRUE(d.running());
    test::report_fault_figure("crash-looping service", "restarts in window", std::to_string(restarts));
    test::report_fault_figure("crash-looping service", "steward CPU %",
                              std::to_string(static_cast<int>(cpu * 100)));
}
