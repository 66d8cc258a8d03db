// The chat API binary's start: exit 2 with a clear message for every missing or malformed setting.
#include <gtest/gtest.h>

#include "tests/examples/chat_api_harness.hpp"

using namespace chat_test;

namespace {
const std::map<std::string, std::string> kComplete = {
    {"DATABASE_URL", "postgresql://chat@127.0.0.1:1/chat"},
    {"JWT_SECRET_KEY", "startup-secret-value"},
    {"PORT", "1"},
};
}  // namespace

TEST(ChatApiStartup, MissingOrMalformedSettingsExitTwoNamingTheSetting) {
    struct Case {
        std::string name;
        std::map<std::string, std::string> env;
        std::vector<std::string> args;
        std::string expect;
    };
    auto without = [](const std::string& key) {
        auto e = kComplete;
        e.erase(key);
        return e;
    };
    auto with = [](const std::string& key, const std::string& value) {
        auto e = kComplete;
        e[key] = value;
        return e;
    };
    const std::vector<Case> cases = {
        {"no DATABASE_URL", without("DATABASE_URL"), {}, "DATABASE_URL is not set"},
        {"no JWT_SECRET_KEY", without("JWT_SECRET_KEY"), {}, "JWT_SECRET_KEY is not set"},
        {"empty JWT_SECRET_KEY", with("JWT_SECRET_KEY", ""), {}, "JWT_SECRET_KEY is not set"},
        {"no PORT", without("PORT"), {}, "PORT is not set"},
        {"bad PORT", with("PORT", "http"), {}, "PORT must be a port number"},
        {"bad --port", kComplete, {"--port", "70000"}, "--port must be a port number"},
        {"bad REQUIRE_AUTH", with("REQUIRE_AUTH", "sometimes"), {}, "REQUIRE_AUTH must be true or false"},
        {"bad CORS_ORIGINS", with("CORS_ORIGINS", "app.example.com"), {}, "CORS_ORIGINS"},
        {"unknown flag", kComplete, {"--host", "0.0.0.0"}, "unknown argument '--host'"},
        {"bad DATABASE_URL",
         with("DATABASE_URL", "postgresql://u:startup-secret-value@h/db?nonsense=1"),
         {},
         "DATABASE_URL is not a valid PostgreSQL connection string"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto r = run_chat_api(c.env, c.args);
        EXPECT_EQ(r.status, 2) << r.out << r.err;
        EXPECT_NE(r.err.find("chat-api: " + c.expect), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("usage: chat-api"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("startup-secret-value"), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find("startup-secret-value"), std::string::npos) << r.out;
    }
}

TEST(ChatApiStartup, HelpExitsZero) {
    auto r = run_chat_api({}, {"--help"});
    EXPECT_EQ(r.status, 0);
    for (const char* name : {"DATABASE_URL", "JWT_SECRET_KEY", "REQUIRE_AUTH", "CORS_ORIGINS", "PORT"})
        EXPECT_NE(r.out.find(name), std::string::npos) << name;
}
