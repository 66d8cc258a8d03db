// What the CLI prints when things go wrong or are asked for: valid JSON with `ok` everywhere, plain
// numbers, commands that name themselves, help that shows every option that works there.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <map>
#include <regex>

#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using test::run_steward;

namespace {

boost::json::object parse_object(const std::string& out) {
    boost::json::value v;
    EXPECT_NO_THROW(v = boost::json::parse(out)) << out;  // Boost.JSON rejects invalid UTF-8
    EXPECT_TRUE(v.is_object()) << out;
    return v.is_object() ? v.as_object() : boost::json::object{};
}

}  // namespace

TEST(CliJson, NumbersArePlainDecimals) {
    test::TempDir dir;
    // Nothing listens on port 1: the backup fails fast, and its document still carries a duration.
    auto r = run_steward({"backup", "now", "--json", "--dir", dir.path().string(), "--database-url",
                          "postgresql://x@127.0.0.1:1/x"});
    EXPECT_EQ(r.status, 1) << r.err;
    auto doc = parse_object(r.out);
    ASSERT_TRUE(doc.contains("duration_seconds")) << r.out;
    EXPECT_FALSE(std::regex_search(r.out, std::regex(R"([0-9][eE][-+]?[0-9])"))) << r.out;
}

TEST(CliJson, EveryDocumentHasOk) {
    test::TempDir dir;
    for (std::vector<std::string> args :
         {std::vector<std::string>{"backup", "list", "--json", "--dir", dir.path().string()},
          {"check", "--list-rules", "--json"}}) {
        auto r = run_steward(args);
        EXPECT_EQ(r.status, 0) << r.err;
        auto doc = parse_object(r.out);
        ASSERT_TRUE(doc.contains("ok")) << args[0] << " " << args[1] << ": " << r.out;
        EXPECT_EQ(doc.at("ok"), true);
    }
}

TEST(CliJson, InvalidUtf8InTheSpecBecomesValidJson) {
    test::TempDir dir;
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: chat\nenvironment: production\n"
                          "database:\n  url: postgresql://chat@127.0.0.1/chat\n"
                          "security: { base_url: \"http://chat.\xff\xfe.example\" }\n");
    auto r = run_steward({"--spec", spec.string(), "check", "--json", "--no-secrets"});
    EXPECT_EQ(r.status, 1) << r.err;
    auto doc = parse_object(r.out);
    EXPECT_NE(r.out.find("http://chat.\xEF\xBF\xBD\xEF\xBF\xBD.example"), std::string::npos) << r.out;
}

TEST(CliMessages, UnknownCommandsNameThemselvesAndTheValidOnes) {
    auto r = run_steward({"--json", "frobnicate"});
    EXPECT_EQ(r.status, 2);
    auto doc = parse_object(r.out);
    std::string msg(doc.at("error").at("message").as_string());
    EXPECT_NE(msg.find("unknown command 'frobnicate'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("check, migrate, backup"), std::string::npos) << msg;

    r = run_steward({"migrate", "create"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown command 'create' for 'steward migrate'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("status, plan, up, down, validate, baseline, repair"), std::string::npos) << r.err;
    r = run_steward({"migrate", "--dir", "up", "create", "--json"});  // "up" is --dir's value here
    EXPECT_NE(r.out.find("unknown command 'create'"), std::string::npos) << r.out;

    r = run_steward({"backup"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("'steward backup' needs a command: now, list, verify, restore, prune"),
              std::string::npos)
        << r.err;
    r = run_steward({"--json", "backup"});
    EXPECT_NE(
        std::string(parse_object(r.out).at("error").at("message").as_string()).find("now, list, verify"),
        std::string::npos);
    EXPECT_EQ(run_steward({"backup", "--help"}).status, 0);
}

TEST(CliMessages, EveryHelpShowsTheOptionsThatWorkThere) {
    auto r = run_steward({"check", "--help"});
    EXPECT_EQ(r.status, 0);
    for (const char* opt : {"--json", "--spec", "--log-level", "--lint", "--env-file"})
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt << " missing from check --help:\n" << r.out;
    r = run_steward({"migrate", "up", "--help"});
    EXPECT_EQ(r.status, 0);
    for (const char* opt : {"--dir", "--database-url", "--json", "--spec", "--to", "--wait"})
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt << " missing from migrate up --help:\n" << r.out;
    r = run_steward({"backup", "verify", "--help"});
    for (const char* opt : {"--dir", "--level", "--json", "--spec"})
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt << " missing from backup verify --help:\n"
                                                      << r.out;
}

TEST(CliMessages, AMissingBackupIsNotAFailedVerification) {
    test::TempDir dir;
    auto r = run_steward({"backup", "verify", "nosuchid", "--dir", dir.path().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("no backup nosuchid in " + dir.path().string()), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("verification"), std::string::npos) << r.err;
    r = run_steward({"backup", "verify", "nosuchid", "--dir", dir.path().string(), "--json"});
    auto doc = parse_object(r.out);
    EXPECT_EQ(doc.at("ok"), false);
    EXPECT_NE(std::string(doc.at("error").at("message").as_string()).find("no backup nosuchid"),
              std::string::npos);
    EXPECT_FALSE(doc.contains("problems")) << r.out;
}

TEST(CliMessages, ASqliteUrlIsNamedAsNotPostgresql) {
    test::TempDir dir;
    auto r = run_steward(
        {"migrate", "status", "--database-url", "sqlite:///data/app.db", "--dir", dir.path().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("steward needs a PostgreSQL URL"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("missing \"=\""), std::string::npos) << r.err;
    auto spec = dir.write(
        "steward.yaml",
        "version: 1\nname: chat\nenvironment: production\ndatabase:\n  url: sqlite:///data/memoai.db\n");
    r = run_steward({"--spec", spec.string(), "check", "--json", "--lint"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.out.find("database.url is a sqlite:// URL; steward needs a PostgreSQL database"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("percent-encode"), std::string::npos) << r.out;
}

TEST(CliMessages, TheSecretHintFollowsItsKind) {
    test::TempDir dir;
    auto key = dir.write("ssh_key", "short\n");
    ::chmod(key.c_str(), 0600);
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: chat\nenvironment: production\n"
                          "database:\n  url: postgresql://chat@127.0.0.1/chat\n"
                          "secrets:\n  openai: { env: CLI_TEST_OPENAI_KEY, kind: key }\n"
                          "  ssh: { file: ssh_key, kind: key }\n"
                          "backups:\n  dir: b\n  offsite: { sftp: { host: h, user: u, key: 'secret:ssh', "
                          "known_hosts: kh, path: /srv } }\n");
    auto r = run_steward({"--spec", spec.string(), "check", "--json"}, {{"CLI_TEST_OPENAI_KEY", "sk-short"}});
    auto doc = parse_object(r.out);
    std::map<std::string, std::string> hints;
    for (const auto& f : doc.at("findings").as_array())
        if (f.at("id") == "secret.too_short")
            hints[std::string(f.at("path").as_string())] = f.at("hint").as_string().c_str();
    EXPECT_EQ(hints["secrets.openai"], "use the key your provider issued") << r.out;
    EXPECT_NE(hints["secrets.ssh"].find("ssh-keygen"), std::string::npos) << r.out;
}
