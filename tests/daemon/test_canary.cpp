// No secret value reaches any output: every command path runs with canary secrets and is searched.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/embedded_postgres.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

namespace {

struct Canaries {
    std::string jwt, admin, backup_key, db_password;
};

void expect_no_canary(const test::StewardRun& r, const Canaries& c, const std::string& what) {
    for (const auto* v : {&c.jwt, &c.admin, &c.backup_key, &c.db_password}) {
        EXPECT_EQ(r.out.find(*v), std::string::npos) << what << ": secret in stdout:\n" << r.out;
        EXPECT_EQ(r.err.find(*v), std::string::npos) << what << ": secret in stderr:\n" << r.err;
    }
}

void run_all_paths(const Canaries& c) {
    test::TempDir dir("steward-canary");
    int closed_port = free_loopback_port();  // nothing listens: every DB command fails and reports it
    auto token = dir.write("admin.token", c.admin + "\n");
    ::chmod(token.c_str(), 0600);
    auto key = dir.write("backup.key", c.backup_key + "\n");
    ::chmod(key.c_str(), 0644);
    std::filesystem::create_directories(dir / "migrations");
    std::filesystem::create_directories(dir / "backups");
    dir.write("migrations/V1__t.sql", "CREATE TABLE t (x int);\n");
    std::string base =
        "version: 1\n"
        "name: chat\n"
        "environment: production\n"
        "database:\n"
        "  url: postgresql://chat:" +
        c.db_password + "@127.0.0.1:" + std::to_string(closed_port) +
        "/chat\n"
        "secrets:\n"
        "  jwt_secret: { env: CANARY_JWT }\n"
        "  admin_token: { file: admin.token }\n"
        "  backup_key: { file: backup.key, kind: key }\n"
        "  again: { env: CANARY_JWT }\n"
        "security: { base_url: 'http://chat.example.com', cors_origins: ['*'] }\n"
        "migrations: { dir: migrations, lock_wait: 1s }\n"
        "backups: { dir: backups, encryption: { key: 'secret:backup_key' } }\n"
        "admin: { listen: '0.0.0.0:0', token: 'secret:admin_token' }\n";
    auto spec = dir.write("steward.yaml", base).string();
    auto broken = dir.write("broken.yaml", base + "bogus_key: " + c.jwt + "\n").string();
    std::map<std::string, std::string> env{{"CANARY_JWT", c.jwt}};
    std::vector<std::vector<std::string>> paths = {
        {"check"},
        {"check", "--json"},
        {"check", "--connect"},
        {"check", "--connect", "--json"},
        {"--log-format", "json", "--log-level", "debug", "check", "--connect"},
        {"check", "--list-rules"},
        {"migrate", "status"},
        {"migrate", "status", "--json"},
        {"migrate", "up"},
        {"migrate", "up", "--json"},
        {"--log-format", "json", "--log-level", "debug", "migrate", "up"},
        {"migrate", "validate"},
        {"backup", "now"},
        {"backup", "now", "--json"},
        {"--log-format", "json", "--log-level", "debug", "backup", "now"},
        {"backup", "list", "--json"},
        {"run"},
        {"--log-format", "json", "run"},
        {"render", "--out", (dir / "rendered").string()},
        {"status"},
    };
    for (auto& args : paths) {
        std::vector<std::string> full = {"--spec", spec};
        full.insert(full.end(), args.begin(), args.end());
        auto r = test::run_steward(full, env, std::chrono::seconds(60));
        std::string what;
        for (auto& a : args) what += a + " ";
        expect_no_canary(r, c, what);
        EXPECT_NE(r.status, 99) << what << ": sanitizer report:\n" << r.err;
    }
    // What render wrote holds no secret either (it refuses this spec's literal database password, exit 2;
    // tests/templates covers the rendering of secrets by reference).
    test::StewardRun rendered;
    if (std::filesystem::exists(dir / "rendered"))
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "rendered"))
            if (e.is_regular_file()) rendered.out += e.path().string() + "\n" + test::read_text(e.path());
    expect_no_canary(rendered, c, "rendered files");
    // Spec errors and spec-less mode echo neither the spec line nor the URL's password.
    auto r = test::run_steward({"--spec", broken, "check"}, env);
    EXPECT_EQ(r.status, 2);
    expect_no_canary(r, c, "broken spec");
    r = test::run_steward({"--spec", broken, "check", "--json"}, env);
    expect_no_canary(r, c, "broken spec --json");
    std::string url =
        "postgresql://chat:" + c.db_password + "@127.0.0.1:" + std::to_string(closed_port) + "/chat";
    for (const char* cmd : {"migrate", "backup"}) {
        r = test::run_steward({cmd, cmd == std::string("migrate") ? "status" : "list", "--database-url", url,
                               "--dir",
                               (dir / (cmd == std::string("migrate") ? "migrations" : "backups")).string()});
        expect_no_canary(r, c, std::string(cmd) + " --database-url");
        r = test::run_steward({cmd, cmd == std::string("migrate") ? "up" : "now", "--json", "--dir",
                               (dir / (cmd == std::string("migrate") ? "migrations" : "backups")).string()},
                              {{"DATABASE_URL", url}});
        expect_no_canary(r, c, std::string(cmd) + " DATABASE_URL");
    }
}

}  // namespace

TEST(Canary, StrongSecretsNeverAppearInOutput) {
    run_all_paths({"Zq8vN3kR7wT1yX5mB9cF2hJ6pL4sD0gA-jwt-canary",
                   "Hr5tY8uI1oP4aS7dF0gJ3kL6zX9cV2bN-admin-canary",
                   "Mn4bV7cX0zL3kJ6hG9fD2sA5pO8iU1yT-key-canary", "Qw3eR6tY9uI2oP5aS8dF1gH4jK7lZ0xC-dbpw"});
}

TEST(Canary, WeakSecretsAreReportedWithoutBeingEchoed) {
    // Weak values trigger findings about length, placeholders and reuse: the messages must describe, not
    // quote.
    run_all_paths({"changeme-canary1", "admin-canary2", "secret-canary3", "password-canary4"});
}

TEST(Canary, InlineValuesAndSpecErrorsNeverEchoTheValue) {
    test::TempDir dir;
    const std::string canary = "Inline7Canary9Value3Qx";
    std::string base =
        "version: 1\nname: chat\nenvironment: production\ndatabase:\n  url: postgresql://c@127.0.0.1:1/c\n";
    // An inline value (refused in production) is reported, never quoted.
    auto ok = dir.write("inline.yaml", base + "secrets:\n  s: { value: \"" + canary + "\" }\n");
    // A value the loader cannot interpolate: the error names the key, not the text.
    auto broken = dir.write("broken.yaml", base + "secrets:\n  s: { value: \"" + canary + "${oops\" }\n");
    auto badname = dir.write("badname.yaml", base + "secrets:\n  s: { value: \"" + canary + "${1x}\" }\n");
    for (const auto& spec : {ok, broken, badname})
        for (std::vector<std::string> args :
             {std::vector<std::string>{"check"}, {"check", "--json"}, {"run"}}) {
            std::vector<std::string> full = {"--spec", spec.string()};
            full.insert(full.end(), args.begin(), args.end());
            auto r = test::run_steward(full);
            EXPECT_NE(r.status, 0) << spec;
            EXPECT_EQ(r.out.find(canary), std::string::npos) << spec << "\n" << r.out;
            EXPECT_EQ(r.err.find(canary), std::string::npos) << spec << "\n" << r.err;
        }
}
