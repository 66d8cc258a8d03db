// The gate judges what reaches the app: services.*.env literals, their env_file and `check --env-file`,
// recognised by variable name and held to the same rules and severities as the spec's security: section.
#include <gtest/gtest.h>

#include "checks/gate.hpp"
#include "checks/rule.hpp"
#include "tests/checks/fixtures.hpp"

namespace steward::checks::test {
namespace {

std::vector<std::string> ids(const std::vector<Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) out.push_back(f.id);
    return out;
}

bool has_id(const std::vector<Finding>& findings, const std::string& id) {
    return !with_id(findings, id).empty();
}

void set_env(World& w, const std::string& var, const std::string& value) {
    w.spec.services[0].env[var] = {EnvValue::Kind::literal, value};
}

// An env file the way resolve_service_env hands it to the gate: variables with their lines.
void set_env_file(World& w, const std::vector<EnvFileEntry>& entries) {
    w.spec.services[0].env_file = "/etc/chat/env";
    ServiceEnvironment env;
    for (const auto& e : entries)
        env.vars.push_back(
            {e.name, e.value, ServiceEnvVar::Source::env_file, "services.chat-api.env_file", false, e.line});
    w.facts.service_envs["chat-api"] = env;
}

TEST(EnvSettings, VariablesAreRecognisedByName) {
    const std::vector<std::pair<const char*, EnvSetting>> cases = {
        {"DEBUG", EnvSetting::debug},
        {"debug", EnvSetting::debug},
        {"FLASK_DEBUG", EnvSetting::debug},
        {"DJANGO_DEBUG", EnvSetting::debug},
        {"DEBUG_MODE", EnvSetting::debug},
        {"APP_DEBUG", EnvSetting::debug},
        {"CHAT_API_DEBUG", EnvSetting::debug},
        {"ENVIRONMENT", EnvSetting::environment},
        {"APP_ENV", EnvSetting::environment},
        {"NODE_ENV", EnvSetting::environment},
        {"ENV", EnvSetting::environment},
        {"PYTHON_ENV", EnvSetting::environment},
        {"REQUIRE_AUTHENTICATION", EnvSetting::require_auth},
        {"require_auth", EnvSetting::require_auth},
        {"AUTH_ENABLED", EnvSetting::auth_enabled},
        {"API_AUTH_DISABLED", EnvSetting::auth_disabled},
        {"CORS_ORIGINS", EnvSetting::cors_origins},
        {"APP_CORS_ORIGINS", EnvSetting::cors_origins},
        {"ALLOWED_ORIGINS", EnvSetting::cors_origins},
        {"SESSION_COOKIE_SECURE", EnvSetting::cookie_secure},
        {"SECURE_COOKIES", EnvSetting::cookie_secure},
        {"BASE_URL", EnvSetting::base_url},
        {"APP_BASE_URL", EnvSetting::base_url},
        {"RATE_LIMIT_PER_MINUTE", EnvSetting::rate_limit},
        {"RATE_LIMIT_ENABLED", EnvSetting::rate_limit},
        {"LOG_LEVEL", EnvSetting::log_level},
        {"UVICORN_LOG_LEVEL", EnvSetting::log_level},
        // Not the app's own settings.
        {"DEBUGGER_PATH", EnvSetting::none},
        {"LM_STUDIO_BASE_URL", EnvSetting::none},
        {"VIRTUAL_ENV", EnvSetting::none},
        {"DATABASE_URL", EnvSetting::none},
        {"LM_STUDIO_MAX_TOKENS", EnvSetting::none},
    };
    for (const auto& [var, setting] : cases) EXPECT_EQ(env_setting(var, "chat-api"), setting) << var;
}

TEST(EnvSettings, TrueAndFalseAsAppsReadThem) {
    for (const char* v : {"1", "true", "True", "TRUE", "yes", "Yes", "on", "ON"})
        EXPECT_EQ(env_flag(v), true) << v;
    for (const char* v : {"0", "false", "False", "FALSE", "no", "NO", "off", "Off"})
        EXPECT_EQ(env_flag(v), false) << v;
    for (const char* v : {"", "maybe", "2", "enabled"}) EXPECT_EQ(env_flag(v), std::nullopt) << v;
}

// The trial's misses: a production spec whose security: is clean but whose service env says otherwise.
TEST(ServiceEnvRules, TrialMissesInServiceEnvFailProduction) {
    World w = good_world(Environment::production);
    ASSERT_TRUE(gate_passes(w.run()));
    set_env(w, "DEBUG", "True");
    set_env(w, "CORS_ORIGINS", "*");
    set_env(w, "REQUIRE_AUTHENTICATION", "false");
    set_env(w, "ENVIRONMENT", "development");
    auto found = w.run();
    EXPECT_FALSE(gate_passes(found));
    for (const char* id : {"security.debug_enabled", "security.cors_wildcard", "security.auth_disabled",
                           "security.app_environment"}) {
        auto f = with_id(found, id);
        ASSERT_EQ(f.size(), 1u) << id;
        EXPECT_EQ(f[0].severity, Severity::error) << id;
        EXPECT_EQ(f[0].path.rfind("services.chat-api.env.", 0), 0u) << f[0].path;
        EXPECT_TRUE(f[0].file.empty());
    }
    EXPECT_NE(with_id(found, "security.debug_enabled")[0].hint.find("\"security:debug\""), std::string::npos);
    EXPECT_NE(with_id(found, "security.app_environment")[0].message.find("ENVIRONMENT=development"),
              std::string::npos);
}

TEST(ServiceEnvRules, SafeValuesAndSettingReferencesPass) {
    World w = good_world(Environment::production);
    set_env(w, "DEBUG", "False");
    set_env(w, "CORS_ORIGINS", "https://app.example.com,https://admin.example.com");
    set_env(w, "REQUIRE_AUTHENTICATION", "true");
    set_env(w, "ENVIRONMENT", "production");
    set_env(w, "AUTH_DISABLED", "0");
    set_env(w, "LOG_LEVEL", "INFO");
    set_env(w, "RATE_LIMIT_PER_MINUTE", "60");
    w.spec.services[0].env["APP_BASE_URL"] = {EnvValue::Kind::setting, "security:base_url"};
    EXPECT_TRUE(w.run().empty()) << ids(w.run()).size();
}

TEST(ServiceEnvRules, DevelopmentOnlyWarns) {
    World w = good_world(Environment::development);
    set_env(w, "DEBUG", "1");
    auto found = with_id(w.run(), "security.debug_enabled");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].severity, Severity::warning);
    set_env(w, "ENVIRONMENT", "development");
    EXPECT_FALSE(has_id(w.run(), "security.app_environment"));
}

