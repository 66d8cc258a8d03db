// A service's environment: the fixed base, secret and database references, and what never leaks in.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/service_env.hpp"

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
