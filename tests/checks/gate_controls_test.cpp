// Rule controls and platform secrets, on the pure gate: waivers, raised minimums, the published-default
// deny-list, hints that fit the secret, secret mounts, optional secrets, and what --lint skips.
#include <gtest/gtest.h>

#include <set>

#include "checks/gate.hpp"
#include "checks/strength.hpp"
#include "tests/checks/fixtures.hpp"

namespace steward::checks::test {
namespace {

void set_jwt(World& w, const std::string& value) { w.secrets["jwt_secret"] = ok_secret("jwt_secret", value); }

TEST(Waivers, AWaivedFindingIsShownWithItsReasonAndPasses) {
    World w = good_world(Environment::production);
    w.spec.database.url =
        std::string("postgresql://app:") + kDbPassword + "@db.internal/chat?sslmode=disable";
    ASSERT_FALSE(gate_passes(w.run()));
    w.spec.checks.waive.push_back({"database.sslmode", "database.url", "private network, see RFC-12", {}});
    auto found = w.run();
    auto f = with_id(found, "database.sslmode");
    ASSERT_EQ(f.size(), 1u) << "a waiver never hides a finding";
    EXPECT_TRUE(f[0].is_waived());
    EXPECT_EQ(f[0].waived, "private network, see RFC-12");
    EXPECT_EQ(f[0].severity, Severity::error);
    EXPECT_TRUE(gate_passes(found));
}

TEST(Waivers, MatchRuleAndPath) {
    World w = good_world(Environment::production);
    w.spec.security.cors_origins = {"*"};
    w.spec.checks.waive.push_back({"database.sslmode", "security.cors_origins", "wrong rule", {}});
    w.spec.checks.waive.push_back({"security.cors_wildcard", "database.url", "wrong path", {}});
    EXPECT_FALSE(gate_passes(w.run()));
    w.spec.checks.waive.push_back({"security.cors_wildcard", "", "every path of the rule", {}});
    EXPECT_TRUE(gate_passes(w.run()));
}

TEST(Waivers, UnknownOrUnwaivableRulesAreSpecErrors) {
    Spec s = good_world(Environment::production).spec;
    s.checks.waive.push_back({"database.sslmode", "database.url", "fine", {}});
    EXPECT_NO_THROW(validate_checks_section(s));
    s.checks.waive.push_back({"database.sslmod", "", "typo", {3, 5}});
    try {
        validate_checks_section(s);
        ADD_FAILURE() << "an unknown rule must be a spec error";
    } catch (const SpecError& e) {
        EXPECT_NE(e.message().find("unknown rule 'database.sslmod'"), std::string::npos) << e.message();
        EXPECT_EQ(e.mark().line, 3);
    }
    s.checks.waive.back() = {"secret.published_default", "", "we like it", {}};
    EXPECT_THROW(validate_checks_section(s), SpecError);
    s.checks.waive.back() = {"secret.placeholder", "", "we like it", {}};
    EXPECT_THROW(validate_checks_section(s), SpecError);
    for (const auto& r : rules()) {
        if (r.id == "secret.placeholder" || r.id == "secret.published_default") {
            EXPECT_FALSE(r.waivable) << r.id;
        }
    }
}

TEST(MinimumLength, RaisesNeverLowers) {
    World w = good_world(Environment::production);  // kJwt has 44 characters
    ASSERT_TRUE(with_id(w.run(), "secret.too_short").empty());
    w.spec.checks.min_secret_length = 48;
    auto f = with_id(w.run(), "secret.too_short");
    ASSERT_EQ(f.size(), 2u);  // the jwt (44) and the admin token (32)
    EXPECT_NE(f[0].message.find("at least 48"), std::string::npos) << f[0].message;
    w.spec.checks.min_secret_length.reset();
    w.spec.secrets[0].min_length = 64;
    EXPECT_EQ(with_id(w.run(), "secret.too_short").size(), 1u);
    w.spec.secrets[0].min_length = 8;  // below the built-in 32: a spec error, never a lower bar
    EXPECT_THROW(validate_checks_section(w.spec), SpecError);
}

TEST(PublishedDefaults, AreErrorsInEveryEnvironmentAndNeverWaived) {
    for (const char* v : {"super-secret-jwt-token-with-at-least-32-characters-long", "your-256-bit-secret",
                          "secure-smtp-password", "your-secret-key-here", "changeme", "CHANGEME",
                          "a-very-long-random-looking-value-change-in-production-x8f3k2",
                          "9f8e7d6c5b4a-not-for-production", "dev-secret-7b3c9a1e4f2d8b6c0a5e3f1d9b7c5a3e"})
        EXPECT_TRUE(is_published_default(v)) << v;
    for (const char* v : {kJwt, kAdminToken, "changeme-later-x", "secret", "my-own-dev-key"})
        EXPECT_FALSE(is_published_default(v)) << v;
    for (Environment env : environments()) {
        World w = good_world(env);
        set_jwt(w, "super-secret-jwt-token-with-at-least-32-characters-long");
        w.spec.checks.waive.push_back(
            {"secret.published_default", "", "try", {}});  // the loader refuses it anyway
        auto found = w.run();
        auto f = with_id(found, "secret.published_default");
        ASSERT_EQ(f.size(), 1u) << to_string(env);
        EXPECT_EQ(f[0].severity, Severity::error);
        EXPECT_TRUE(with_id(found, "secret.placeholder").empty()) << "reported once";
    }
}

TEST(Hints, FollowTheSecretsKindAndUse) {
    World w = good_world(Environment::production);
    w.spec.secrets.push_back(secret_spec("openai", SecretSpec::Source::env, SecretKind::key));
    w.spec.secrets.push_back(secret_spec("ssh", SecretSpec::Source::file, SecretKind::key));
    w.spec.secrets.push_back(secret_spec("backup_key", SecretSpec::Source::file, SecretKind::key));
    w.spec.backups->sftp =
        SftpSpec{"backup.example.com", 22, "backup", {"ssh", ""}, "/etc/kh", "/srv", false};
    w.spec.backups->encryption_key = {"backup_key", ""};
    for (const char* name : {"openai", "ssh", "backup_key"}) w.secrets[name] = ok_secret(name, "short", true);
    auto f = with_id(w.run(), "secret.too_short");
    std::map<std::string, std::string> hints;
    for (const auto& x : f) hints[x.path] = x.hint;
    EXPECT_EQ(hints["secrets.openai"], "use the key your provider issued");
    EXPECT_NE(hints["secrets.ssh"].find("ssh-keygen"), std::string::npos) << hints["secrets.ssh"];
    EXPECT_EQ(hints["secrets.ssh"].find("openssl"), std::string::npos);
    EXPECT_NE(hints["secrets.backup_key"].find("openssl rand"), std::string::npos);
}

TEST(SecretMounts, ReadOnlyMountedFilesAreAccepted) {
    World w = good_world(Environment::production);
    w.secrets["admin_token"].file_mode = 0440;
    w.secrets["admin_token"].file_owner = 0;
    w.facts.uid = 1000;
    w.facts.secret_files["admin_token"] = SecretFileFacts{"/var/run/secrets/chat/admin_token", true, false};
    auto found = w.run();
    EXPECT_TRUE(with_id(found, "secret.file_mode").empty());
    EXPECT_TRUE(with_id(found, "secret.file_owner").empty());
    // The same file where steward's user could change it: the findings stay, without a chown hint.
    w.facts.secret_files["admin_token"].writable = true;
    auto mode = with_id(w.run(), "secret.file_mode");
    ASSERT_EQ(mode.size(), 1u);
    EXPECT_EQ(mode[0].hint.find("chmod"), std::string::npos) << mode[0].hint;
    auto owner = with_id(w.run(), "secret.file_owner");
    ASSERT_EQ(owner.size(), 1u);
    EXPECT_EQ(owner[0].hint.find("chown"), std::string::npos) << owner[0].hint;
}

TEST(SecretMounts, TheMountsAreKubernetesDockerAndSystemds) {
    Spec s = good_world(Environment::production).spec;
    s.secrets = {secret_spec("docker", SecretSpec::Source::file, SecretKind::token),
                 secret_spec("k8s", SecretSpec::Source::file, SecretKind::token),
                 secret_spec("plain", SecretSpec::Source::file, SecretKind::token),
                 secret_spec("lookalike", SecretSpec::Source::file, SecretKind::token)};
    s.secrets[0].file = "/run/secrets/chat_jwt";
    s.secrets[1].file = "/var/run/secrets/chat/jwt";
    s.secrets[2].file = "/etc/steward/jwt";
    s.secrets[3].file = "/run/secrets-not/jwt";
    GateFacts f = gather_facts(s, {});
    EXPECT_TRUE(f.secret_files.at("docker").in_secret_mount);
    EXPECT_TRUE(f.secret_files.at("k8s").in_secret_mount);
    EXPECT_FALSE(f.secret_files.at("plain").in_secret_mount);
    EXPECT_FALSE(f.secret_files.at("lookalike").in_secret_mount);
}

TEST(SecretMounts, AWorldReadableFileElsewhereIsStillFlagged) {
    World w = good_world(Environment::production);
    w.secrets["admin_token"].file_mode = 0644;
    w.facts.secret_files["admin_token"] = SecretFileFacts{"/etc/steward/admin_token", false, false};
    auto f = with_id(w.run(), "secret.file_mode");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_NE(f[0].hint.find("chmod 600"), std::string::npos);
}

TEST(OptionalSecrets, AnUnsetOptionalSecretIsNoFinding) {
    World w = good_world(Environment::production);
    w.spec.secrets.push_back(secret_spec("anthropic", SecretSpec::Source::env, SecretKind::key));
    ResolvedSecret unset;
    unset.name = "anthropic";
    unset.status = ResolvedSecret::Status::env_unset;
    unset.problem = "environment variable ANTHROPIC_API_KEY is not set";
    w.secrets["anthropic"] = unset;
    EXPECT_EQ(with_id(w.run(), "secret.missing").size(), 1u);
    w.spec.secrets.back().optional = true;
    EXPECT_TRUE(w.run().empty());
    w.secrets["anthropic"].status =
        ResolvedSecret::Status::file_unreadable;  // there, but unreadable: still one
    EXPECT_EQ(with_id(w.run(), "secret.missing").size(), 1u);
}

TEST(Lint, SkipsHostRulesAndUnknownValuesAndSaysSo) {
    World w = good_world(Environment::production);
    w.facts.lint = true;
    w.facts.migrations_dir = PathFacts{};  // missing on this machine: not judged under --lint
    w.spec.security.base_url = "";
    w.spec.unknown["security.base_url"] = {"PUBLIC_URL"};
    std::vector<Skipped> skipped;
    auto found = evaluate(w.spec, nullptr, w.facts, &skipped);
    EXPECT_TRUE(found.empty());
    std::set<std::string> paths;
    for (const auto& s : skipped) paths.insert(s.path);
    EXPECT_TRUE(paths.count("security.base_url"));
    EXPECT_TRUE(paths.count("secrets"));
    EXPECT_TRUE(paths.count("host"));
    for (const auto& s : skipped) {
        if (s.path == "security.base_url") {
            EXPECT_NE(s.reason.find("${PUBLIC_URL}"), std::string::npos);
        }
    }
}

TEST(Workdir, AMissingWorkdirIsAFindingNotASpecError) {
    World w = good_world(Environment::development);
    w.spec.services[0].workdir = "/srv/chat/app";
    w.facts.service_workdirs["chat-api"] = PathFacts{};
    auto f = with_id(w.run(), "operations.service_workdir");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].severity, Severity::error);
    w.facts.lint = true;
    EXPECT_TRUE(with_id(w.run(), "operations.service_workdir").empty());
}

}  // namespace
}  // namespace steward::checks::test
