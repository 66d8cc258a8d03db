// The admin API of a real `steward run` over real sockets: auth on every route, limits, slow clients,
// promtool on /metrics, backups through the API, and the CLI client against a daemon and against none.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <thread>

#include "core/embedded_postgres.hpp"
#include "daemon/admin/client.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/example_deployment.hpp"
#include "tests/support/steward_process.hpp"

using namespace steward;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "Adm1nT0ken-9fQz7LwX2pR5vK8mN3bJ6hC4";

struct AdminDaemon {
    test::DaemonFixture f;
    int port = free_loopback_port();
    std::unique_ptr<test::DaemonProcess> d;
    admin::AdminEndpoint endpoint;

    explicit AdminDaemon(const std::string& body = {}, bool with_token = true,
                         const std::string& extra_admin = {}) {
        std::filesystem::create_directories(f.dir / "backups");
        auto svc = f.script("svc.sh", "echo $$ > " + (f.dir / "pid").string() + "; exec sleep 1000");
        std::string spec =
            "secrets: { admin_token: { env: ADMIN_TOKEN } }\n"
            "services:\n  svc:\n    command: [" +
            svc + "]\nadmin: { listen: '127.0.0.1:" + std::to_string(port) + "'" +
            (with_token ? ", token: 'secret:admin_token'" : "") + extra_admin + " }\n" + body;
        d = std::make_unique<test::DaemonProcess>(
            f.spec(spec), f.log(), std::map<std::string, std::string>{{"ADMIN_TOKEN", kToken}});
        endpoint.port = std::to_string(port);
        endpoint.token = kToken;
    }
    bool ready() {
        return test::wait_ready(endpoint, 60s);
    }
    admin::ClientResponse call(const std::string& method, const std::string& target,
                               std::optional<std::string> token, const std::string& body = {}) {
        auto e = endpoint;
        e.token = std::move(token);
        return admin::request(e, method, target, body, 10s);
    }
    std::vector<std::string> cli(std::vector<std::string> args) {
        std::vector<std::string> full = {"--spec", (f.dir / "steward.yaml").string()};
        full.insert(full.end(), args.begin(), args.end());
        auto r = test::run_steward(full, {{"ADMIN_TOKEN", kToken}});
        return {std::to_string(r.status), r.out, r.err};
    }
};

// Raw bytes to the admin port; returns what came back before the server closed or `wait` passed.
std::string raw(int port, const std::string& bytes, std::chrono::milliseconds wait = 3s) {
    return test::raw_exchange(port, bytes, wait, false);
}

}  // namespace

TEST(AdminApi, EveryApiRouteWantsTheTokenAndNothingChangesWithoutIt) {
    AdminDaemon a;
    ASSERT_TRUE(a.ready()) << a.d->log();
    pid_t pid = a.f.wait_new_pid("pid", 0);
    for (auto [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/status"},
                                                          {"GET", "/api/v1/backups"},
                                                          {"POST", "/api/v1/backups"},
                                                          {"GET", "/api/v1/migrations"},
                                                          {"POST", "/api/v1/migrations/apply"},
                                                          {"POST", "/api/v1/services/svc/restart"},
                                                          {"POST", "/api/v1/services/svc/stop"},
                                                          {"POST", "/api/v1/services/svc/start"},
                                                          {"POST", "/api/v1/probes/x/run"},
                                                          {"POST", "/api/v1/reload"},
                                                          {"GET", "/api/v1/check"},
                                                          {"GET", "/api/v1/history"},
                                                          {"GET", "/api/v1/help"}}) {
        EXPECT_EQ(a.call(method, path, std::nullopt).status, 401) << method << " " << path;
        EXPECT_EQ(a.call(method, path, "wrong-token").status, 401) << method << " " << path;
        EXPECT_EQ(a.call(method, path, kToken + "x").status, 401) << method << " " << path;
    }
    EXPECT_EQ(a.f.pid_in("pid"), pid);  // nothing restarted
    EXPECT_EQ(a.call("GET", "/api/v1/status", kToken).status, 200);
    EXPECT_EQ(a.call("GET", "/healthz", std::nullopt).status, 200);
    EXPECT_EQ(a.call("GET", "/metrics", std::nullopt).status, 200);
    // With the token, a restart gives the service a new pid, and is audited without the token.
    EXPECT_EQ(a.call("POST", "/api/v1/services/svc/restart", kToken).status, 202);
    EXPECT_NE(a.f.wait_new_pid("pid", pid), 0);
    EXPECT_TRUE(a.d->wait_for_log(
        "[audit] admin request method=POST path=/api/v1/services/svc/restart status=202", 5s))
        << a.d->log();
    EXPECT_EQ(a.d->log().find(kToken), std::string::npos);
    EXPECT_EQ(a.call("POST", "/api/v1/services/nope/restart", kToken).status, 404);
}

