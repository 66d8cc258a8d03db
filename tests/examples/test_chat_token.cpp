// Unit tests of the chat API's token checks: libjwt's signature check plus our algorithm and claims.
#include <gtest/gtest.h>

#include "examples/chat/token.hpp"
#include "tests/examples/chat_api_harness.hpp"

using namespace chat;
using chat_test::sign_token;

namespace {

const std::string kKey = "unit-test-key-0123456789abcdef0123456789";
const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";
const std::int64_t kNow = 1'900'000'000;

std::string payload(const std::string& claims) { return "{" + claims + "}"; }

}  // namespace

TEST(ChatToken, AcceptsHs256WithFutureExpAndReturnsSubject) {
    auto check = verify_token(chat_test::libjwt_token("alice", kNow + 60, kKey), kKey, kNow);
    EXPECT_TRUE(check.ok) << check.error;
    EXPECT_EQ(check.subject, "alice");
}

TEST(ChatToken, AcceptsTokenWithoutTypAndWithFractionalExp) {
    auto check = verify_token(
        sign_token(R"({"alg":"HS256"})", payload(R"("sub":"a","exp":1900000060.5)"), kKey), kKey, kNow);
    EXPECT_TRUE(check.ok) << check.error;
}

TEST(ChatToken, RejectsWrongKey) {
    auto check = verify_token(chat_test::libjwt_token("alice", kNow + 60, "another-key"), kKey, kNow);
    EXPECT_FALSE(check.ok);
    EXPECT_TRUE(check.subject.empty());
}

TEST(ChatToken, RejectsTamperedPayload) {
    auto token = chat_test::libjwt_token("alice", kNow + 60, kKey);
    auto first = token.find('.'), second = token.rfind('.');
    auto forged = token.substr(0, first + 1) +
                  chat_test::base64url(payload(R"("sub":"admin","exp":1900000060)")) + token.substr(second);
    EXPECT_FALSE(verify_token(forged, kKey, kNow).ok);
}

TEST(ChatToken, RejectsAlgNone) {
    auto input = chat_test::base64url(R"({"alg":"none","typ":"JWT"})") + "." +
                 chat_test::base64url(payload(R"("sub":"eve","exp":1900000060)"));
    EXPECT_FALSE(verify_token(input + ".", kKey, kNow).ok);
    EXPECT_FALSE(verify_token(input, kKey, kNow).ok);
}

// libjwt verifies HS384/HS512 with the same key: only our algorithm check refuses them.
TEST(ChatToken, RejectsOtherHmacAlgorithmsSignedWithTheRightKey) {
    auto claims = payload(R"("sub":"alice","exp":1900000060)");
    auto hs512 =
        verify_token(sign_token(R"({"alg":"HS512","typ":"JWT"})", claims, kKey, "SHA512"), kKey, kNow);
    EXPECT_FALSE(hs512.ok);
    EXPECT_EQ(hs512.error, "algorithm is not HS256");
    EXPECT_FALSE(
        verify_token(sign_token(R"({"alg":"HS384","typ":"JWT"})", claims, kKey, "SHA384"), kKey, kNow).ok);
}

TEST(ChatToken, RejectsRsaAlgorithmNames) {
    auto claims = payload(R"("sub":"alice","exp":1900000060)");
    EXPECT_FALSE(verify_token(sign_token(R"({"alg":"RS256","typ":"JWT"})", claims, kKey), kKey, kNow).ok);
}

TEST(ChatToken, RequiresExp) {
    auto check = verify_token(sign_token(kHeader, payload(R"("sub":"alice")"), kKey), kKey, kNow);
    EXPECT_FALSE(check.ok);
    EXPECT_EQ(check.error, "token has no numeric exp claim");
    EXPECT_FALSE(
        verify_token(sign_token(kHeader, payload(R"("sub":"a","exp":"1900000060")"), kKey), kKey, kNow).ok);
    EXPECT_FALSE(verify_token(sign_token(kHeader, payload(R"("sub":"a","exp":null)"), kKey), kKey, kNow).ok);
}

