// A service's environment: the fixed base, secret and database references, and what never leaks in.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "core/service_env.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

namespace {

Spec spec_with_service(const std::string& env_yaml) {
    return parse_spec(
        "version: 1\nname: chat\nenvironment: development\n"
        "database: { url: 'postgresql://app@127.0.0.1/chat' }\n"
        "secrets: { jwt: { value: 'q8Zp3vR7wK2mN9xT4bL6yH1cF5dJ0sAe' } }\n"
        "services:\n  api:\n    command: [/bin/true]\n    env: " +
            env_yaml + "\n",
        "/srv/chat/steward.yaml", [](const std::string&) { return std::nullopt; });
}

}  // namespace

TEST(ServiceEnv, BaseHasPathLangHomeUserAndNothingOfStewards) {
    ::setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
    ::setenv("WATCHDOG_USEC", "1000000", 1);
    ::setenv("STEWARD_PRIVATE", "x", 1);
    Spec spec = spec_with_service("{ MODE: prod }");
    auto env = resolve_service_env(spec, spec.services[0], resolve_secrets(spec), "postgresql://app@h/chat");
    auto m = env.to_map();
    for (const char* key : {"PATH", "LANG", "HOME", "USER"}) EXPECT_TRUE(m.count(key)) << key;
    for (const char* key : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "LISTEN_FDS", "STEWARD_PRIVATE"})
        EXPECT_FALSE(m.count(key)) << key;
    EXPECT_EQ(m["MODE"], "prod");
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("STEWARD_PRIVATE");
}

TEST(ServiceEnv, SecretAndDatabaseReferencesAreFilledInAndMarkedSecret) {
    Spec spec = spec_with_service("{ JWT_SECRET_KEY: 'secret:jwt', DATABASE_URL: 'database:url' }");
    auto env =
        resolve_service_env(spec, spec.services[0], resolve_secrets(spec), "postgresql://app:pw@h/chat");
    ASSERT_TRUE(env.ok());
    const auto* jwt = env.find("JWT_SECRET_KEY");
    ASSERT_NE(jwt, nullptr);
    EXPECT_EQ(jwt->value, "q8Zp3vR7wK2mN9xT4bL6yH1cF5dJ0sAe");
    EXPECT_TRUE(jwt->secret);
    EXPECT_EQ(jwt->origin, "services.api.env.JWT_SECRET_KEY");
    const auto* db = env.find("DATABASE_URL");
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->value, "postgresql://app:pw@h/chat");
    EXPECT_TRUE(db->secret);
}

TEST(ServiceEnv, AnUnresolvedSecretIsAProblemAndLeftOut) {
    Spec spec = spec_with_service("{ JWT_SECRET_KEY: 'secret:jwt' }");
    std::map<std::string, ResolvedSecret> none;
    ResolvedSecret missing;
    missing.name = "jwt";
    missing.status = ResolvedSecret::Status::env_unset;
    missing.problem = "environment variable JWT is not set";
    none["jwt"] = missing;
    auto env = resolve_service_env(spec, spec.services[0], none, "");
    EXPECT_FALSE(env.ok());
    EXPECT_EQ(env.find("JWT_SECRET_KEY"), nullptr);
    ASSERT_EQ(env.problems.size(), 1u);
    EXPECT_NE(env.problems[0].find("JWT is not set"), std::string::npos);
}

TEST(ServiceEnv, UserSetsHomeAndUserOfThatAccount) {
    Spec spec = spec_with_service("{}");
    spec.services[0].user = "nobody";
    auto m = service_base_env(spec.services[0]);
    EXPECT_EQ(m["USER"], "nobody");
    EXPECT_EQ(m["HOME"], "/nonexistent");
}

TEST(ServiceEnv, SettingsReferencesCarryTheSpecsValues) {
    Spec spec = spec_with_service(
        "{ CORS_ORIGINS: 'security:cors_origins', REQUIRE_AUTHENTICATION: 'security:require_auth', "
        "DEBUG: 'security:debug', COOKIE_SECURE: 'security:cookie_secure', "
        "RATE_LIMIT: 'security:rate_limit_per_minute', ENVIRONMENT: 'spec:environment', "
        "BASE_URL: 'security:base_url' }");
    spec.security.cors_origins = {"https://app.example.com", "https://admin.example.com"};
    spec.security.debug = false;
    spec.security.rate_limit_per_minute = 60;
    spec.security.base_url = "https://chat.example.com";
    auto env = resolve_service_env(spec, spec.services[0], resolve_secrets(spec), "");
    ASSERT_TRUE(env.ok()) << env.problems[0];
    auto m = env.to_map();
    EXPECT_EQ(m["CORS_ORIGINS"], "https://app.example.com,https://admin.example.com");
    EXPECT_EQ(m["REQUIRE_AUTHENTICATION"], "true");
    EXPECT_EQ(m["DEBUG"], "false");
    EXPECT_EQ(m["COOKIE_SECURE"], "true");
    EXPECT_EQ(m["RATE_LIMIT"], "60");
    EXPECT_EQ(m["ENVIRONMENT"], "development");
    EXPECT_EQ(m["BASE_URL"], "https://chat.example.com");
    EXPECT_EQ(env.find("DEBUG")->source, ServiceEnvVar::Source::setting);
    EXPECT_FALSE(env.find("DEBUG")->secret);

    spec.security.base_url.reset();  // referenced but unset: the service would get nothing it expects
    env = resolve_service_env(spec, spec.services[0], resolve_secrets(spec), "");
    ASSERT_EQ(env.problems.size(), 1u);
    EXPECT_NE(env.problems[0].find("security:base_url is not set"), std::string::npos);
}