TEST(ServiceEnvRules, EveryRecognisedSettingIsJudged) {
    const std::vector<std::tuple<const char*, const char*, const char*>> cases = {
        {"FLASK_DEBUG", "1", "security.debug_enabled"},
        {"AUTH_ENABLED", "no", "security.auth_disabled"},
        {"API_AUTH_DISABLED", "true", "security.auth_disabled"},
        {"ALLOWED_ORIGINS", "[\"https://a.example.com\", \"http://b.example.com\"]",
         "security.cors_http_origin"},
        {"SESSION_COOKIE_SECURE", "False", "security.cookie_insecure"},
        {"APP_BASE_URL", "http://chat.example.com", "security.base_url_not_https"},
        {"RATE_LIMIT_PER_MINUTE", "0", "security.no_rate_limit"},
        {"RATE_LIMIT_ENABLED", "off", "security.no_rate_limit"},
        {"NODE_ENV", "dev", "security.app_environment"},
        {"LOG_LEVEL", "debug", "operations.debug_logging"},
    };
    for (const auto& [var, value, id] : cases) {
        World w = good_world(Environment::production);
        set_env(w, var, value);
        auto found = with_id(w.run(), id);
        ASSERT_EQ(found.size(), 1u) << var << "=" << value;
        EXPECT_EQ(found[0].path, std::string("services.chat-api.env.") + var);
    }
}

TEST(ServiceEnvRules, EnvFileVariablesNameTheFileAndLine) {
    World w = good_world(Environment::production);
    set_env_file(w, {{"APP_ENV", "production", 1}, {"DEBUG", "True", 2}, {"CORS_ORIGINS", "*", 4}});
    auto found = w.run();
    auto debug = with_id(found, "security.debug_enabled");
    ASSERT_EQ(debug.size(), 1u);
    EXPECT_EQ(debug[0].path, "services.chat-api.env_file");
    EXPECT_EQ(debug[0].file, "/etc/chat/env");
    EXPECT_EQ(debug[0].line, 2);
    EXPECT_NE(debug[0].hint.find("DEBUG=false in /etc/chat/env"), std::string::npos) << debug[0].hint;
    ASSERT_EQ(with_id(found, "security.cors_wildcard").size(), 1u);
    EXPECT_EQ(with_id(found, "security.cors_wildcard")[0].line, 4);
    EXPECT_FALSE(has_id(found, "security.app_environment"));
}

TEST(ServiceEnvRules, CheckEnvFileIsJudgedToo) {
    World w = good_world(Environment::production);
    w.facts.env_file = EnvFileFacts{"/etc/chat/env",
                                    {{"DEBUG", "True", 1},
                                     {"CORS_ORIGINS", "*", 2},
                                     {"REQUIRE_AUTHENTICATION", "false", 3},
                                     {"ENVIRONMENT", "development", 4}},
                                    {}};
    auto found = w.run();
    EXPECT_FALSE(gate_passes(found));
    for (const char* id : {"security.debug_enabled", "security.cors_wildcard", "security.auth_disabled",
                           "security.app_environment"}) {
        auto f = with_id(found, id);
        ASSERT_EQ(f.size(), 1u) << id;
        EXPECT_EQ(f[0].path, "env_file");
        EXPECT_EQ(f[0].file, "/etc/chat/env");
        EXPECT_GT(f[0].line, 0);
    }
}

TEST(ServiceEnvRules, SecretsInAnEnvFileGetTheSecretRules) {
    const std::vector<std::pair<std::string, const char*>> cases = {
        {"short", "secret.too_short"},
        {"changeme-please-replace-this-value-now", "secret.placeholder"},
        {"your-secret-key-here", "secret.published_default"},
        {"abcabcabcabcabcabcabcabcabcabcabcabc", "secret.low_entropy"},
    };
    for (const auto& [value, id] : cases) {
        World w = good_world(Environment::production);
        set_env_file(w, {{"SECRET_KEY", value, 3}});
        auto f = with_id(w.run(), id);
        ASSERT_EQ(f.size(), 1u) << value;
        EXPECT_EQ(f[0].line, 3);
        EXPECT_EQ(f[0].message.find(value), std::string::npos) << "the value is never echoed";
    }
    for (const std::string& fine : {std::string(kJwt), std::string("${JWT_SECRET_KEY}")}) {
        World w = good_world(Environment::production);
        set_env_file(w, {{"JWT_SECRET_KEY", fine, 1}});
        EXPECT_TRUE(w.run().empty()) << fine;
    }
    World w = good_world(Environment::production);  // seed 004's env file
    set_env_file(
        w, {{"DATABASE_URL", "postgresql://memory_user:secure_password@localhost:5432/memory_system", 5}});
    auto f = with_id(w.run(), "database.weak_password");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].line, 5);
}

}  // namespace
}  // namespace steward::checks::test
