// steward check on what reaches the app, end to end: service env, env_file, --env-file, environment
// without defaults, --lint on a machine without the deployment, waivers, booleans, published defaults.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/checks/cli_support.hpp"

namespace steward::checks::test {
namespace {

using ::steward::test::run_steward;

const std::vector<std::string> kTrialIds = {"security.debug_enabled", "security.cors_wildcard",
                                            "security.auth_disabled", "security.app_environment"};

SpecText with_service_env(const std::string& env) {
    SpecText t;
    t.service_command = "[/bin/true]\n    env: " + env;
    return t;
}

TEST(CheckEnv, TrialMissesInServiceEnvFailTheGate) {
    Deployment d(
        with_service_env("{ DEBUG: \"True\", CORS_ORIGINS: \"*\", REQUIRE_AUTHENTICATION: \"false\", "
                         "ENVIRONMENT: development }"));
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    auto doc = parse_json(r.out);
    for (const auto& id : kTrialIds) EXPECT_TRUE(has(finding_ids(doc), id)) << id << " in " << r.out;
    for (const auto& f : doc.at("findings").as_array()) {
        std::string path(f.at("path").as_string());
        EXPECT_EQ(path.rfind("services.api.env.", 0), 0u) << path;
        EXPECT_TRUE(f.at("line").is_int64()) << "names the line of the variable";
    }
    // Taking them from the spec's checked settings passes.
    Deployment ok(with_service_env(
        "{ DEBUG: \"security:debug\", CORS_ORIGINS: \"security:cors_origins\", "
        "REQUIRE_AUTHENTICATION: \"security:require_auth\", ENVIRONMENT: \"spec:environment\" }"));
    r = ok.check({"--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST(CheckEnv, TrialMissesInAnEnvFileFailTheGate) {
    Deployment d;
    auto env =
        d.dir.write("app.env",
                    "# the app's EnvironmentFile=\nDEBUG=True\nCORS_ORIGINS=*\nREQUIRE_AUTHENTICATION=false\n"
                    "ENVIRONMENT=development\n");
    auto r = d.check({"--json", "--env-file", env.string()});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    auto doc = parse_json(r.out);
    for (const auto& id : kTrialIds) EXPECT_TRUE(has(finding_ids(doc), id)) << id << " in " << r.out;
    for (const auto& f : doc.at("findings").as_array()) {
        EXPECT_EQ(std::string(f.at("file").as_string()), env.string());
        EXPECT_GE(f.at("line").as_int64(), 2);
    }
    r = d.check({"--env-file", env.string()});
    EXPECT_NE(r.out.find("(" + env.string() + ":2)"), std::string::npos) << r.out;

    auto good = d.dir.write("good.env",
                            "DEBUG=False\nCORS_ORIGINS=https://app.example.com\nENVIRONMENT=production\n");
    EXPECT_EQ(d.check({"--env-file", good.string()}).status, 0);
    r = d.check({"--env-file", (d.dir / "missing.env").string()});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("missing.env"), std::string::npos) << r.err;
}

TEST(CheckEnv, ServiceEnvFileIsReadAndEnvWins) {
    SpecText t;
    t.service_command = "[/bin/true]\n    env_file: app.env\n    env: { LOG_LEVEL: INFO }";
    Deployment d(t);
    d.dir.write("app.env", "LOG_LEVEL=DEBUG\nAPP_ENV=production\nCOOKIE_SECURE=false\n");
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.out;
    auto doc = parse_json(r.out);
    auto ids = finding_ids(doc);
    EXPECT_TRUE(has(ids, "security.cookie_insecure")) << r.out;
    EXPECT_FALSE(has(ids, "operations.debug_logging")) << "env's LOG_LEVEL wins over the file's: " << r.out;
    for (const auto& f : doc.at("findings").as_array()) {
        EXPECT_EQ(std::string(f.at("path").as_string()), "services.api.env_file");
        EXPECT_EQ(f.at("line").as_int64(), 3);
    }
    std::filesystem::remove(d.dir / "app.env");
    r = d.check({"--json"});
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "operations.service_env_file")) << r.out;
}

TEST(CheckEnv, EnvironmentNeverFallsBackToADefault) {
    SpecText t;
    t.environment = "${APP_ENV:-development}";
    Deployment d(t);
    auto r = d.check();
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("environment never falls back to a default"), std::string::npos) << r.err;
    d.env["APP_ENV"] = "production";
    r = d.check({"--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(parse_json(r.out).at("environment"), "production");
}

TEST(CheckEnv, LintPassesTheProductionExampleOnAMachineWithoutItsFolders) {
    std::string spec = std::string(::steward::test::source_dir()) + "/configs/production.yaml";
    // The CI machine of the issue: none of the deployment's folders, variables or secrets.
    ASSERT_FALSE(std::filesystem::exists("/var/backups/chat"))
        << "this test needs a machine without the deployment";
    ASSERT_EQ(std::getenv("DATABASE_URL"), nullptr) << "this test needs DATABASE_URL unset";
    auto r = run_steward({"--spec", spec, "check", "--lint", "--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("lint"), true);
    bool database_skipped = false;
    for (const auto& s : doc.at("skipped").as_array())
        database_skipped = database_skipped || s.at("path") == "database.url";
    EXPECT_TRUE(database_skipped) << r.out;
    // The full check on this machine cannot pass: DATABASE_URL, secrets and folders are missing.
    EXPECT_NE(run_steward({"--spec", spec, "check"}).status, 0);
}

TEST(CheckEnv, LintTakesTheEnvironmentFromTheFlag) {
    SpecText t;
    t.environment = "${APP_ENV}";
    t.service_command = "[/no/such/program]";
    Deployment d(t);
    d.env.clear();
    auto r = d.check({"--lint"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("pass --environment"), std::string::npos) << r.err;
    r = d.check({"--lint", "--environment", "production", "--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;  // the missing program is not looked for under --lint
    EXPECT_EQ(parse_json(r.out).at("environment"), "production");
    EXPECT_EQ(d.check({"--no-secrets", "--environment", "staging"}).status, 0) << "--no-secrets is --lint";
    EXPECT_EQ(d.check({"--environment", "staging"}).status, 2) << "--environment needs --lint";
}

TEST(CheckEnv, WaiversAreShownAndCountedApart) {
    SpecText t;
    t.database_url = "postgresql://app:${GATE_TEST_DB_PASSWORD}@db.internal:5432/chat?sslmode=disable";
    t.extra =
        "checks:\n  waive:\n    - { rule: database.sslmode, path: database.url, reason: \"private network, "
        "see RFC-12\" }\n";
    Deployment d(t);
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("counts").at("waived"), 1);
    EXPECT_EQ(doc.at("counts").at("error"), 0);
    ASSERT_EQ(doc.at("findings").as_array().size(), 1u);
    const auto& f = doc.at("findings").as_array()[0];
    EXPECT_EQ(f.at("id"), "database.sslmode");
    EXPECT_EQ(f.at("waived"), true);
    EXPECT_EQ(f.at("reason"), "private network, see RFC-12");
    r = d.check();
    EXPECT_NE(r.out.find("waived (1)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("waived: private network, see RFC-12"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 waived"), std::string::npos) << r.out;

    for (const std::string& bad : {std::string("    - { rule: database.sslmode, path: database.url }\n"),
                                   std::string("    - { rule: database.sslmod, reason: typo }\n"),
                                   std::string("    - { rule: secret.placeholder, reason: no }\n")}) {
        t.extra = "checks:\n  waive:\n" + bad;
        Deployment b(t);
        r = b.check();
        EXPECT_EQ(r.status, 2) << bad << r.err;
    }
}

TEST(CheckEnv, CapitalisedYamlBooleansLoad) {
    SpecText t;
    t.security =
        "{ require_auth: True, cors_origins: [https://app.example.com], cookie_secure: TRUE, "
        "base_url: https://chat.example.com, hsts: Yes, debug: False, rate_limit_per_minute: 60 }";
    Deployment d(t);
    auto r = d.check();
    EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST(CheckEnv, PublishedDefaultSecretsFailEvenInDevelopment) {
    SpecText t;
    t.environment = "development";
    Deployment d(t);
    d.env["GATE_TEST_JWT"] = "super-secret-jwt-token-with-at-least-32-characters-long";
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "secret.published_default")) << r.out;
    EXPECT_EQ(r.out.find("super-secret-jwt-token"), std::string::npos) << "never echoed";
}

TEST(CheckEnv, DependencyCycleIsASpecErrorAndAMissingWorkdirAFinding) {
    SpecText t;
    t.service_command =
        "[/bin/true]\n    depends_on: [worker]\n  worker:\n    command: [/bin/true]\n    depends_on: [api]";
    Deployment d(t);
    auto r = d.check();
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("a dependency cycle: "), std::string::npos) << r.err;

    t.service_command = "[/bin/true]\n    workdir: /no/such/folder";
    Deployment w(t);
    r = w.check({"--json"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "operations.service_workdir")) << r.out;
    EXPECT_EQ(w.check({"--lint"}).status, 0);
}

// The README's "Your first production spec" ends with a spec the gate passes: its yaml blocks put
// together pass `check --lint` (the walkthrough's folders and secrets do not exist here).
TEST(CheckEnv, TheReadmeWalkthroughSpecPassesTheGate) {
    std::ifstream in(std::string(::steward::test::source_dir()) + "/README.md");
    std::string line, spec;
    bool section = false, yaml = false;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0) section = line == "## Your first production spec";
        if (!section) continue;
        if (line == "```yaml")
            yaml = true;
        else if (line == "```")
            yaml = false;
        else if (yaml)
            spec += line + "\n";
    }
    ASSERT_NE(spec.find("services:"), std::string::npos) << "the walkthrough's spec was not found";
    ::steward::test::TempDir dir;
    auto file = dir.write("steward.yaml", spec);
    auto r = run_steward({"--spec", file.string(), "check", "--lint"});
    EXPECT_EQ(r.status, 0) << spec << r.out << r.err;
}

}  // namespace
}  // namespace steward::checks::test
