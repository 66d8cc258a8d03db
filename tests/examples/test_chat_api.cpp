// Integration tests of the example chat API: the real binary on a database migrated by the real steward.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <regex>
#include <sstream>

#include "tests/examples/chat_api_harness.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"

using namespace chat_test;
namespace json = boost::json;

namespace {

const std::string kSecret = "chat-test-secret-Zq8vN2pLw4Rt6Yx0Bc3Df5Gh7";

}  // namespace

// One chat-api with REQUIRE_AUTH=true and CORS for one origin, shared by the tests below.
class ChatApi : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        url_ = new std::string(migrated_database());
        api_ = new ChatApiProcess({{"DATABASE_URL", *url_},
                                   {"JWT_SECRET_KEY", kSecret},
                                   {"REQUIRE_AUTH", "TRUE"},
                                   {"CORS_ORIGINS", "http://localhost:3000, https://app.example.com"}});
        ready_ = api_->wait_health();
    }
    static void TearDownTestSuite() {
        delete api_;
        delete url_;
    }
    void SetUp() override { ASSERT_TRUE(ready_) << "chat-api did not start"; }

    static std::uint16_t port() { return api_->port(); }
    static std::string token(const std::string& subject) {
        return libjwt_token(subject, unix_now() + 600, kSecret);
    }

    static inline std::string* url_ = nullptr;
    static inline ChatApiProcess* api_ = nullptr;
    static inline bool ready_ = false;
};

TEST_F(ChatApi, MigrationsAppliedByStewardIncludingV4) {
    EXPECT_EQ(steward::test::query_value(*url_, "SELECT max(version::int) FROM steward_migrations"), "4");
    EXPECT_EQ(steward::test::query_value(
                  *url_,
                  "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND "
                  "column_name = 'subject'"),
              "1");
}

