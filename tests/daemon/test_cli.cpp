// The steward binary's command line: help, version, exit codes, spec errors in text and JSON.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using test::run_steward;

namespace {
const std::string kSpec =
    "version: 1\n"
    "name: chat\n"
    "environment: development\n"
    "database:\n"
    "  url: postgresql://chat@127.0.0.1:1/chat\n";
}

TEST(Cli, HelpListsEveryCommand) {
    auto r = run_steward({"--help"});
    EXPECT_EQ(r.status, 0);
    for (const char* cmd : {"check", "migrate", "backup", "render", "run", "status"})
        EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd << " missing from:\n" << r.out;
    for (const char* cmd : {"check", "migrate", "backup", "render", "run", "status"}) {
        auto sub = run_steward({cmd, "--help"});
        EXPECT_EQ(sub.status, 0) << cmd;
        EXPECT_NE(sub.out.find(cmd), std::string::npos) << sub.out;
    }
}

TEST(Cli, VersionPrintsSemver) {
    auto r = run_steward({"--version"});
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.out.rfind("steward ", 0) == 0) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '.'), 2) << r.out;
}

TEST(Cli, UnknownCommandExits2WithHint) {
    auto r = run_steward({"frobnicate"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("steward --help"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(Cli, UnknownFlagExits2) {
    auto r = run_steward({"--frobnicate", "check"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
    r = run_steward({"check", "--no-such-flag"});
    EXPECT_EQ(r.status, 2);
    r = run_steward({"--log-level", "loud", "check"});
    EXPECT_EQ(r.status, 2);
}

TEST(Cli, NoCommandExits2) { EXPECT_EQ(run_steward({}).status, 2); }

TEST(Cli, JsonErrorDocumentOnUsageError) {
    auto r = run_steward({"frobnicate", "--json"});
    EXPECT_EQ(r.status, 2);
    auto doc = boost::json::parse(r.out).as_object();
    EXPECT_EQ(doc.at("ok"), false);
    EXPECT_TRUE(doc.at("error").as_object().contains("message"));
}

TEST(Cli, SpecTypoFailsWithPositionAndSuggestion) {
    test::TempDir dir;
    auto spec = dir.write("steward.yaml", kSpec + "secuirty:\n  debug: false\n");
    auto r = run_steward({"--spec", spec.string(), "check", "--no-secrets"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(spec.string() + ":6:1: unknown key 'secuirty'; did you mean 'security'?"),
              std::string::npos)
        << r.err;

    r = run_steward({"--spec", spec.string(), "check", "--no-secrets", "--json"});
    EXPECT_EQ(r.status, 2);
    auto doc = boost::json::parse(r.out).as_object();
    EXPECT_EQ(doc.at("ok"), false);
    auto err = doc.at("error").as_object();
    EXPECT_EQ(std::string(err.at("file").as_string()), spec.string());
    EXPECT_EQ(err.at("line"), 6);
    EXPECT_EQ(err.at("column"), 1);
    EXPECT_NE(std::string(err.at("message").as_string()).find("did you mean 'security'?"), std::string::npos);
}

TEST(Cli, WrongTypeAndUndefinedSecretExit2) {
    test::TempDir dir;
    auto spec = dir.write("a.yaml", kSpec + "security:\n  require_auth: sometimes\n");
    auto r = run_steward({"--spec", spec.string(), "check", "--no-secrets"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(":7:17: security.require_auth: expected true or false"), std::string::npos) << r.err;

    spec = dir.write("b.yaml",
                     kSpec + "secrets:\n  admin_token: { env: X }\nadmin:\n  token: secret:admin_tokn\n");
    r = run_steward({"--spec", spec.string(), "check", "--no-secrets"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(":9:3: admin.token: 'secret:admin_tokn' refers to an undefined secret; did you mean "
                         "'secret:admin_token'?"),
              std::string::npos)
        << r.err;
}

TEST(Cli, MissingSpecExits2SayingWhereItLooked) {
    test::TempDir dir;
    auto r = run_steward({"--spec", (dir / "nope.yaml").string(), "check"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("nope.yaml"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

TEST(Cli, BadScheduleAndTimeZoneAreSpecErrors) {
    test::TempDir dir;
    auto spec = dir.write("s.yaml", kSpec + "backups:\n  dir: b\n  schedule: \"61 * * * *\"\n");
    auto r = run_steward({"--spec", spec.string(), "check", "--no-secrets"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(":8:3: backups.schedule:"), std::string::npos) << r.err;
    spec = dir.write("t.yaml", kSpec + "timezone: Mars/Olympus\n");
    r = run_steward({"--spec", spec.string(), "check", "--no-secrets"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(":6:1: timezone:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Mars/Olympus"), std::string::npos) << r.err;
}

TEST(Cli, SpecLoggingSectionSetsTheDefaultFormat) {
    test::TempDir dir;
    // The migrations folder is missing: `run` logs the gate's error finding; the spec asks for JSON logs.
    auto spec = dir.write("s.yaml", kSpec + "logging: { format: json }\n");
    auto r = run_steward({"--spec", spec.string(), "run"});
    EXPECT_EQ(r.status, 1);
    ASSERT_FALSE(r.err.empty());
    bool saw_json = false;
    std::size_t start = 0;
    for (auto nl = r.err.find('\n'); nl != std::string::npos; start = nl + 1, nl = r.err.find('\n', start)) {
        std::string line = r.err.substr(start, nl - start);
        if (line.rfind("{\"ts\":", 0) == 0) saw_json = true;
    }
    EXPECT_TRUE(saw_json) << r.err;
    r = run_steward({"--spec", spec.string(), "--log-format", "text", "run"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("[gate]"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("{\"ts\":"), std::string::npos) << r.err;
}

TEST(Cli, UnderSystemdLogLinesCarryPriorityPrefixesAndNoTimestamps) {
    test::TempDir dir;
    // Auth off (a development warning), the gate passes (info), the database refuses (error).
    dir.write("migrations/V1__a.sql", "SELECT 1;\n");
    auto spec = dir.write("s.yaml", kSpec + "security: { require_auth: false }\n");
    auto r = run_steward({"--spec", spec.string(), "run"}, {{"JOURNAL_STREAM", "8:12345"}});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("<3>[run] startup failed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("<4>[gate] "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("<6>[gate] "), std::string::npos) << r.err;
    std::size_t start = 0;
    for (auto nl = r.err.find('\n'); nl != std::string::npos; start = nl + 1, nl = r.err.find('\n', start)) {
        std::string line = r.err.substr(start, nl - start);
        if (line.rfind("steward:", 0) == 0) continue;  // the command's own error line
        EXPECT_EQ(line[0], '<') << line;
        EXPECT_FALSE(std::regex_search(line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:)")))
            << "no timestamps under the journal: " << line;
    }
}
