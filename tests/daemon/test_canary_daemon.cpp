// The daemon-wide secret sweep: `steward run` with canary secrets, a service, probes, scheduled (encrypted)
// backups and restore drills, while the test reads every tool child's environment and command line, the
// whole process list, /metrics, every API answer and the CLI client's output, and finally the log and the
// manifests. Only the supervised service may hold a secret: it is the one the secrets are for.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/embedded_postgres.hpp"
#include "core/pg.hpp"
#include "daemon/admin/client.hpp"
#include "tests/faults/fault_settings.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Unique to this test: other suites running beside it never hold these strings.
const std::vector<std::string> kCanaries = {
    "Kd7fP2xQ9mW4vR8tL1zN6bY3-run-jwt-canary", "Hs2gJ8kL5pQ1wE7rT4yU9iO0-run-admin-canary",
    "Vb6nM3cX8zA1sD5fG9hJ2kL4-run-key-canary", "Pz5oI8uY2tR6eW9qA3sD7fG1-run-dbpw-canary"};

std::string read_proc(pid_t pid, const char* what) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + what, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    std::string t = s.str();
    for (char& c : t)
        if (c == '\0') c = ' ';
    return t;
}

struct Sweep {
    std::vector<std::string> hits;
    std::set<std::string> tools_seen;  // pg_dump, pg_dumpall, pg_restore, probe
    int children_read = 0;
    int processes_read = 0;
    int answers_read = 0;

    void search(const std::string& text, const std::string& where) {
        for (const auto& c : kCanaries)
            if (text.find(c) != std::string::npos) hits.push_back(where + " holds " + c + ":\n" + text);
    }
};

}  // namespace