TEST(AdminApi, WithoutAConfiguredTokenTheApiIs403) {
    AdminDaemon a({}, false);
    ASSERT_TRUE(a.ready()) << a.d->log();
    auto r = a.call("GET", "/api/v1/status", kToken);
    EXPECT_EQ(r.status, 403);
    EXPECT_NE(r.body.find("admin.token"), std::string::npos);
    EXPECT_EQ(a.call("GET", "/healthz", std::nullopt).status, 200);
}

TEST(AdminApi, LimitsAndErrorsOnTheWire) {
    AdminDaemon a;
    ASSERT_TRUE(a.ready()) << a.d->log();
    std::string auth = "Authorization: Bearer " + kToken + "\r\nConnection: close\r\n";
    auto big = raw(a.port, "POST /api/v1/reload HTTP/1.1\r\nHost: x\r\n" + auth +
                               "Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n" +
                               std::string(70000, ' '));
    EXPECT_NE(big.find("413"), std::string::npos) << big.substr(0, 300);
    auto malformed = raw(a.port, "POST /api/v1/reload HTTP/1.1\r\nHost: x\r\n" + auth +
                                     "Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{oops");
    EXPECT_NE(malformed.find("400 Bad Request"), std::string::npos) << malformed;
    EXPECT_NE(malformed.find("\"code\":\"bad_json\""), std::string::npos) << malformed;
    auto form = raw(a.port, "POST /api/v1/reload HTTP/1.1\r\nHost: x\r\n" + auth +
                                "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_NE(form.find("415"), std::string::npos) << form;
    EXPECT_NE(
        raw(a.port, "GET /api/v1/nowhere HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n").find("404 Not Found"),
        std::string::npos);
    auto wrong = raw(a.port, "GET /api/v1/reload HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n");
    EXPECT_NE(wrong.find("405"), std::string::npos);
    EXPECT_NE(wrong.find("Allow: POST"), std::string::npos) << wrong;
    EXPECT_NE(raw(a.port, "garbage\r\n\r\n").find("400"), std::string::npos);
    auto huge_header = raw(a.port, "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_NE(huge_header.find("431"), std::string::npos) << huge_header.substr(0, 200);
    // Keep-alive: two requests on one connection.
    auto two = raw(a.port,
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: "
                   "close\r\n\r\n");
    EXPECT_EQ(std::count(two.begin(), two.end(), '{') >= 2, true) << two;
}

TEST(AdminApi, ASlowClientDoesNotStallOthers) {
    AdminDaemon a;
    ASSERT_TRUE(a.ready()) << a.d->log();
    std::atomic<bool> done{false};
    std::thread slow([&] {
        int fd = test::connect_loopback(a.port);
        ASSERT_GE(fd, 0);
        std::string req = "GET /healthz HTTP/1.1\r\nHost: slow\r\n";
        for (char c : req) {
            if (done) break;
            (void)!::send(fd, &c, 1, MSG_NOSIGNAL);
            std::this_thread::sleep_for(1s);  // the slow client's pace, not a synchronisation
        }
        ::close(fd);
    });
    for (int i = 0; i < 20; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        EXPECT_EQ(a.call("GET", "/healthz", std::nullopt).status, 200);
        // Stalled behind the slow client, an answer would wait for its whole request (a byte a second).
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    }
    done = true;
    slow.join();
}

TEST(AdminApi, ReadyzIs503WhileMigrationsRun) {
    test::DaemonFixture f;
    f.dir.write("migrations/V1__slow.sql", "SELECT pg_sleep(3);\n");
    int port = free_loopback_port();
    test::DaemonProcess d(f.spec("admin: { listen: '127.0.0.1:" + std::to_string(port) + "' }\n"), f.log());
    admin::AdminEndpoint e;
    e.port = std::to_string(port);
    int status = 0;
    ASSERT_TRUE(test::wait_until(
        [&] {
            try {
                status = admin::request(e, "GET", "/readyz", {}, 2s).status;
                return true;
            } catch (const std::exception&) {
                return false;
            }
        },
        30s));
    EXPECT_EQ(status, 503);
    EXPECT_EQ(admin::request(e, "GET", "/healthz").status, 200);
    EXPECT_TRUE(test::wait_until([&] { return admin::request(e, "GET", "/readyz").status == 200; }, 60s));
}

TEST(AdminApi, MetricsPassPromtoolWithServicesProbesAndABackup) {
    AdminDaemon a(
        "backups: { dir: " + std::string("backups") +
        " }\nprobes:\n"
        "  - { name: db, postgres: { query: 'SELECT 1' }, interval: 200ms }\n"
        "  - { name: dead, tcp: { address: '127.0.0.1:1' }, interval: 200ms, failure_threshold: 1 }\n");
    ASSERT_TRUE(a.ready()) << a.d->log();
    auto started = a.call("POST", "/api/v1/backups", kToken);
    ASSERT_EQ(started.status, 202) << started.body;
    auto id = std::string(boost::json::parse(started.body).at("id").as_string());
    EXPECT_EQ(a.call("POST", "/api/v1/backups", kToken).status, 409);  // one at a time
    ASSERT_TRUE(a.d->wait_for_log("backup published", 60s)) << a.d->log();
    ASSERT_TRUE(test::wait_until(
        [&] { return a.call("GET", "/api/v1/backups", kToken).body.find(id) != std::string::npos; }, 20s));
    ASSERT_TRUE(test::wait_until(
        [&] {
            return a.call("GET", "/metrics", std::nullopt)
                       .body.find("steward_probe_success{probe=\"dead\"} 0") != std::string::npos;
        },
        10s));
    auto metrics = a.call("GET", "/metrics", std::nullopt).body;
    for (const char* series :
         {"steward_build_info{", "steward_up 1", "steward_service_up{service=\"svc\"} 1",
          "steward_service_state{service=\"svc\",state=\"running\"} 1",
          "steward_probe_duration_seconds_bucket{probe=\"db\"",
          "steward_backup_last_success_timestamp_seconds ", "steward_backup_last_size_bytes ",
          "steward_migrations_pending 0", "process_resident_memory_bytes ", "process_start_time_seconds "})
        EXPECT_NE(metrics.find(series), std::string::npos) << series << "\n" << metrics;
    a.f.dir.write("metrics.txt", metrics);
    ProcessOptions o;
    o.argv = {"promtool", "check", "metrics"};
    auto r = run_process(o, 30s, metrics);
    EXPECT_EQ(r.status, 0) << "promtool: " << r.out << r.err;
    EXPECT_EQ(r.out + r.err, "");
    auto status = boost::json::parse(a.call("GET", "/api/v1/status", kToken).body);
    EXPECT_EQ(status.at("backups").at("last_success").at("id").as_string(), id);
}

TEST(AdminClient, CommandsAgainstARunningDaemonAndAgainstNone) {
    AdminDaemon a;
    ASSERT_TRUE(a.ready()) << a.d->log();
    pid_t pid = a.f.wait_new_pid("pid", 0);
    auto status = a.cli({"status"});
    EXPECT_EQ(status[0], "0") << status[2];
    EXPECT_NE(status[1].find("svc"), std::string::npos) << status[1];
    EXPECT_NE(status[1].find("running"), std::string::npos) << status[1];
    auto json = a.cli({"status", "--json"});
    EXPECT_EQ(boost::json::parse(json[1]).at("services").at(0).at("name").as_string(), "svc");
    auto restart = a.cli({"restart", "svc"});
    EXPECT_EQ(restart[0], "0") << restart[2];
    EXPECT_NE(a.f.wait_new_pid("pid", pid), 0);
    auto dry = a.cli({"reload", "--dry-run"});
    EXPECT_EQ(dry[0], "0") << dry[2];
    EXPECT_NE(dry[1].find("services untouched: svc"), std::string::npos) << dry[1];
    // A spec whose ${DATABASE_URL} is unset in the operator's shell still finds the daemon.
    a.f.dir.write("client.yaml",
                  "version: 1\nname: t\nenvironment: development\ndatabase: { url: '${DATABASE_URL}' }\n"
                  "secrets: { admin_token: { env: ADMIN_TOKEN } }\n"
                  "admin: { listen: '127.0.0.1:" +
                      std::to_string(a.port) + "', token: 'secret:admin_token' }\n");
    auto r = test::run_steward({"--spec", (a.f.dir / "client.yaml").string(), "status"},
                               {{"ADMIN_TOKEN", kToken}});
    EXPECT_EQ(r.status, 0) << r.err;
    // A wrong token: one line, exit 1.
    a.f.dir.write("bad.token", "not-the-token\n");
    r = test::run_steward({"--spec", (a.f.dir / "steward.yaml").string(), "status", "--token-file",
                           (a.f.dir / "bad.token").string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("refused the admin token"), std::string::npos) << r.err;
    // No daemon: one line, exit 1.
    r = test::run_steward({"status", "--admin-url", "127.0.0.1:" + std::to_string(free_loopback_port())});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}
