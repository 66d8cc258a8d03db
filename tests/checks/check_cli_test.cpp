// steward check through the real binary: exit codes, text and JSON output, secrets on disk, --connect.
#include <unistd.h>

#include <pqxx/pqxx>

#include "checks/gate.hpp"
#include "core/embedded_postgres.hpp"
#include "core/pg.hpp"
#include "core/process.hpp"
#include "tests/checks/cli_support.hpp"
#include "tests/support/pg_cluster.hpp"

namespace steward::checks::test {
namespace {

using ::steward::test::cluster_url;
using ::steward::test::run_steward;

TEST(CheckCli, CleanProductionSpecPasses) {
    Deployment d;
    auto r = d.check();
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("gate passes: 0 errors, 0 warnings"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\033["), std::string::npos) << "no colour when stdout is not a terminal";
}

TEST(CheckCli, ColourOnlyOnATerminal) {
    SpecText t;
    t.security = "{ require_auth: false, base_url: https://chat.example.com, rate_limit_per_minute: 60 }";
    Deployment d(t);
    auto script = find_program("script");
    ASSERT_TRUE(script) << "`script` (util-linux) is needed to give steward a terminal";
    std::string command = std::string(::steward::test::steward_binary()) + " check --spec " + d.spec.string();
    for (bool no_color : {false, true}) {
        ProcessOptions o;
        o.argv = {script->string(), "-qec", command, "/dev/null"};
        o.env = d.env;
        o.env["TERM"] = "xterm";
        if (no_color) o.env["NO_COLOR"] = "1";
        o.stdout_fd = ProcessOptions::kPipe;
        auto r = run_process(o, std::chrono::seconds(60));
        EXPECT_EQ(r.status, 1) << r.out << r.err;
        EXPECT_NE(r.out.find("errors (1)"), std::string::npos) << r.out;
        EXPECT_EQ(r.out.find("\033[1;31m") != std::string::npos, !no_color) << r.out;
    }
}

TEST(CheckCli, ErrorsExitOneAndAreGroupedBeforeWarnings) {
    SpecText t;
    t.security =
        "{ require_auth: false, cors_origins: [\"*\"], base_url: https://chat.example.com, "
        "rate_limit_per_minute: 60 }";
    t.retention = "{ keep_last: 1, daily: 0, weekly: 0, monthly: 0 }";
    Deployment d(t);
    auto r = d.check();
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    auto errors = r.out.find("errors (2)");
    auto warnings = r.out.find("warnings (1)");
    ASSERT_NE(errors, std::string::npos) << r.out;
    ASSERT_NE(warnings, std::string::npos) << r.out;
    EXPECT_LT(errors, warnings);
    EXPECT_NE(r.out.find("security.require_auth (line "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[security.auth_disabled]"), std::string::npos);
    EXPECT_NE(r.out.find("[security.cors_wildcard]"), std::string::npos);
    EXPECT_NE(r.out.find("[operations.retention_too_short]"), std::string::npos);
    EXPECT_NE(r.out.find("hint: set security.require_auth: true"), std::string::npos);
    EXPECT_NE(r.out.find("gate fails"), std::string::npos);
}

TEST(CheckCli, DevelopmentReportsWarningsAndPasses) {
    SpecText t;
    t.environment = "development";
    t.security = "{ require_auth: false, cors_origins: [\"*\"], cookie_secure: false, debug: true }";
    Deployment d(t);
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("ok"), true);
    EXPECT_EQ(doc.at("environment"), "development");
    auto ids = finding_ids(doc);
    for (const char* id : {"security.auth_disabled", "security.cors_wildcard", "security.cookie_insecure",
                           "security.debug_enabled"})
        EXPECT_TRUE(has(ids, id)) << id;
    for (const auto& f : doc.at("findings").as_array()) EXPECT_NE(f.at("severity"), "error") << f;
}

TEST(CheckCli, JsonShapeIsExact) {
    SpecText t;
    t.security = "{ require_auth: false, base_url: https://chat.example.com, rate_limit_per_minute: 60 }";
    t.logging_level = "debug";
    Deployment d(t);
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.err;
    auto doc = parse_json(r.out);
    ASSERT_EQ(doc.size(), 6u) << r.out;
    EXPECT_TRUE(doc.at("ok").is_bool());
    EXPECT_EQ(doc.at("lint"), false);
    EXPECT_EQ(doc.at("counts"),
              (boost::json::object{{"error", 1}, {"warning", 1}, {"info", 0}, {"waived", 0}}));
    EXPECT_TRUE(doc.at("skipped").as_array().empty());
    EXPECT_EQ(doc.at("ok"), false);
    EXPECT_EQ(doc.at("environment"), "production");
    ASSERT_TRUE(doc.at("findings").is_array());
    ASSERT_GE(doc.at("findings").as_array().size(), 2u);
    for (const auto& v : doc.at("findings").as_array()) {
        const auto& f = v.as_object();
        ASSERT_EQ(f.size(), 9u) << v;
        for (const char* k : {"id", "severity", "path", "message", "hint"})
            EXPECT_TRUE(f.at(k).is_string()) << k;
        EXPECT_TRUE(f.at("line").is_int64() || f.at("line").is_null()) << v;
        EXPECT_TRUE(f.at("file").is_null()) << v;
        EXPECT_EQ(f.at("waived"), false) << v;
        EXPECT_TRUE(f.at("reason").is_null()) << v;
        std::string sev = f.at("severity").as_string().c_str();
        EXPECT_TRUE(sev == "error" || sev == "warning" || sev == "info") << sev;
    }
    const auto& first = doc.at("findings").as_array().front().as_object();
    EXPECT_EQ(first.at("id"), "security.auth_disabled");
    EXPECT_EQ(first.at("path"), "security.require_auth");
    EXPECT_EQ(first.at("line"), 9);  // security: is on line 9 of render()
    EXPECT_TRUE(has(finding_ids(doc), "operations.debug_logging"));
}

TEST(CheckCli, InvalidSpecExitsTwo) {
    ::steward::test::TempDir dir("steward-gate");
    auto spec =
        dir.write("steward.yaml",
                  "version: 1\nname: chat\nenvironment: production\ndatabase: { url: x }\nsecurty: {}\n");
    auto r = run_steward({"check", "--spec", spec.string()});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("security"), std::string::npos) << "suggests the nearest key: " << r.err;
    r = run_steward({"check", "--spec", spec.string(), "--json"});
    EXPECT_EQ(r.status, 2);
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("ok"), false);
    EXPECT_TRUE(doc.contains("error"));
    r = run_steward({"check", "--spec", (dir / "absent.yaml").string()});
    EXPECT_EQ(r.status, 2) << r.err;
}

TEST(CheckCli, ListRulesMatchesTheTable) {
    auto r = run_steward({"check", "--list-rules", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    const auto& list = doc.at("rules").as_array();
    ASSERT_EQ(list.size(), rules().size());
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& j = list[i].as_object();
        EXPECT_EQ(j.at("id"), rules()[i].id.c_str());
        EXPECT_EQ(j.at("why"), rules()[i].why.c_str());
        for (const char* env : {"development", "staging", "production"})
            EXPECT_TRUE(j.at("severity").as_object().contains(env));
    }
    auto text = run_steward({"check", "--list-rules"});
    EXPECT_EQ(text.status, 0);
    for (const auto& rule : rules()) EXPECT_NE(text.out.find(rule.id), std::string::npos) << rule.id;
}

TEST(CheckCli, NoSecretsSkipsResolution) {
    Deployment d;
    d.env.erase("GATE_TEST_JWT");
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "secret.missing"));
    r = d.check({"--json", "--no-secrets"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(finding_ids(parse_json(r.out)).empty()) << r.out;
}

TEST(CheckCli, SecretFileModeAndOwner) {
    Deployment d;
    auto token = d.dir / "admin.token";
    ASSERT_EQ(::chmod(token.c_str(), 0644), 0);
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "secret.file_mode")) << r.out;
    ASSERT_EQ(::chmod(token.c_str(), 0600), 0);
    ASSERT_EQ(::geteuid(), 0u) << "this test changes a file's owner: run the suite as root, as CI does";
    ASSERT_EQ(::chown(token.c_str(), 65534, 65534), 0);
    r = d.check({"--json"});
    EXPECT_EQ(r.status, 1);
    auto ids = finding_ids(parse_json(r.out));
    EXPECT_TRUE(has(ids, "secret.file_owner")) << r.out;
    EXPECT_FALSE(has(ids, "secret.file_mode")) << r.out;
}

TEST(CheckCli, WeakSecretsFromEnvAndFile) {
    SpecText t;
    t.extra_secrets = "  db_password: { env: GATE_TEST_PW, kind: password }\n";
    Deployment d(t, "password");
    d.env["GATE_TEST_JWT"] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    d.env["GATE_TEST_PW"] = "Xk9#mQ2vL7pR4t";
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1);
    auto ids = finding_ids(parse_json(r.out));
    EXPECT_TRUE(has(ids, "secret.placeholder")) << r.out;
    EXPECT_TRUE(has(ids, "secret.low_entropy")) << r.out;
    EXPECT_TRUE(has(ids, "secret.too_short")) << r.out;
    EXPECT_EQ(ids.size(), 3u) << "one finding per weak secret: " << r.out;
    d.env["GATE_TEST_PW"] = "Xk9#mQ2vL7pR4tWz";  // 16 characters is enough for a password
    d.env["GATE_TEST_JWT"] = kStrongJwt;
    d.dir.write("admin.token", kStrongAdmin);
    EXPECT_EQ(d.check().status, 0);
}

TEST(CheckCli, ErrorEverywhereOperationsFailDevelopment) {
    SpecText t;
    t.environment = "development";
    t.backups_dir = "/proc/self";  // exists, but no file can be created there, even by root
    t.service_command = "[./no-such-api, --port, \"8000\"]";
    Deployment d(t);
    std::filesystem::remove(d.dir / "migrations");
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    auto ids = finding_ids(parse_json(r.out));
    for (const char* id :
         {"operations.backup_dir", "operations.service_command", "operations.migrations_dir"})
        EXPECT_TRUE(has(ids, id)) << id << " in " << r.out;
    auto script = d.dir.write("api.sh", "#!/bin/sh\nexit 0\n");
    ::chmod(script.c_str(), 0644);
    t.service_command = "[./api.sh]";
    t.backups_dir = "missing-backups";
    d.dir.write("steward.yaml", render(t));
    r = d.check({"--json"});
    auto doc = parse_json(r.out);
    EXPECT_TRUE(has(finding_ids(doc), "operations.backup_dir"));
    bool not_executable = false;
    for (const auto& f : doc.at("findings").as_array())
        not_executable |=
            f.at("id") == "operations.service_command" &&
            std::string(f.at("message").as_string().c_str()).find("not executable") != std::string::npos;
    EXPECT_TRUE(not_executable) << r.out;
}

TEST(CheckCli, DatabasePasswordWrittenInTheSpec) {
    for (const char* name : {"production", "staging", "development"}) {
        std::string env = name;
        SCOPED_TRACE(env);
        SpecText t;
        t.environment = env;
        t.database_url = std::string("postgresql://app:") + kStrongDbPassword +
                         "@db.internal:5432/chat?sslmode=verify-full";
        Deployment d(t);
        auto r = d.check({"--json"});
        EXPECT_EQ(r.status, env == "production" ? 1 : 0) << r.out << r.err;
        EXPECT_EQ(has(finding_ids(parse_json(r.out)), "database.inline_password"), env != "development")
            << r.out;
        EXPECT_EQ(r.out.find(kStrongDbPassword), std::string::npos) << r.out;
        // Only the password interpolated: nothing of it is in the file.
        t.database_url =
            "postgresql://app:${GATE_TEST_DB_PASSWORD}@db.internal:5432/chat?sslmode=verify-full";
        d.dir.write("steward.yaml", render(t));
        r = d.check({"--json"});
        EXPECT_FALSE(has(finding_ids(parse_json(r.out)), "database.inline_password")) << r.out;
        // The whole URL from the environment.
        t.database_url = "${GATE_TEST_DB_URL}";
        d.env["GATE_TEST_DB_URL"] = std::string("postgresql://app:") + kStrongDbPassword +
                                    "@db.internal:5432/chat?sslmode=verify-full";
        d.dir.write("steward.yaml", render(t));
        r = d.check({"--json"});
        EXPECT_FALSE(has(finding_ids(parse_json(r.out)), "database.inline_password")) << r.out;
        EXPECT_EQ(r.status, 0) << r.out << r.err;
    }
}

TEST(CheckCli, ConnectReportsServerVersionAndPasses) {
    SpecText t;
    t.database_url = "${GATE_TEST_CLUSTER_URL}";  // the cluster's password, not written into the spec
    Deployment d(t);
    d.env["GATE_TEST_CLUSTER_URL"] = cluster_url("postgres");
    auto r = d.check({"--json", "--connect"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    // The test cluster's only role is the superuser postgres: a warning, not an error.
    ASSERT_EQ(finding_ids(doc),
              (std::vector<std::string>{"connect.database_superuser", "connect.server_version"}))
        << r.out;
    std::string msg = doc.at("findings").as_array()[1].at("message").as_string().c_str();
    EXPECT_NE(msg.find("major 15"), std::string::npos) << msg;
}

TEST(CheckCli, ConnectSeesTheMigrationLock) {
    SpecText t;
    t.database_url = "${GATE_TEST_CLUSTER_URL}";
    Deployment d(t);
    d.env["GATE_TEST_CLUSTER_URL"] = cluster_url("postgres");
    pqxx::connection holder(cluster_url("postgres"));
    pqxx::nontransaction tx(holder);
    tx.exec_params("SELECT pg_advisory_lock($1)", pg::migration_lock_key("postgres", "steward_migrations"));
    auto r = d.check({"--json", "--connect"});
    EXPECT_EQ(r.status, 0) << "a held lock is a warning: " << r.out;
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "connect.migration_lock_held")) << r.out;
    tx.exec_params("SELECT pg_advisory_unlock($1)", pg::migration_lock_key("postgres", "steward_migrations"));
    r = d.check({"--json", "--connect"});
    EXPECT_FALSE(has(finding_ids(parse_json(r.out)), "connect.migration_lock_held")) << r.out;
}

TEST(CheckCli, ConnectToNothingFails) {
    SpecText t;
    t.database_url =
        "postgresql://app:${GATE_TEST_DB_PASSWORD}@127.0.0.1:" + std::to_string(free_loopback_port()) +
        "/chat";
    Deployment d(t);
    auto r = d.check({"--json", "--connect"});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "connect.database_unreachable")) << r.out;
    EXPECT_EQ(r.out.find(kStrongDbPassword), std::string::npos) << r.out;
    r = d.check();
    EXPECT_EQ(r.status, 0) << "without --connect the database is not contacted: " << r.out;
}

}  // namespace
}  // namespace steward::checks::test