TEST(Canary, TheRunningDaemonShowsNoSecretToToolsProcessListMetricsApiOrLog) {
    const auto& [jwt, admin_token, backup_key, db_password] =
        std::tie(kCanaries[0], kCanaries[1], kCanaries[2], kCanaries[3]);
    // A role whose password is a canary owns the database steward runs on.
    auto cluster = test::fresh_database("canary_run");
    auto info = pg::parse_conninfo(cluster);
    std::string db = info.params.at("dbname");
    test::query_value(test::cluster_url(),
                      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'canary_owner') THEN "
                      "CREATE ROLE canary_owner LOGIN CREATEDB; END IF; END $$; "
                      "ALTER ROLE canary_owner PASSWORD '" +
                          db_password + "'; ALTER DATABASE " + db + " OWNER TO canary_owner; SELECT 1");
    std::string url = "postgresql://canary_owner:" + db_password + "@127.0.0.1:" + info.params.at("port") +
                      "/" + db;
    test::query_value(url, "CREATE TABLE notes (id int PRIMARY KEY); INSERT INTO notes VALUES (1), (2)");

    test::TempDir dir("steward-canary-run");
    for (const char* sub : {"migrations", "backups", "bin"}) fs::create_directories(dir / sub);
    dir.write("migrations/V1__t.sql", "CREATE TABLE t (x int);\n");
    auto token_file = dir.write("admin.token", admin_token + "\n");
    ::chmod(token_file.c_str(), 0600);
    auto key_file = dir.write("backup.key", backup_key + "\n");
    ::chmod(key_file.c_str(), 0600);
    // The tools linger a moment, so the sweep reads each one's environment as steward gave it.
    for (const std::string tool : {"pg_dump", "pg_dumpall", "pg_restore"}) {
        auto p = dir.write("bin/" + tool, "#!/bin/sh\ncase \"$1\" in --version) ;; *) sleep 0.3 ;; esac\nexec /usr/bin/" +
                                              tool + " \"$@\"\n");
        ::chmod(p.c_str(), 0755);
    }
    auto app = dir.write("app.sh", "#!/bin/sh\necho $$ > " + (dir / "app.pid").string() + "\nexec sleep 1000\n");
    ::chmod(app.c_str(), 0755);
    int port = free_loopback_port();
    auto spec = dir.write(
        "steward.yaml",
        "version: 1\nname: canary\nenvironment: development\n"
        "database: { url: '" +
            url +
            "' }\n"
            "secrets:\n"
            "  jwt_secret: { env: CANARY_JWT }\n"
            "  admin_token: { file: admin.token }\n"
            "  backup_key: { file: backup.key, kind: key }\n"
            "migrations: { dir: migrations, on_start: apply }\n"
            "backups:\n  dir: backups\n  schedule: '*/15 * * * * *'\n  catch_up: false\n  verify: full\n"
            "  encryption: { key: 'secret:backup_key' }\n  drill: { schedule: '8-59/15 * * * * *' }\n"
            "  retention: { keep_last: 3 }\n"
            "services:\n  app:\n    command: ['" +
            app.string() +
            "']\n    env: { JWT_SECRET_KEY: 'secret:jwt_secret', DATABASE_URL: 'database:url' }\n"
            "probes:\n"
            "  - { name: db, postgres: { query: 'SELECT 1' }, interval: 200ms }\n"
            "  - { name: tick, exec: { command: [/bin/sh, -c, 'sleep 0.2 # canary-sweep-probe'] }, interval: "
            "300ms, timeout: 2s }\n"
            "admin: { listen: '127.0.0.1:" +
            std::to_string(port) + "', token: 'secret:admin_token' }\n");
    std::map<std::string, std::string> env{{"CANARY_JWT", jwt},
                                           {"PATH", (dir / "bin").string() + ":" + std::getenv("PATH")}};
    test::DaemonProcess d(spec, dir / "steward.log", env, {"--log-format", "json", "--log-level", "debug"});
    ASSERT_TRUE(d.wait_for_log("steward is ready", 90s)) << d.log();

    admin::AdminEndpoint api;
    api.port = std::to_string(port);
    api.token = admin_token;
    admin::AdminEndpoint wrong = api;
    wrong.token = admin_token.substr(0, admin_token.size() - 1) + "x";
    const std::vector<std::pair<std::string, std::string>> reads = {
        {"GET", "/metrics"},         {"GET", "/readyz"},          {"GET", "/api/v1/status"},
        {"GET", "/api/v1/backups"},  {"GET", "/api/v1/history"},  {"GET", "/api/v1/check"},
        {"GET", "/api/v1/help"},     {"GET", "/api/v1/migrations"}, {"POST", "/api/v1/probes/db/run"},
        {"POST", "/api/v1/reload?dry_run=1"}};

    Sweep sweep;
    const std::string own_cmdline = read_proc(d.pid(), "cmdline");
    // The service (the one process the secrets are for) is known before the sweep starts.
    pid_t service = 0;
    ASSERT_TRUE(test::wait_until(
        [&] {
            service = static_cast<pid_t>(std::atol(test::read_text(dir / "app.pid").c_str()));
            return service > 0 && test::process_alive(service);
        },
        30s))
        << d.log();
    auto last_list = std::chrono::steady_clock::now() - 1s;
    auto last_api = last_list;
    std::size_t next_read = 0;
    bool remote_backup = false;
    auto deadline = std::chrono::steady_clock::now() + 120s;
    auto done = [&] {
        return sweep.tools_seen.size() == 4 && d.count("restore drill passed") >= 1 &&
               d.count("backup published") >= 2 && next_read >= 2 * reads.size() && remote_backup;
    };
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        // Tool children: every descendant of steward but the service, which the secrets are for.
        for (pid_t p : test::descendants_of(d.pid())) {
            if (p == service) continue;
            std::string cmdline = read_proc(p, "cmdline"), environ = read_proc(p, "environ");
            // Exited meanwhile, or forked and not yet exec'd: still steward, with steward's own environment.
            if (cmdline.empty() || cmdline == own_cmdline) continue;
            ++sweep.children_read;
            sweep.search(environ, "the environment of child " + std::to_string(p) + " (" + cmdline + ")");
            sweep.search(cmdline, "the command line of child " + std::to_string(p));
            for (const char* tool : {"pg_dump", "pg_dumpall", "pg_restore"}) {
                std::string wrapper = (dir / "bin" / tool).string() + " ";
                if (cmdline.find(wrapper) != std::string::npos && cmdline.find("--version") == std::string::npos) {
                    sweep.tools_seen.insert(tool);
                    // The tool connects with the password from the file it inherits, never from its environment.
                    if (std::string(tool) != "pg_restore" || cmdline.find("--dbname") != std::string::npos) {
                        EXPECT_NE(environ.find("PGPASSFILE=/proc/self/fd/"), std::string::npos) << environ;
                    }
                }
            }
            if (cmdline.find("canary-sweep-probe") != std::string::npos) sweep.tools_seen.insert("probe");
        }
        auto now = std::chrono::steady_clock::now();
        if (now - last_list > 300ms) {  // the process list: every process on the machine
            last_list = now;
            for (pid_t p : test::all_processes()) {
                sweep.search(read_proc(p, "cmdline"), "the process list (pid " + std::to_string(p) + ")");
                ++sweep.processes_read;
            }
        }
        if (now - last_api > 100ms) {  // the admin API, with the token and with a near miss
            last_api = now;
            auto [method, target] = reads[next_read++ % reads.size()];
            auto r = admin::request(api, method, target);
            EXPECT_LT(r.status, 500) << method << " " << target << ": " << r.body;
            sweep.search(r.body, method + " " + target);
            auto w = admin::request(wrong, method, target);
            sweep.search(w.body, method + " " + target + " (wrong token)");
            sweep.answers_read += 2;
        }
        if (!remote_backup && d.count("backup published") >= 1) {  // the CLI client, through the daemon
            auto r = test::run_steward({"--spec", spec.string(), "backup", "now", "--remote", "--token-file",
                                        token_file.string()},
                                       env);
            sweep.search(r.out + r.err, "backup now --remote");
            remote_backup = r.status == 0;
            r = test::run_steward({"--spec", spec.string(), "status", "--json", "--token-file", token_file.string()},
                                  env);
            EXPECT_EQ(r.status, 0) << r.err;
            sweep.search(r.out + r.err, "status --json");
        }
        std::this_thread::sleep_for(10ms);  // the pace of the sweep; what it waits for is polled above
    }
    EXPECT_TRUE(done()) << "seen: " << sweep.tools_seen.size() << " kinds of child, "
                        << d.count("backup published") << " backups, " << d.count("restore drill passed")
                        << " drills, remote backup " << remote_backup << "\n"
                        << d.log();
    // The service did get its secret: the sweep can tell a secret when it sees one.
    ASSERT_NE(service, 0);
    EXPECT_NE(read_proc(service, "environ").find(jwt), std::string::npos);

    d.signal(SIGTERM);
    ASSERT_TRUE(d.wait_exit(60s));
    sweep.search(d.log(), "steward's log");
    for (const auto& e : fs::recursive_directory_iterator(dir / "backups"))
        if (e.is_regular_file() && e.path().filename() == "manifest.json")
            sweep.search(test::read_text(e.path()), e.path().string());
    for (const auto& hit : sweep.hits) ADD_FAILURE() << hit;
    EXPECT_GT(sweep.children_read, 10);
    EXPECT_GT(sweep.processes_read, 100);
    const std::string name = "secret canary sweep of the running daemon";
    test::report_fault_figure(name, "tool child reads (environ, argv)", std::to_string(sweep.children_read));
    test::report_fault_figure(name, "process list reads", std::to_string(sweep.processes_read));
    test::report_fault_figure(name, "API answers read", std::to_string(sweep.answers_read));
    test::report_fault_figure(name, "canaries found", std::to_string(sweep.hits.size()));
}