TEST_F(ChatApi, HealthIsOkWhileTheDatabaseAnswers) {
    auto r = http_request(port(), "GET", "/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.json(), json::parse(R"({"status":"ok"})"));
    EXPECT_EQ(r.header("content-type"), "application/json");
}

TEST_F(ChatApi, ChatWithValidTokenIsStoredAndReturnedByHistory) {
    auto r = http_request(port(), "POST", "/api/chat", json_headers(bearer(token("alice"))),
                          chat_body("hello steward"));
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = r.json().as_object();
    EXPECT_EQ(doc.at("user"), "alice");
    EXPECT_EQ(doc.at("message").at("role"), "user");
    EXPECT_EQ(doc.at("message").at("content"), "hello steward");
    EXPECT_EQ(doc.at("reply").at("role"), "assistant");
    EXPECT_EQ(doc.at("reply").at("content"), "echo: hello steward");
    EXPECT_EQ(stored(*url_, "alice", "user", "hello steward"), 1);
    EXPECT_EQ(stored(*url_, "alice", "assistant", "echo: hello steward"), 1);

    ASSERT_EQ(
        http_request(port(), "POST", "/api/chat", json_headers(bearer(token("alice"))), chat_body("second"))
            .status,
        200);
    auto h = http_request(port(), "GET", "/api/history", bearer(token("alice")));
    ASSERT_EQ(h.status, 200) << h.body;
    auto messages = h.json().at("messages").as_array();
    ASSERT_EQ(messages.size(), 4u);
    EXPECT_EQ(messages[0].at("content"), "hello steward");  // oldest first
    EXPECT_EQ(messages[1].at("content"), "echo: hello steward");
    EXPECT_EQ(messages[3].at("content"), "echo: second");
    EXPECT_EQ(messages[3].at("id").as_int64(), doc.at("reply").at("id").as_int64() + 2);

    auto newest = http_request(port(), "GET", "/api/history?limit=1", bearer(token("alice")));
    ASSERT_EQ(newest.status, 200);
    ASSERT_EQ(newest.json().at("messages").as_array().size(), 1u);
    EXPECT_EQ(newest.json().at("messages").at(0).at("content"), "echo: second");
}

TEST_F(ChatApi, HistoryIsPerUser) {
    ASSERT_EQ(
        http_request(port(), "POST", "/api/chat", json_headers(bearer(token("carol"))), chat_body("mine"))
            .status,
        200);
    auto dave = http_request(port(), "GET", "/api/history", bearer(token("dave")));
    ASSERT_EQ(dave.status, 200);
    EXPECT_TRUE(dave.json().at("messages").as_array().empty());
}

TEST_F(ChatApi, EveryBadTokenIsRefusedWith401AndStoresNothing) {
    const auto exp = std::to_string(unix_now() + 600);
    const auto claims = R"({"sub":"mallory","exp":)" + exp + "}";
    const std::string none = base64url(R"({"alg":"none","typ":"JWT"})") + "." + base64url(claims) + ".";
    const std::map<std::string, std::map<std::string, std::string>> cases = {
        {"missing token", {}},
        {"not a bearer scheme", {{"Authorization", "Basic bWFsbG9yeTpwdw=="}}},
        {"wrong signature", bearer(libjwt_token("mallory", unix_now() + 600, kSecret + "x"))},
        {"alg none", bearer(none)},
        {"HS512 with the right key",
         bearer(sign_token(R"({"alg":"HS512","typ":"JWT"})", claims, kSecret, "SHA512"))},
        {"expired", bearer(libjwt_token("mallory", unix_now() - 60, kSecret))},
        {"without exp",
         bearer(sign_token(R"({"alg":"HS256","typ":"JWT"})", R"({"sub":"mallory"})", kSecret))},
        {"garbage", bearer("not.a.jwt")},
    };
    const int before = message_count(*url_);
    for (const auto& [name, headers] : cases) {
        SCOPED_TRACE(name);
        auto chat = http_request(port(), "POST", "/api/chat", json_headers(headers), chat_body("let me in"));
        EXPECT_EQ(chat.status, 401) << chat.body;
        EXPECT_TRUE(chat.json().as_object().contains("error")) << chat.body;
        EXPECT_EQ(chat.header("www-authenticate").rfind("Bearer", 0), 0u);
        EXPECT_EQ(http_request(port(), "GET", "/api/history", headers).status, 401);
    }
    EXPECT_EQ(message_count(*url_), before);
    EXPECT_EQ(stored(*url_, "mallory", "user", "let me in"), 0);
}

TEST_F(ChatApi, CorsAllowsListedOriginsOnly) {
    auto allowed = http_request(port(), "GET", "/health", {{"Origin", "https://app.example.com"}});
    EXPECT_EQ(allowed.header("access-control-allow-origin"), "https://app.example.com");
    EXPECT_EQ(allowed.header("vary"), "Origin");
    auto other = http_request(port(), "GET", "/health", {{"Origin", "https://evil.example.net"}});
    EXPECT_EQ(other.status, 200);
    EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);

    auto preflight = http_request(port(), "OPTIONS", "/api/chat",
                                  {{"Origin", "http://localhost:3000"},
                                   {"Access-Control-Request-Method", "POST"},
                                   {"Access-Control-Request-Headers", "authorization, content-type"}});
    EXPECT_EQ(preflight.status, 204);
    EXPECT_EQ(preflight.headers.count("content-length"), 0u);
    EXPECT_EQ(preflight.header("access-control-allow-origin"), "http://localhost:3000");
    EXPECT_NE(preflight.header("access-control-allow-methods").find("POST"), std::string::npos);
    EXPECT_NE(preflight.header("access-control-allow-headers").find("Authorization"), std::string::npos);

    auto refused =
        http_request(port(), "OPTIONS", "/api/chat",
                     {{"Origin", "https://evil.example.net"}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(refused.headers.count("access-control-allow-origin"), 0u);

    // Errors carry the CORS answer too, so a browser app can read them.
    auto unauthorized = http_request(port(), "GET", "/api/history", {{"Origin", "http://localhost:3000"}});
    EXPECT_EQ(unauthorized.status, 401);
    EXPECT_EQ(unauthorized.header("access-control-allow-origin"), "http://localhost:3000");
}

TEST_F(ChatApi, OversizedBodyIs413AndTheLimitIs64KiB) {
    const auto headers = json_headers(bearer(token("big")));
    auto too_big = http_request(port(), "POST", "/api/chat", headers, chat_body(std::string(70 * 1024, 'a')));
    EXPECT_EQ(too_big.status, 413);
    EXPECT_TRUE(too_big.json().as_object().contains("error"));
    EXPECT_EQ(stored(*url_, "big", "user", std::string(10, 'a')), 0);

    auto just_fits =
        http_request(port(), "POST", "/api/chat", headers, chat_body(std::string(60 * 1024, 'b')));
    EXPECT_EQ(just_fits.status, 200);
}

// The reply comes before the client finished sending; closing at once would reset the
// connection under the client's feet, so the server drains (lingers) first.
TEST_F(ChatApi, OversizedBodyStillSendingGetsThe413) {
    const std::string body(900 * 1024, 'x');
    auto reply = raw_exchange(port(),
                              "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
}

TEST_F(ChatApi, OversizedBodyWithExpectContinueIsRefusedBeforeItIsSent) {
    auto reply = raw_exchange(port(),
                              "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Expect: 100-continue\r\nContent-Length: 10000000\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
}

TEST_F(ChatApi, ExpectContinueIsAnsweredBeforeTheBody) {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port()});
    auto body = chat_body("continued");
    asio::write(s, asio::buffer("POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Authorization: Bearer " +
                                token("erin") +
                                "\r\nExpect: 100-continue\r\n"
                                "Content-Length: " +
                                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n"));
    std::string got;
    asio::read_until(s, asio::dynamic_buffer(got), "\r\n\r\n");
    EXPECT_EQ(got.rfind("HTTP/1.1 100 Continue", 0), 0u) << got;
    asio::write(s, asio::buffer(body));
    boost::system::error_code ec;
    while (!ec) {
        char buf[4096];
        auto n = s.read_some(asio::buffer(buf), ec);
        got.append(buf, n);
    }
    EXPECT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos) << got;
    EXPECT_EQ(stored(*url_, "erin", "user", "continued"), 1);
}

TEST_F(ChatApi, MalformedOrWrongBodiesAre400Or415) {
    const auto headers = json_headers(bearer(token("frank")));
    for (const char* body : {"{\"message\": ", "not json", "[1,2]", "{\"text\":\"hi\"}", "{\"message\": 42}",
                             "{\"message\": \"   \"}", "{\"message\": \"a\\u0000b\"}", ""}) {
        SCOPED_TRACE(body);
        auto r = http_request(port(), "POST", "/api/chat", headers, body);
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_TRUE(r.json().as_object().at("error").is_string());
    }
    auto form = http_request(port(), "POST", "/api/chat", bearer(token("frank")), "message=hi");
    EXPECT_EQ(form.status, 415);
    EXPECT_EQ(http_request(port(), "GET", "/api/history?limit=0", bearer(token("frank"))).status, 400);
    EXPECT_EQ(http_request(port(), "GET", "/api/history?limit=abc", bearer(token("frank"))).status, 400);
    EXPECT_EQ(stored(*url_, "frank", "user", "hi"), 0);
}

TEST_F(ChatApi, MalformedHttpIs400) {
    auto reply = raw_exchange(port(), "THIS IS NOT HTTP\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
}

TEST_F(ChatApi, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
    auto missing = http_request(port(), "GET", "/admin");
    EXPECT_EQ(missing.status, 404);
    EXPECT_TRUE(missing.json().as_object().contains("error"));
    auto wrong = http_request(port(), "DELETE", "/api/chat", bearer(token("alice")));
    EXPECT_EQ(wrong.status, 405);
    EXPECT_EQ(wrong.header("allow"), "POST, OPTIONS");
}

TEST_F(ChatApi, LogsOneLinePerRequestWithoutSecretsOrTokens) {
    auto t = token("grace");
    ASSERT_EQ(http_request(port(), "GET", "/api/history?token=" + t, bearer(t)).status, 200);
    auto out = api_->out();
    EXPECT_NE(out.find("request method=GET path=/api/history status=200"), std::string::npos) << out;
    EXPECT_NE(out.find("user=\"grace\""), std::string::npos) << out;
    EXPECT_EQ(out.find(kSecret), std::string::npos);
    EXPECT_EQ(out.find(t), std::string::npos);
    EXPECT_EQ(api_->err().find(kSecret), std::string::npos);
}

TEST(ChatApiNoAuth, AcceptsRequestsWithoutTokenButStillChecksAGivenOne) {
    auto url = migrated_database();
    ChatApiProcess api({{"DATABASE_URL", url}, {"JWT_SECRET_KEY", kSecret}, {"REQUIRE_AUTH", "false"}},
                       /*port_flag=*/false);
    ASSERT_TRUE(api.wait_health());
    auto r = http_request(api.port(), "POST", "/api/chat", json_headers(), chat_body("no token needed"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("user"), "anonymous");
    EXPECT_EQ(stored(url, "anonymous", "user", "no token needed"), 1);
    auto bad =
        http_request(api.port(), "POST", "/api/chat",
                     json_headers(bearer(libjwt_token("x", unix_now() + 60, "wrong"))), chat_body("hi"));
    EXPECT_EQ(bad.status, 401);
    auto good =
        http_request(api.port(), "POST", "/api/chat",
                     json_headers(bearer(libjwt_token("heidi", unix_now() + 60, kSecret))), chat_body("hi"));
    EXPECT_EQ(good.json().at("user"), "heidi");
}

TEST(ChatApiNoAuth, RunsWithoutSecretWhenAuthIsOff) {
    auto url = migrated_database();
    ChatApiProcess api({{"DATABASE_URL", url}, {"REQUIRE_AUTH", "off"}});
    ASSERT_TRUE(api.wait_health());
    EXPECT_EQ(http_request(api.port(), "POST", "/api/chat", json_headers(), chat_body("x")).status, 200);
}

TEST(ChatApiDatabaseDown, HealthIs503AndChatIs503WhenTheDatabaseIsUnreachable) {
    auto closed = steward::free_loopback_port();  // nothing listens there
    ChatApiProcess api(
        {{"DATABASE_URL", "postgresql://chat:pw@127.0.0.1:" + std::to_string(closed) + "/chat"},
         {"JWT_SECRET_KEY", kSecret}});
    ASSERT_TRUE(api.wait_health(503));
    auto health = http_request(api.port(), "GET", "/health");
    EXPECT_EQ(health.status, 503);
    EXPECT_EQ(health.json().at("status"), "unavailable");
    EXPECT_TRUE(health.json().at("error").is_string());
    auto chat =
        http_request(api.port(), "POST", "/api/chat",
                     json_headers(bearer(libjwt_token("ivan", unix_now() + 60, kSecret))), chat_body("hi"));
    EXPECT_EQ(chat.status, 503);
    EXPECT_EQ(chat.json().at("error"), "database unavailable");
    // libpq's multi-line messages are logged as one line each.
    std::istringstream err(api.err());
    int lines = 0;
    for (std::string line; std::getline(err, line); ++lines)
        EXPECT_TRUE(std::regex_search(line, std::regex(R"(^\d{4}-\d\d-\d\dT[0-9:.]+Z error )"))) << line;
    EXPECT_GE(lines, 2);
}
