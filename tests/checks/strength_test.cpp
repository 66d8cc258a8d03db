// Placeholder detection, the entropy estimate, and the pure evaluation plumbing (skips, order, lines).
#include "checks/strength.hpp"

#include <gtest/gtest.h>

#include <random>

#include "checks/rule.hpp"
#include "core/process.hpp"
#include "tests/checks/fixtures.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::checks::test {
namespace {

TEST(Placeholder, ShortWordsOnlyAsTheWholeValue) {
    for (const char* v :
         {"secret", "SECRET", "password", "test", "default", "admin", "xxx", "xxxxxxxx", "...", " secret\n"})
        EXPECT_TRUE(is_placeholder(v)) << v;
    // A random value may contain these by chance and must not trip.
    for (const char* v : {"q8Zrtest2LmV0xT4nB7cK1pW9sD3fH6jY", "Kxxx9aLpQ2mZ7vRt4sW1yU8iO3eB6nC0",
                          "mysecretvault-Zr2LmV0xT4nB7cK1pW9", "adminQ2mZ7vRt4sW1yU8iO3eB6nC0Kd7",
                          "Default5Lp9Q2mZ7vRt4sW1yU8iO3eB6n"})
        EXPECT_FALSE(is_placeholder(v)) << v;
}

TEST(Placeholder, LongMarkersAnywhereCaseInsensitive) {
    for (const char* v : {"changeme", "CHANGEME123", "prod_change_me_later", "a-change-me", "your-secret-key",
                          "Your-Token-Goes-Here", "example-token-1234567890abcdef", "PLACEHOLDER",
                          "insecure-dev-key-1234567890abcdef", "django-insecure-k3#9x!m2p@q7w8e1r4t5y6u0"})
        EXPECT_TRUE(is_placeholder(v)) << v;
    EXPECT_FALSE(is_placeholder(""));  // empty is "missing", reported by secret.missing
}

TEST(Entropy, ShannonEstimate) {
    EXPECT_DOUBLE_EQ(shannon_bits_per_char("aaaa"), 0.0);
    EXPECT_DOUBLE_EQ(shannon_bits_per_char("abab"), 1.0);
    EXPECT_DOUBLE_EQ(shannon_bits_per_char("abcd"), 2.0);
}

TEST(Entropy, WeakPatternsAreLow) {
    for (const char* v : {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabcabcabcabcabcab",
                          "12345678901234567890123456789012", "abcdefghijklmnopqrstuvwxyzabcdef",
                          "ababababababababababababababababab", "zyxwvutsrqponmlkjihgfedcba987654",
                          "Tr0ub4dor&Tr0ub4dor&Tr0ub4dor&Tr0ub4dor&"})
        EXPECT_TRUE(is_low_entropy(v)) << v;
}

TEST(Entropy, RandomValuesAreNotLow) {
    for (const char* v : {kJwt, kAdminToken, kDbPassword, "588a39f22c94bdbd6c71b1d0ccef31b7",
                          "ob2E//lauZ7qRI3k9zWJJjSYkV6wfaqc", "correct-horse-battery-staple-42!"})
        EXPECT_FALSE(is_low_entropy(v)) << v;
}

TEST(Entropy, RandomValuesNeverTrip) {
    // Values as `openssl rand -base64 48` and `openssl rand -hex 16` make them, from a fixed seed so the
    // test is deterministic: none may be reported weak.
    std::mt19937_64 random(20261123);
    const std::string b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const std::string hex = "0123456789abcdef";
    for (int i = 0; i < 20000; ++i) {
        std::string a, h;
        for (int k = 0; k < 64; ++k) a.push_back(b64[random() % 64]);
        for (int k = 0; k < 32; ++k) h.push_back(hex[random() % 16]);
        EXPECT_FALSE(is_low_entropy(a) || is_placeholder(a)) << "base64 value tripped: " << a;
        EXPECT_FALSE(is_low_entropy(h) || is_placeholder(h)) << "hex value tripped: " << h;
    }
}

TEST(Entropy, RealGeneratedSecretsPass) {
    // What operators actually paste: openssl output and an SSH private key (kind: key, multi-line).
    ::steward::test::TempDir dir("steward-gate-keys");
    for (const char* argv : {"-base64 48", "-base64 24", "-hex 32"}) {
        std::string flag = std::string(argv).substr(0, std::string(argv).find(' '));
        std::string count = std::string(argv).substr(std::string(argv).find(' ') + 1);
        for (int i = 0; i < 20; ++i) {
            ProcessOptions o;
            o.argv = {"openssl", "rand", flag, count};
            o.stdout_fd = ProcessOptions::kPipe;
            auto r = run_process(o, std::chrono::seconds(10));
            ASSERT_TRUE(r.ok()) << "openssl is needed for this test: " << r.err;
            std::string v = r.out.substr(0, r.out.find('\n'));
            EXPECT_FALSE(is_low_entropy(v) || is_placeholder(v)) << argv << ": " << v;
        }
    }
    ProcessOptions o;
    o.argv = {"ssh-keygen",         "-q", "-t", "ed25519", "-N", "", "-C", "backup@example", "-f",
              (dir / "id").string()};
    auto r = run_process(o, std::chrono::seconds(20));
    ASSERT_TRUE(r.ok()) << "ssh-keygen is needed for this test: " << r.err;
    std::string key = ::steward::test::read_file(dir / "id");
    EXPECT_FALSE(is_low_entropy(key));
    EXPECT_FALSE(is_placeholder(key));
}

TEST(Strength, MinimumLengths) {
    EXPECT_EQ(min_secret_length(SecretKind::token), 32u);
    EXPECT_EQ(min_secret_length(SecretKind::key), 32u);
    EXPECT_EQ(min_secret_length(SecretKind::password), 16u);
}

TEST(Strength, PasswordOfSixteenIsLongEnough) {
    World w = good_world(Environment::production);
    w.spec.secrets.push_back(secret_spec("db_password", SecretSpec::Source::env, SecretKind::password));
    w.secrets["db_password"] = ok_secret("db_password", std::string(kDbPassword).substr(0, 16));
    EXPECT_TRUE(with_id(w.run(), "secret.too_short").empty());
}

TEST(Evaluate, NoSecretsSkipsRulesThatNeedValues) {
    World w = good_world(Environment::production);
    w.secrets.clear();  // nothing resolved: would be secret.missing for each
    auto findings = w.run_without_secrets();
    EXPECT_TRUE(findings.empty());
    for (const auto& r : rules())
        if (r.needs == Needs::secrets) {
            EXPECT_TRUE(with_id(findings, r.id).empty());
        }
    // Spec-only rules still run.
    w.spec.security.require_auth = false;
    EXPECT_EQ(with_id(w.run_without_secrets(), "security.auth_disabled").size(), 1u);
}

TEST(Evaluate, ConnectRulesRunOnlyWithConnectFacts) {
    World w = good_world(Environment::production);
    for (const auto& f : w.run()) EXPECT_NE(f.id.rfind("connect.", 0), 0u) << f.id;
    w.facts.connect = good_connect();
    auto findings = w.run();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].id, "connect.server_version");
    EXPECT_NE(findings[0].message.find("15.5"), std::string::npos);
    EXPECT_TRUE(gate_passes(findings));
}

