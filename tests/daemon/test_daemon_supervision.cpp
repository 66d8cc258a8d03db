// `steward run` supervising real children: readiness before READY, restarts, crash loops, stops, kill -9.
#include <signal.h>

#include "core/embedded_postgres.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/notify_socket.hpp"

using namespace steward;
using namespace std::chrono_literals;

namespace {

bool port_answers(int port) {
    ProcessOptions o;
    o.argv = {"python3", "-c",
              "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1'," +
                  std::to_string(port) + ")))"};
    return run_process(o, 5s).ok();
}

}  // namespace

TEST(Supervision, ReadyIsSentOnlyAfterEveryServiceIsReady) {
    test::DaemonFixture f;
    test::NotifySocket notify;
    int port = free_loopback_port();
    f.dir.write("www/health", "ok");
    // The service takes a second before it listens; READY must wait for its readiness check.
    auto web = f.script("web.sh", "sleep 1; exec python3 -m http.server " + std::to_string(port) +
                                      " --bind 127.0.0.1 --directory " + (f.dir / "www").string());
    auto spec = f.spec("services:\n  web:\n    command: [" + web +
                       "]\n    readiness: { http: { url: 'http://127.0.0.1:" + std::to_string(port) +
                       "/health' }, timeout: 30s }\n");
    test::DaemonProcess d(spec, f.log(), {{"NOTIFY_SOCKET", notify.path()}});
    auto ready = notify.wait_for("READY=1", 60s);
    ASSERT_TRUE(ready) << d.log();
    EXPECT_TRUE(port_answers(port));
    EXPECT_NE(ready->text.find("STATUS=ready: 1 service"), std::string::npos) << ready->text;
    // The service was started before READY, and READY came after its first successful check.
    std::string log = d.log();
    EXPECT_LT(log.find("service ready service=web"), log.find("steward is ready")) << log;
}

TEST(Supervision, KillNineHundredTimesEveryRestartCountedNoZombie) {
    test::DaemonFixture f;
    auto svc = f.script("svc.sh", "echo $$ > " + (f.dir / "pid").string() + "; exec sleep 1000");
    auto spec = f.spec(
        "services:\n  svc:\n    command: [" + svc +
        "]\n    restart: { policy: always, backoff_initial: 1ms, backoff_max: 5ms, max_restarts: 1000 }\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    pid_t pid = f.wait_new_pid("pid", 0);
    ASSERT_NE(pid, 0);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        pid_t next = f.wait_new_pid("pid", pid);
        ASSERT_NE(next, 0) << "cycle " << i << "\n" << d.log();
        pid = next;
    }
    EXPECT_TRUE(d.wait_for_log("service exited; restarting", 10s, 100));
    EXPECT_TRUE(d.wait_for_log("restarts=100", 10s)) << d.log().substr(d.log().size() - 2000);
    EXPECT_TRUE(test::zombie_children(d.pid()).empty());
}

