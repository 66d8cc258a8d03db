// Unit tests of the chat API's configuration: environment, --port, and clear errors.
#include <gtest/gtest.h>

#include "examples/chat/config.hpp"

using namespace chat;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional(it->second);
    };
}

const std::map<std::string, std::string> kComplete = {
    {"DATABASE_URL", "postgresql://chat:pw@127.0.0.1:5432/chat"},
    {"JWT_SECRET_KEY", "k"},
    {"PORT", "8000"},
};

std::string error_of(std::map<std::string, std::string> vars, std::vector<std::string> args = {}) {
    try {
        load_config(env_of(std::move(vars)), args);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ChatConfig, ParseBoolAcceptsTheUsualSpellingsInAnyCase) {
    for (const char* t : {"1", "true", "TRUE", "Yes", "on", " On "}) EXPECT_EQ(parse_bool(t), true) << t;
    for (const char* f : {"0", "false", "False", "NO", "off"}) EXPECT_EQ(parse_bool(f), false) << f;
    for (const char* bad : {"", "2", "enabled", "truthy", "y"})
        EXPECT_EQ(parse_bool(bad), std::nullopt) << bad;
}

TEST(ChatConfig, CompleteEnvironmentWithDefaults) {
    auto c = load_config(env_of(kComplete), {});
    EXPECT_EQ(c.port, 8000);
    EXPECT_TRUE(c.require_auth);  // secure by default
    EXPECT_TRUE(c.cors_origins.empty());
    EXPECT_EQ(c.jwt_secret, "k");
}

TEST(ChatConfig, PortFlagOverridesEnvironment) {
    EXPECT_EQ(load_config(env_of(kComplete), {"--port", "9001"}).port, 9001);
    EXPECT_EQ(load_config(env_of(kComplete), {"--port=9002"}).port, 9002);
    auto no_port = kComplete;
    no_port.erase("PORT");
    EXPECT_EQ(load_config(env_of(no_port), {"--port", "9003"}).port, 9003);
}

TEST(ChatConfig, MissingSettingsAreNamed) {
    auto v = kComplete;
    v.erase("DATABASE_URL");
    EXPECT_EQ(error_of(v), "DATABASE_URL is not set");
    v = kComplete;
    v.erase("JWT_SECRET_KEY");
    EXPECT_EQ(error_of(v), "JWT_SECRET_KEY is not set (required while REQUIRE_AUTH is true)");
    v = kComplete;
    v.erase("PORT");
    EXPECT_EQ(error_of(v), "PORT is not set (or pass --port N)");
}

TEST(ChatConfig, SecretIsOptionalWithoutAuth) {
    auto v = kComplete;
    v.erase("JWT_SECRET_KEY");
    v["REQUIRE_AUTH"] = "false";
    auto c = load_config(env_of(v), {});
    EXPECT_FALSE(c.require_auth);
    EXPECT_TRUE(c.jwt_secret.empty());
}

TEST(ChatConfig, MalformedValuesAreRefused) {
    auto v = kComplete;
    v["REQUIRE_AUTH"] = "maybe";
    EXPECT_NE(error_of(v).find("REQUIRE_AUTH must be true or false"), std::string::npos);
    for (const char* port : {"0", "65536", "80x", "-1", " 80"}) {
        v = kComplete;
        v["PORT"] = port;
        EXPECT_NE(error_of(v).find("PORT must be a port number"), std::string::npos) << port;
    }
    EXPECT_EQ(error_of(kComplete, {"--port"}), "--port needs a value");
    EXPECT_EQ(error_of(kComplete, {"--verbose"}), "unknown argument '--verbose'");
}

TEST(ChatConfig, MalformedDatabaseUrlErrorDoesNotQuoteIt) {
    auto v = kComplete;
    v["DATABASE_URL"] = "postgresql://chat:Sup3rSecretPw%zz@db/chat?bogus_option=Sup3rSecretPw";
    auto error = error_of(v);
    EXPECT_EQ(error, "DATABASE_URL is not a valid PostgreSQL connection string");
    EXPECT_EQ(error.find("Sup3rSecretPw"), std::string::npos);
}

TEST(ChatConfig, ErrorsNeverContainTheJwtSecret) {
    auto v = kComplete;
    v["JWT_SECRET_KEY"] = "TopSecretJwtKey";
    v["PORT"] = "nope";
    EXPECT_EQ(error_of(v).find("TopSecretJwtKey"), std::string::npos);
}

TEST(ChatConfig, CorsOriginsAreSplitTrimmedAndChecked) {
    EXPECT_EQ(parse_origins("https://a.example.com, http://localhost:3000/ ,,"),
              (std::vector<std::string>{"https://a.example.com", "http://localhost:3000"}));
    EXPECT_EQ(parse_origins("*"), (std::vector<std::string>{"*"}));
    EXPECT_TRUE(parse_origins("").empty());
    for (const char* bad : {"a.example.com", "ftp://x", "https://", "https://x/path", "https://u@x"})
        EXPECT_THROW(parse_origins(bad), ConfigError) << bad;
}
