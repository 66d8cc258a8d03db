// examples/chat/make-token: the demo's token minting script, checked with libjwt and the real API.
#include <gtest/gtest.h>
#include <jwt.h>

#include "core/process.hpp"
#include "examples/chat/token.hpp"
#include "tests/examples/chat_api_harness.hpp"
#include "tests/support/steward_process.hpp"

using namespace chat_test;

namespace {

steward::ProcessResult make_token(const std::map<std::string, std::string>& env,
                                  const std::vector<std::string>& args) {
    steward::ProcessOptions o;
    o.argv = {std::string(steward::test::source_dir()) + "/examples/chat/make-token"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = env;
    if (const char* path = std::getenv("PATH")) o.env.emplace("PATH", path);
    o.inherit_env = false;
    return steward::run_process(o, std::chrono::seconds(30));
}

std::string token_line(const steward::ProcessResult& r) {
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(!r.out.empty() && r.out.back() == '\n') << r.out;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
}

}  // namespace

// Keys of every shape: short, exactly one HMAC block, longer than a block (hashed first), odd bytes.
TEST(MakeToken, TokensVerifyWithLibjwtForKeysOfEveryShape) {
    for (const std::string& key :
         {std::string("short-k1"), std::string(64, 'B'), std::string(200, 'z') + "tail",
          std::string("p%s\\x41 \xc3\xbc \"q\"\\n$(id)`id`")}) {
        SCOPED_TRACE(key.size());
        auto now = unix_now();
        auto r = make_token({{"JWT_SECRET_KEY", key}}, {"demo-user@example.com"});
        auto token = token_line(r);
        auto check = chat::verify_token(token, key, now);
        EXPECT_TRUE(check.ok) << check.error << " token " << token;
        EXPECT_EQ(check.subject, "demo-user@example.com");
        EXPECT_FALSE(chat::verify_token(token, key + "x", now).ok);
        EXPECT_EQ(r.out.find(key), std::string::npos);
        EXPECT_EQ(r.err.find(key), std::string::npos);

        jwt_t* jwt = nullptr;
        ASSERT_EQ(jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                             static_cast<int>(key.size())),
                  0);
        EXPECT_EQ(jwt_get_alg(jwt), JWT_ALG_HS256);
        long exp = jwt_get_grant_int(jwt, "exp");
        EXPECT_GE(exp, now + 3600);
        EXPECT_LE(exp, unix_now() + 3600);
        jwt_free(jwt);
    }
}

TEST(MakeToken, MissingKeyOrBadSubjectExitTwo) {
    auto no_key = make_token({}, {"alice"});
    EXPECT_EQ(no_key.status, 2);
    EXPECT_NE(no_key.err.find("JWT_SECRET_KEY is not set"), std::string::npos) << no_key.err;
    EXPECT_TRUE(no_key.out.empty());

    const std::vector<std::vector<std::string>> bad_args = {
        {}, {"a", "b"}, {"bad\"subject"}, {"with space"}, {std::string(129, 'a')}, {""}, {"$(id)"}};
    for (const auto& args : bad_args) {
        auto r = make_token({{"JWT_SECRET_KEY", "make-token-secret"}}, args);
        EXPECT_EQ(r.status, 2) << r.out;
        EXPECT_TRUE(r.out.empty()) << r.out;
        EXPECT_EQ(r.err.find("make-token-secret"), std::string::npos);
    }
}

TEST(MakeToken, TokenIsAcceptedByTheRunningChatApi) {
    const std::string key = "make-token-integration-secret-0123456789";
    ChatApiProcess api({{"DATABASE_URL", "postgresql://127.0.0.1:1/none"}, {"JWT_SECRET_KEY", key}});
    ASSERT_TRUE(api.wait_health(503));
    auto token = token_line(make_token({{"JWT_SECRET_KEY", key}}, {"demo"}));
    // The database is down: a 503 shows the token passed authentication (a bad one is 401).
    auto r = http_request(api.port(), "GET", "/api/history", {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(r.status, 503) << r.body;
    auto forged = token_line(make_token({{"JWT_SECRET_KEY", key + "-other"}}, {"demo"}));
    EXPECT_EQ(http_request(api.port(), "GET", "/api/history", {{"Authorization", "Bearer " + forged}}).status,
              401);
}