TEST(Supervision, CrashLoopIsReachedThenLeftOnceTheServiceRunsStably) {
    test::DaemonFixture f;
    auto ok = f.dir / "ok";
    auto svc = f.script("svc.sh", "if [ -f " + ok.string() + " ]; then echo $$ > " +
                                      (f.dir / "pid").string() + "; exec sleep 1000; fi; exit 1");
    // Startup needs it running once: the flag exists at start, then goes away.
    f.dir.write("ok", "");
    auto spec = f.spec(
        "services:\n  svc:\n    command: [" + svc +
        "]\n    restart: { policy: on-failure, backoff_initial: 10ms, backoff_max: 500ms, max_restarts: 3, "
        "window: 1m }\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    // Running (past its check of the flag) before the flag goes: "ready" comes at spawn, without a check.
    pid_t pid = f.wait_new_pid("pid", 0);
    ASSERT_NE(pid, 0) << d.log();
    std::filesystem::remove(ok);
    ::kill(pid, SIGKILL);
    ASSERT_TRUE(d.wait_for_log("service is crash looping", 30s)) << d.log();
    EXPECT_EQ(d.count("service is crash looping"), 1);  // logged once
    f.dir.write("ok", "");
    ASSERT_TRUE(d.wait_for_log("service left its crash loop", 30s)) << d.log();
}

TEST(Supervision, SigtermStopsEveryGroupAndSaysStopping) {
    test::DaemonFixture f;
    test::NotifySocket notify;
    auto a = f.script("a.sh", "echo $$ > " + (f.dir / "a.pid").string() + "; sleep 1000 & sleep 1000 & wait");
    auto b =
        f.script("b.sh", "echo $$ > " + (f.dir / "b.pid").string() + "; trap '' TERM; sleep 1000 & wait");
    auto spec = f.spec("services:\n  a:\n    command: [" + a + "]\n  b:\n    command: [" + b +
                       "]\n    depends_on: [a]\n    stop: { timeout: 1s }\n");
    test::DaemonProcess d(spec, f.log(), {{"NOTIFY_SOCKET", notify.path()}});
    ASSERT_TRUE(notify.wait_for("READY=1", 60s)) << d.log();
    pid_t ga = f.wait_new_pid("a.pid", 0), gb = f.wait_new_pid("b.pid", 0);
    ASSERT_TRUE(ga && gb);
    ASSERT_TRUE(test::wait_until([&] { return test::processes_in_group(ga).size() >= 3; }, 10s));
    d.signal(SIGTERM);
    auto status = d.wait_exit(30s);
    ASSERT_TRUE(status) << d.log();
    EXPECT_EQ(*status, 0) << d.log();
    EXPECT_TRUE(notify.wait_for("STOPPING=1", 1s));
    // Killed grandchildren may take a moment to be gone from /proc once steward has exited.
    EXPECT_TRUE(test::wait_until([&] { return test::processes_in_group(ga).empty(); }, 5s));
    EXPECT_TRUE(test::wait_until([&] { return test::processes_in_group(gb).empty(); }, 5s));  // ignored TERM
    std::string log = d.log();
    EXPECT_LT(log.find("service stopped service=b"), log.find("service stopped service=a"))
        << log;  // reverse order
    EXPECT_NE(log.find("did not stop in time"), std::string::npos);
}

TEST(Supervision, KillNineOfStewardTakesItsChildrenDown) {
    test::DaemonFixture f;
    auto svc = f.script("svc.sh", "echo $$ > " + (f.dir / "pid").string() + "; exec sleep 1000");
    auto spec = f.spec("services:\n  svc:\n    command: [" + svc + "]\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    pid_t child = f.wait_new_pid("pid", 0);
    ASSERT_NE(child, 0);
    d.signal(SIGKILL);
    d.wait_exit(10s);
    EXPECT_TRUE(test::wait_until([&] { return !test::process_alive(child); }, 10s));
}

TEST(Supervision, AGateFailureExitsOneHavingStartedNothing) {
    test::DaemonFixture f;
    auto marker = f.dir / "started";
    auto svc = f.script("svc.sh", "touch " + marker.string() + "; exec sleep 1000");
    auto spec = f.dir.write("steward.yaml",
                            "version: 1\nname: t\nenvironment: production\ndatabase:\n  url: " + f.url +
                                "\nmigrations: { dir: migrations }\nsecrets: { jwt: { env: WEAK_JWT } }\n"
                                "services:\n  svc:\n    command: [" +
                                svc + "]\n    env: { JWT: 'secret:jwt' }\n");
    test::DaemonProcess d(spec, f.log(), {{"WEAK_JWT", "changeme"}});
    auto status = d.wait_exit(60s);
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, 1) << d.log();
    EXPECT_NE(d.log().find("startup refused"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(marker));
    EXPECT_EQ(test::query_value(f.url, "SELECT to_regclass('steward_migrations') IS NULL"), "t");
}

TEST(Supervision, ServicesGetTheSpecEnvironmentOnAFixedBaseAndTheirOutputIsLogged) {
    test::DaemonFixture f;
    auto svc = f.script("svc.sh", "env > " + (f.dir / "env").string() +
                                      "; echo 'hello from the service'; echo '<3>something broke' >&2;"
                                      " head -c 20000 /dev/zero | tr '\\0' x; echo; exec sleep 1000");
    auto spec = f.spec("secrets: { token: { env: SVC_TOKEN } }\nservices:\n  svc:\n    command: [" + svc +
                       "]\n    env: { MODE: demo, TOKEN: 'secret:token', DATABASE_URL: 'database:url' }\n");
    test::DaemonProcess d(spec, f.log(),
                          {{"NOTIFY_SOCKET", "/nonexistent/notify"},
                           {"SVC_TOKEN", "tok-0123456789abcdefghij"},
                           {"LEAKY", "1"}});
    ASSERT_TRUE(d.wait_for_log("[svc] hello from the service", 60s)) << d.log();
    ASSERT_TRUE(d.wait_for_log("[line cut at 16 KiB]", 10s)) << d.log().substr(0, 3000);
    EXPECT_NE(d.log().find("error [svc] something broke"), std::string::npos);
    std::string env = test::read_text(f.dir / "env");
    EXPECT_NE(env.find("MODE=demo"), std::string::npos);
    EXPECT_NE(env.find("TOKEN=tok-0123456789abcdefghij"), std::string::npos);
    EXPECT_NE(env.find("DATABASE_URL=" + f.url), std::string::npos);
    EXPECT_NE(env.find("PATH="), std::string::npos);
    EXPECT_EQ(env.find("NOTIFY_SOCKET"), std::string::npos);
    EXPECT_EQ(env.find("LEAKY"), std::string::npos);
    EXPECT_EQ(env.find("SVC_TOKEN"), std::string::npos);
    EXPECT_EQ(d.log().find("tok-0123456789abcdefghij"),
              std::string::npos);  // the secret never reaches the log
}

TEST(Supervision, AServiceRunsAsItsOwnUser) {
    test::DaemonFixture f;
    auto svc = f.script("svc.sh", "id -u > " + (f.dir / "uid").string() + "; exec sleep 1000");
    std::filesystem::permissions(f.dir.path(), std::filesystem::perms::all);  // nobody writes its uid here
    auto spec = f.spec("services:\n  svc:\n    command: [" + svc + "]\n    user: nobody\n");
    test::DaemonProcess d(spec, f.log());
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    ASSERT_TRUE(test::wait_until([&] { return !test::read_text(f.dir / "uid").empty(); }, 10s));
    EXPECT_EQ(test::read_text(f.dir / "uid"), "65534\n");
}