TEST(ServiceEnv, AnUnsetOptionalSecretIsLeftOut) {
    Spec spec = spec_with_service("{ ANTHROPIC_API_KEY: 'secret:jwt' }");
    SecretSpec& s = spec.secrets[0];  // seed 000's optional key: the service runs without it
    s.source = SecretSpec::Source::env;
    s.env = "STEWARD_TEST_UNSET_ANTHROPIC";
    s.kind = SecretKind::key;
    s.optional = true;
    ::unsetenv("STEWARD_TEST_UNSET_ANTHROPIC");
    auto env = resolve_service_env(spec, spec.services[0], resolve_secrets(spec), "");
    EXPECT_TRUE(env.ok()) << env.problems[0];
    EXPECT_EQ(env.find("ANTHROPIC_API_KEY"), nullptr);
    ASSERT_EQ(env.left_out.size(), 1u);
    EXPECT_EQ(env.left_out[0], "services.api.env.ANTHROPIC_API_KEY");
    ::setenv("STEWARD_TEST_UNSET_ANTHROPIC", "sk-ant-provided-value", 1);
    env = resolve_service_env(spec, spec.services[0], resolve_secrets(spec), "");
    EXPECT_EQ(env.to_map()["ANTHROPIC_API_KEY"], "sk-ant-provided-value");
    ::unsetenv("STEWARD_TEST_UNSET_ANTHROPIC");
}

TEST(ServiceEnv, EnvFileIsLoadedAndEnvWins) {
    test::TempDir dir;
    auto file = dir.write("app.env", "# the app's settings\nexport DEBUG=False\nMODE=file\nLOG_LEVEL=INFO\n");
    Spec spec = spec_with_service("{ MODE: spec }");
    spec.services[0].env_file = file;
    auto env = resolve_service_env(spec, spec.services[0], resolve_secrets(spec), "");
    ASSERT_TRUE(env.ok());
    auto m = env.to_map();
    EXPECT_EQ(m["DEBUG"], "False");
    EXPECT_EQ(m["LOG_LEVEL"], "INFO");
    EXPECT_EQ(m["MODE"], "spec");
    EXPECT_EQ(env.find("DEBUG")->source, ServiceEnvVar::Source::env_file);
    EXPECT_EQ(env.find("DEBUG")->line, 2);
    EXPECT_EQ(env.find("DEBUG")->origin, "services.api.env_file");

    EXPECT_TRUE(resolve_service_env(spec, spec.services[0], {}, "", {false}).find("DEBUG") == nullptr)
        << "--lint reads no env file";
    spec.services[0].env_file = dir / "missing.env";
    env = resolve_service_env(spec, spec.services[0], {}, "");
    EXPECT_FALSE(env.ok());
    ASSERT_EQ(env.env_file_errors.size(), 1u);
    EXPECT_NE(env.env_file_errors[0].find("missing.env"), std::string::npos);
}

TEST(EnvFile, ParsesAsSystemdAndDockerWriteIt) {
    auto f = parse_env_file(
        "# comment\n; also a comment\n\nA=1\nexport B = two words \nC=\"quoted # not a comment\"\n"
        "D='single'\nE=value # trailing comment\nF=\nG=x=y\nnot a line\n1BAD=x\nH=\"esc\\\"aped\"\n",
        "app.env");
    std::map<std::string, std::string> m;
    for (const auto& e : f.entries) m[e.name] = e.value;
    EXPECT_EQ(m["A"], "1");
    EXPECT_EQ(m["B"], "two words");
    EXPECT_EQ(m["C"], "quoted # not a comment");
    EXPECT_EQ(m["D"], "single");
    EXPECT_EQ(m["E"], "value");
    EXPECT_EQ(m["F"], "");
    EXPECT_EQ(m["G"], "x=y");
    EXPECT_EQ(m["H"], "esc\"aped");
    EXPECT_EQ(f.entries.front().line, 4);
    ASSERT_EQ(f.errors.size(), 2u);
    EXPECT_EQ(f.errors[0], "app.env:11: expected KEY=VALUE");
    EXPECT_EQ(f.errors[1], "app.env:12: expected KEY=VALUE");
}

TEST(EnvFile, AFifoIsAnErrorNotAHang) {
    test::TempDir dir;
    ASSERT_EQ(::mkfifo((dir / "env").c_str(), 0600), 0);
    auto f = read_env_file(dir / "env");
    ASSERT_EQ(f.errors.size(), 1u);
    EXPECT_NE(f.errors[0].find("not a regular file"), std::string::npos);
}
