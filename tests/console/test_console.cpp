// The status console end to end: a real `steward run` (a child service, the test PostgreSQL, backups, an
// http probe and a postgres probe) and tests/console/console_e2e.py driving the page in headless Chromium.
#include <boost/json.hpp>

#include "core/embedded_postgres.hpp"
#include "daemon/admin/client.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/example_deployment.hpp"

using namespace steward;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "C0nsole-T0ken+9fQz7LwX2pR5vK8mN3bJ6hC4/x=";

}  // namespace

TEST(Console, InHeadlessChromiumAgainstARealDaemon) {
    test::DaemonFixture f;
    std::filesystem::create_directories(f.dir / "backups");
    f.dir.write("migrations/V1__users.sql",
                "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL);\n");
    f.dir.write(
        "migrations/V2__messages.sql",
        "CREATE TABLE messages (id bigserial PRIMARY KEY, user_id bigint REFERENCES users, body text);\n"
        "INSERT INTO users (name) SELECT 'user ' || g FROM generate_series(1, 2000) g;\n");
    auto worker = f.script("worker.sh", "echo $$ > " + (f.dir / "pid").string() + "; exec sleep 1000");
    int port = free_loopback_port();
    int probe_port = free_loopback_port();
    // The fixture's spec, named "chat" rather than "t": the screenshots go into the README.
    auto spec = f.dir.write("steward.yaml",
                            "version: 1\nname: chat\nenvironment: development\ndatabase:\n  url: " + f.url +
                                "\nmigrations: { dir: migrations }\n"
                                "secrets: { admin_token: { env: ADMIN_TOKEN } }\n"
                                "services:\n  worker:\n    command: [" +
                                worker +
                                "]\n"
                                "backups: { dir: backups }\n"
                                "probes:\n"
                                "  - { name: api, http: { url: 'http://127.0.0.1:" +
                                std::to_string(probe_port) +
                                "/health' }, interval: 1s, timeout: 1s, failure_threshold: 2 }\n"
                                "  - { name: database, postgres: { query: 'SELECT 1' }, interval: 2s }\n"
                                "admin: { listen: '127.0.0.1:" +
                                std::to_string(port) + "', token: 'secret:admin_token' }\n");
    test::DaemonProcess d(spec, f.log(), {{"ADMIN_TOKEN", kToken}});
    admin::AdminEndpoint e;
    e.port = std::to_string(port);
    e.token = kToken;
    ASSERT_TRUE(test::wait_ready(e, 60s)) << d.log();
    ASSERT_NE(f.wait_new_pid("pid", 0), 0) << d.log();
    // The fields the console adds to the status: "not configured" is not "never happened".
    auto status = boost::json::parse(admin::request(e, "GET", "/api/v1/status", {}, 10s).body);
    EXPECT_FALSE(status.at("backups").at("offsite_configured").as_bool());
    EXPECT_FALSE(status.at("backups").at("drill_configured").as_bool());
    // One backup before the browser comes, so the page has a size trend of two once it takes its own.
    auto first = admin::request(e, "POST", "/api/v1/backups", "{}", 10s);
    ASSERT_EQ(first.status, 202) << first.body;
    ASSERT_TRUE(d.wait_for_log("backup published", 90s)) << d.log();
    f.dir.write("migrations/V3__index.sql", "CREATE INDEX messages_user ON messages (user_id);\n");

    std::filesystem::create_directories(CONSOLE_SCREENSHOTS);
    ProcessOptions o;
    o.argv = {"/usr/bin/python3",
              std::string(STEWARD_SOURCE_DIR) + "/tests/console/console_e2e.py",
              "--url",
              "http://127.0.0.1:" + std::to_string(port),
              "--service",
              "worker",
              "--pid-file",
              (f.dir / "pid").string(),
              "--spec",
              spec.string(),
              "--probe",
              "api",
              "--probe-port",
              std::to_string(probe_port),
              "--screenshots",
              CONSOLE_SCREENSHOTS};
    o.env = {{"STEWARD_CONSOLE_TOKEN", kToken}};
    auto r = run_process(o, 240s);
    std::cout << r.out << r.err;
    EXPECT_EQ(r.status, 0) << "console_e2e.py failed (screenshots and chromedriver.log in "
                           << CONSOLE_SCREENSHOTS << ")\n"
                           << r.out << r.err << "\nsteward's log:\n"
                           << d.log();
    EXPECT_NE(r.out.find("every check passed"), std::string::npos);
    // The daemon saw the page's actions, and never logged the token.
    EXPECT_TRUE(d.wait_for_log("path=/api/v1/services/worker/restart status=202", 5s)) << d.log();
    EXPECT_EQ(d.count("path=/api/v1/backups status=202"), 2) << d.log();
    EXPECT_EQ(d.log().find(kToken), std::string::npos);
}