TEST(ChatToken, RejectsExpiredAndExpEqualToNow) {
    EXPECT_FALSE(verify_token(chat_test::libjwt_token("alice", kNow - 1, kKey), kKey, kNow).ok);
    auto at_now = verify_token(chat_test::libjwt_token("alice", kNow, kKey), kKey, kNow);
    EXPECT_FALSE(at_now.ok);
    EXPECT_EQ(at_now.error, "token expired");
}

TEST(ChatToken, HonoursNbf) {
    auto future = sign_token(kHeader, payload(R"("sub":"a","exp":1900000060,"nbf":1900000030)"), kKey);
    EXPECT_FALSE(verify_token(future, kKey, kNow).ok);
    EXPECT_TRUE(verify_token(future, kKey, kNow + 30).ok);
    EXPECT_FALSE(verify_token(sign_token(kHeader, payload(R"("sub":"a","exp":1900000060,"nbf":"x")"), kKey),
                              kKey, kNow)
                     .ok);
}

TEST(ChatToken, RequiresStringSubjectWithoutControlCharacters) {
    for (const char* claims : {R"("exp":1900000060)", R"("sub":"","exp":1900000060)",
                               R"("sub":42,"exp":1900000060)", R"("sub":"a\nb","exp":1900000060)"}) {
        SCOPED_TRACE(claims);
        EXPECT_FALSE(verify_token(sign_token(kHeader, payload(claims), kKey), kKey, kNow).ok);
    }
    std::string long_sub(256, 'x');
    EXPECT_FALSE(verify_token(chat_test::libjwt_token(long_sub, kNow + 60, kKey), kKey, kNow).ok);
}

TEST(ChatToken, RejectsCriticalHeaderExtensions) {
    auto token = sign_token(R"({"alg":"HS256","typ":"JWT","crit":["x"],"x":1})",
                            payload(R"("sub":"a","exp":1900000060)"), kKey);
    EXPECT_FALSE(verify_token(token, kKey, kNow).ok);
}

TEST(ChatToken, RejectsGarbageAndOversizedTokens) {
    for (std::string t : {"", "abc", "a.b", "a.b.c.d", "....", "not a token", "eyJ.eyJ.\xff"}) {
        SCOPED_TRACE(t);
        EXPECT_FALSE(verify_token(t, kKey, kNow).ok);
    }
    auto big = sign_token(
        kHeader, payload(R"("sub":"a","exp":1900000060,"pad":")" + std::string(5000, 'p') + "\""), kKey);
    EXPECT_FALSE(verify_token(big, kKey, kNow).ok);
}

TEST(ChatToken, RefusesToVerifyWithAnEmptyKey) {
    EXPECT_FALSE(verify_token(chat_test::libjwt_token("alice", kNow + 60, kKey), "", kNow).ok);
}

TEST(ChatToken, ErrorsNeverContainTheTokenOrKey) {
    auto token = chat_test::libjwt_token("alice", kNow - 10, kKey);
    auto check = verify_token(token, kKey, kNow);
    EXPECT_EQ(check.error.find(kKey), std::string::npos);
    EXPECT_EQ(check.error.find(token.substr(0, 20)), std::string::npos);
}

TEST(ChatToken, BearerTokenParsing) {
    EXPECT_EQ(bearer_token("Bearer abc"), "abc");
    EXPECT_EQ(bearer_token("bearer  abc "), "abc");
    EXPECT_EQ(bearer_token("BEARER abc"), "abc");
    EXPECT_FALSE(bearer_token("Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
    EXPECT_FALSE(bearer_token("Bearer "));
    EXPECT_FALSE(bearer_token("Bearer"));
    EXPECT_FALSE(bearer_token("Bearerabc"));
    EXPECT_FALSE(bearer_token(""));
}
