// Secrets: resolution from env and file, the type that never prints, redaction.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <sstream>

#include "core/secret.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

TEST(Secret, NeverFormatsItsValue) {
    Secret s("canary-7f3a9b2c-value");
    EXPECT_EQ(fmt::format("{}", s), "***");
    std::ostringstream os;
    os << s;
    EXPECT_EQ(os.str(), "***");
    EXPECT_EQ(boost::json::serialize(boost::json::value_from(s)), "\"***\"");
    EXPECT_EQ(s.reveal(), "canary-7f3a9b2c-value");
}

TEST(Secret, ConstantTimeEquality) {
    EXPECT_TRUE(constant_time_equals("abc", "abc"));
    EXPECT_FALSE(constant_time_equals("abc", "abd"));
    EXPECT_FALSE(constant_time_equals("abc", "abcd"));
    EXPECT_FALSE(constant_time_equals("", "a"));
    EXPECT_TRUE(Secret("x1") == Secret("x1"));
}

TEST(Secret, ResolvesFromEnv) {
    ::setenv("STEWARD_TEST_SECRET", "from-env-value", 1);
    SecretSpec spec{"s", SecretSpec::Source::env, "STEWARD_TEST_SECRET", {}, {}, SecretKind::token};
    auto r = resolve_secret(spec);
    ASSERT_EQ(r.status, ResolvedSecret::Status::ok);
    EXPECT_EQ(r.value->reveal(), "from-env-value");
    ::unsetenv("STEWARD_TEST_SECRET");
    r = resolve_secret(spec);
    EXPECT_EQ(r.status, ResolvedSecret::Status::env_unset);
    EXPECT_FALSE(r.value);
    EXPECT_NE(r.problem.find("STEWARD_TEST_SECRET is not set"), std::string::npos);
}

TEST(Secret, ResolvesFromFileTrimmingOneNewlineAndRecordsMode) {
    test::TempDir dir;
    auto p = dir.write("token", "file-secret-value\n\n");
    ::chmod(p.c_str(), 0640);
    SecretSpec spec{"s", SecretSpec::Source::file, {}, p, {}, SecretKind::key};
    auto r = resolve_secret(spec);
    ASSERT_EQ(r.status, ResolvedSecret::Status::ok);
    EXPECT_EQ(r.value->reveal(), "file-secret-value\n");
    EXPECT_EQ(*r.file_mode, 0640u);
    EXPECT_EQ(*r.file_owner, ::geteuid());

    dir.write("crlf", "abc\r\n");
    spec.file = dir / "crlf";
    EXPECT_EQ(resolve_secret(spec).value->reveal(), "abc");

    dir.write("empty", "\n");
    spec.file = dir / "empty";
    EXPECT_EQ(resolve_secret(spec).status, ResolvedSecret::Status::empty);

    spec.file = dir / "missing";
    r = resolve_secret(spec);
    EXPECT_EQ(r.status, ResolvedSecret::Status::file_missing);
    EXPECT_NE(r.problem.find("missing"), std::string::npos);
}

TEST(Secret, SecretOrValueLooksUpResolvedSecrets) {
    std::map<std::string, ResolvedSecret> resolved;
    resolved["a"].value = Secret("alpha-value");
    EXPECT_EQ(secret_value(SecretOrValue{"a", ""}, resolved)->reveal(), "alpha-value");
    EXPECT_FALSE(secret_value(SecretOrValue{"b", ""}, resolved));
    EXPECT_EQ(secret_value(SecretOrValue{"", "lit"}, resolved)->reveal(), "lit");
    EXPECT_FALSE(secret_value(SecretOrValue{}, resolved));
}

TEST(Redact, MasksRegisteredValuesAndUrlPasswords) {
    register_redaction("registered-canary-42");
    EXPECT_EQ(redact("token is registered-canary-42!"), "token is ***!");
    EXPECT_EQ(redact("postgresql://app:hunter2@db/x failed"), "postgresql://app:***@db/x failed");
    EXPECT_EQ(redact("host=db password=hunter2 dbname=x"), "host=db password=*** dbname=x");
    EXPECT_EQ(redact("nothing here"), "nothing here");
    EXPECT_EQ(redact("url postgresql://app:p@ss/w0rd@db/x here"), "url postgresql://app:***@db/x here");
}

TEST(Redact, EveryUrlAndKeyValueFormIsMasked) {
    EXPECT_EQ(redact("postgres://a:b@h postgresql://c:d@h"), "postgres://a:***@h postgresql://c:***@h");
    EXPECT_EQ(redact("postgresql://app@db/x and postgresql://u:pw@db"), "postgresql://app@db/x and postgresql://u:***@db");
    EXPECT_EQ(redact("postgresql://u:no-at-sign here"), "postgresql://u:no-at-sign here");
    EXPECT_EQ(redact("password = 'quo ted \\' pw' dbname=x"), "password = *** dbname=x");
    EXPECT_EQ(redact("password='unclosed value"), "password=*** value");
    EXPECT_EQ(redact("password= "), "password= ");
    EXPECT_EQ(redact("passwordx=y password=z"), "passwordx=y password=***");
    EXPECT_EQ(redact("password=a password=b"), "password=*** password=***");
}

// A regex recursed once per character here: a long hostile request path (the admin API logs them through
// redact) overflowed the stack (fuzz/crashes/admin_http/regex-stack-overflow-in-redact).
TEST(Redact, LongHostileTextIsLinearWork) {
    std::string quoted = "password='" + std::string(1 << 20, 'x') + "'";
    EXPECT_EQ(redact(quoted), "password=***");
    std::string url = "postgresql://u:" + std::string(1 << 20, '@');
    EXPECT_EQ(redact(url), "postgresql://u:***@");
    std::string many;
    for (int i = 0; i < 20000; ++i) many += "password=";
    EXPECT_EQ(redact(many).substr(0, 12), "password=***");
}

TEST(Secret, FileMustBeARegularFileAndNeverBlocks) {
    test::TempDir dir;
    // A FIFO with no writer: a blocking open would hang here forever.
    auto fifo = dir / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    SecretSpec spec{"s", SecretSpec::Source::file, {}, fifo, {}, SecretKind::token};
    auto r = resolve_secret(spec);
    EXPECT_EQ(r.status, ResolvedSecret::Status::file_unreadable);
    EXPECT_NE(r.problem.find("is not a regular file"), std::string::npos) << r.problem;

    std::filesystem::create_directories(dir / "folder");
    spec.file = dir / "folder";
    EXPECT_NE(resolve_secret(spec).problem.find("is not a regular file"), std::string::npos);

    // A symlink to a regular file is followed (Kubernetes secret volumes are symlinks into ..data/).
    auto target = dir.write("..data/token", "symlinked-secret-value\n");
    std::filesystem::create_symlink(target, dir / "token");
    spec.file = dir / "token";
    r = resolve_secret(spec);
    ASSERT_EQ(r.status, ResolvedSecret::Status::ok) << r.problem;
    EXPECT_EQ(r.value->reveal(), "symlinked-secret-value");
}