TEST(Evaluate, EmbeddedDatabaseSkipsConnectChecksWithANote) {
    World w = good_world(Environment::development);
    w.spec.database.url.reset();
    w.spec.database.embedded = EmbeddedDatabaseSpec{"/srv/chat/pg", 55432};
    ConnectFacts c;
    c.skipped = true;
    c.skip_reason = "database.embedded is started by `steward run`, not by check";
    w.facts.connect = c;
    auto findings = w.run();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].severity, Severity::info);
}

TEST(Evaluate, ErrorsFirstThenWarningsThenInfo) {
    World w = good_world(Environment::staging);
    w.spec.logging.level = "debug";            // info in staging
    w.spec.backups->retention = {1, 1, 1, 1};  // warning
    w.spec.security.debug = true;              // error
    w.facts.connect = good_connect();          // info
    auto findings = w.run();
    ASSERT_GE(findings.size(), 4u);
    EXPECT_EQ(findings.front().id, "security.debug_enabled");
    EXPECT_EQ(findings[1].severity, Severity::warning);
    EXPECT_EQ(findings.back().severity, Severity::info);
    EXPECT_FALSE(gate_passes(findings));
}

TEST(Evaluate, LineFallsBackToNearestPresentParent) {
    World w = good_world(Environment::production);
    w.spec.security.hsts = false;  // security.hsts absent from marks, security at line 20
    auto f = with_id(w.run(), "security.hsts_disabled");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].path, "security.hsts");
    EXPECT_EQ(f[0].line, 20);
    w.spec.marks["security.hsts"] = {23, 3};
    EXPECT_EQ(with_id(w.run(), "security.hsts_disabled")[0].line, 23);
}

TEST(Evaluate, ReusedSecretNamesBoth) {
    World w = good_world(Environment::production);
    w.secrets["jwt_secret"] = ok_secret("jwt_secret", kAdminToken);
    auto f = with_id(w.run(), "secret.reused");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].path, "secrets.admin_token");
    EXPECT_NE(f[0].message.find("secrets.jwt_secret"), std::string::npos);
}

TEST(Evaluate, TooShortMessageDescribesWithoutEchoing) {
    World w = good_world(Environment::production);
    w.secrets["jwt_secret"] = ok_secret("jwt_secret", "Zr2LmV0xT4nB7cK1");
    auto f = with_id(w.run(), "secret.too_short");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].message, "token is 16 characters; a token needs at least 32");
    EXPECT_NE(f[0].hint.find("openssl rand -base64 48"), std::string::npos);
}

TEST(Evaluate, LoopbackDatabaseNeedsNoSslmode) {
    for (const char* url : {"postgresql://app@127.0.0.1:5432/chat", "postgresql://app@localhost/chat",
                            "dbname=chat", "postgresql:///chat?host=/run/postgresql"}) {
        World w = good_world(Environment::production);
        w.spec.database.url = url;
        EXPECT_TRUE(with_id(w.run(), "database.sslmode").empty()) << url;
    }
    for (const char* pghost : {"localhost", "127.0.0.1", "/run/postgresql"}) {
        World w = good_world(Environment::production);
        w.spec.database.url = "postgresql:///chat?user=app";
        w.facts.pghost = pghost;
        EXPECT_TRUE(with_id(w.run(), "database.sslmode").empty()) << pghost;
    }
}

TEST(Evaluate, LoopbackAdminWithoutTokenIsAllowed) {
    for (const char* listen : {"127.0.0.1:9180", "[::1]:9180", "localhost:9180"}) {
        World w = good_world(Environment::production);
        w.spec.admin.listen = listen;
        w.spec.admin.token = {};
        EXPECT_TRUE(with_id(w.run(), "admin.exposed_without_token").empty()) << listen;
    }
}

TEST(Evaluate, PgsslmodeFromTheEnvironmentCounts) {
    World w = good_world(Environment::production);
    w.spec.database.url = std::string("postgresql://app:") + kDbPassword + "@db.internal:5432/chat";
    w.facts.pgsslmode = "verify-full";
    EXPECT_TRUE(with_id(w.run(), "database.sslmode").empty());
    w.spec.database.url = *w.spec.database.url + "?sslmode=disable";  // the URL wins over the environment
    EXPECT_EQ(with_id(w.run(), "database.sslmode").size(), 1u);
}

TEST(Listen, HostPart) {
    EXPECT_EQ(listen_host("127.0.0.1:9180"), "127.0.0.1");
    EXPECT_EQ(listen_host("[::1]:9180"), "::1");
    EXPECT_EQ(listen_host(":9180"), "");
    EXPECT_EQ(listen_host("9180"), "");
    EXPECT_EQ(listen_host("0.0.0.0:9180"), "0.0.0.0");
    EXPECT_TRUE(is_loopback_host("127.0.0.2"));
    EXPECT_FALSE(is_loopback_host("0.0.0.0"));
    EXPECT_FALSE(is_loopback_host(""));
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("[::1]"));
    EXPECT_FALSE(is_loopback_host("127.example.com"));
    EXPECT_FALSE(is_loopback_host("127.0.0.1.example.com"));
}

TEST(Evaluate, RetentionOfTwoIsEnough) {
    World w = good_world(Environment::production);
    w.spec.backups->retention = {2, 0, 0, 0};
    EXPECT_TRUE(with_id(w.run(), "operations.retention_too_short").empty());
}

TEST(Evaluate, MigrationsDirNotNeededWhenSkipped) {
    World w = good_world(Environment::production);
    w.facts.migrations_dir = PathFacts{};
    w.spec.migrations.on_start = MigrationsSpec::OnStart::skip;
    EXPECT_TRUE(with_id(w.run(), "operations.migrations_dir").empty());
}

TEST(Evaluate, PasswordKindAdminTokenOfThirtyTwoIsFine) {
    World w = good_world(Environment::production);
    w.spec.secrets.push_back(secret_spec("admin_pw", SecretSpec::Source::env, SecretKind::password));
    w.secrets["admin_pw"] = ok_secret("admin_pw", "mGbT8ranr5yUcMjDFbeo3pUXy4WVBzNu");
    w.spec.admin.token = {"admin_pw", ""};
    EXPECT_TRUE(with_id(w.run(), "admin.weak_token").empty());
}

}  // namespace
}  // namespace steward::checks::test
