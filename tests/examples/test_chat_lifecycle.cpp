// The chat API's lifecycle and connections: graceful stop, requests in flight, reconnects, limits.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "tests/examples/chat_api_harness.hpp"
#include "tests/support/pg_cluster.hpp"

using namespace chat_test;
namespace asio = boost::asio;

namespace {

const std::string kSecret = "lifecycle-secret-9f8e7d6c5b4a39281706";

// Polls `condition` every 20 ms for up to 10 s.
template <typename Condition>
bool eventually(Condition condition) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
}

int count(const std::string& url, const std::string& sql) {
    return std::stoi(steward::test::query_value(url, sql));
}

}  // namespace

TEST(ChatApiLifecycle, SigtermFinishesAndExitsZeroEvenWithAnIdleKeepAliveConnection) {
    auto url = migrated_database();
    ChatApiProcess api({{"DATABASE_URL", url}, {"JWT_SECRET_KEY", kSecret}});
    ASSERT_TRUE(api.wait_health());
    // A keep-alive client that stays connected must not hold the shutdown for its 30 s idle timeout.
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket idle(io);
    idle.connect({asio::ip::make_address("127.0.0.1"), api.port()});
    asio::write(idle, asio::buffer(std::string("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")));
    std::string got;
    asio::read_until(idle, asio::dynamic_buffer(got), "}");
    ASSERT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;

    auto started = std::chrono::steady_clock::now();
    auto status = api.stop(SIGTERM, std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value()) << "chat-api did not stop within 10 s\n" << api.out();
    EXPECT_EQ(*status, 0) << api.err();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_NE(api.out().find("stopping signal=TERM"), std::string::npos) << api.out();
    EXPECT_NE(api.out().find("chat-api stopped"), std::string::npos) << api.out();
}

TEST(ChatApiLifecycle, SigintExitsZero) {
    auto url = migrated_database();
    ChatApiProcess api({{"DATABASE_URL", url}, {"JWT_SECRET_KEY", kSecret}});
    ASSERT_TRUE(api.wait_health());
    auto status = api.stop(SIGINT, std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 0) << api.err();
}

TEST(ChatApiLifecycle, PortInUseExitsOne) {
    ChatApiProcess first({{"DATABASE_URL", "postgresql://127.0.0.1:1/x"}, {"REQUIRE_AUTH", "no"}});
    ASSERT_TRUE(first.wait_health(503));
    auto r = run_chat_api({{"DATABASE_URL", "postgresql://127.0.0.1:1/x"}, {"REQUIRE_AUTH", "no"}},
                          {"--port", std::to_string(first.port())});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos)
        << r.err;
}

// SIGTERM while a chat request waits on the database: no new connections, but that request
// still gets its reply and its rows, then the process exits 0.
TEST(ChatApiLifecycle, SigtermLetsARequestInFlightFinish) {
    auto url = migrated_database();
    ChatApiProcess api({{"DATABASE_URL", url}, {"JWT_SECRET_KEY", kSecret}});
    ASSERT_TRUE(api.wait_health());
    const auto db = steward::test::database_name(url);

    pqxx::connection blocker(url);
    pqxx::work lock(blocker);
    lock.exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
    auto reply = std::async(std::launch::async, [&] {
        return http_request(api.port(), "POST", "/api/chat",
                            json_headers(bearer(libjwt_token("judy", unix_now() + 600, kSecret))),
                            chat_body("in flight"));
    });
    ASSERT_TRUE(eventually([&] {
        return count(steward::test::cluster_url(), "SELECT count(*) FROM pg_stat_activity WHERE datname = '" +
                                                       db + "' AND wait_event_type = 'Lock'") == 1;
    })) << "the chat request never waited on the lock";

    api.child().signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return api.out().find("stopping signal=TERM") != std::string::npos; }));
    EXPECT_THROW(http_request(api.port(), "GET", "/health"), std::exception)
        << "still accepting after SIGTERM";
    EXPECT_TRUE(api.child().running());

    lock.commit();  // releases the lock: the request goes on
    auto r = reply.get();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("connection"), "close");
    auto status = api.child().wait_for(std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 0) << api.err();
    EXPECT_EQ(stored(url, "judy", "user", "in flight"), 1);
}

// The workers' cached connections break when the server ends them; the next request reconnects.
TEST(ChatApiLifecycle, ReconnectsAfterTheDatabaseDroppedItsConnections) {
    auto url = migrated_database();
    ChatApiProcess api({{"DATABASE_URL", url}, {"JWT_SECRET_KEY", kSecret}});
    ASSERT_TRUE(api.wait_health());
    const auto headers = json_headers(bearer(libjwt_token("kim", unix_now() + 600, kSecret)));
    // Two workers: enough requests to open a connection on each.
    for (int i = 0; i < 4; ++i)
        ASSERT_EQ(http_request(api.port(), "POST", "/api/chat", headers, chat_body("a")).status, 200);
    const auto db = steward::test::database_name(url);
    EXPECT_GE(count(steward::test::cluster_url(),
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = '" +
                        db + "' AND pid <> pg_backend_pid()"),
              1);
    for (int i = 0; i < 4; ++i) {
        auto r = http_request(api.port(), "POST", "/api/chat", headers, chat_body("after"));
        EXPECT_EQ(r.status, 200) << r.body;
    }
    EXPECT_EQ(stored(url, "kim", "user", "after"), 4);
}

// One event-loop thread serves everyone: a client dribbling its headers holds up nobody.
TEST(ChatApiConnections, ASlowClientDoesNotStallOthers) {
    ChatApiProcess api({{"DATABASE_URL", "postgresql://127.0.0.1:1/none"}, {"REQUIRE_AUTH", "false"}});
    ASSERT_TRUE(api.wait_health(503));
    asio::io_context io;
    asio::ip::tcp::socket slow(io);
    slow.connect({asio::ip::make_address("127.0.0.1"), api.port()});
    asio::write(slow, asio::buffer(std::string("GET /hea")));
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(http_request(api.port(), "GET", "/api/chat").status, 405);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    asio::write(slow, asio::buffer(std::string("lth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    std::string got;
    boost::system::error_code ec;
    asio::read(slow, asio::dynamic_buffer(got), ec);
    EXPECT_EQ(got.rfind("HTTP/1.1 503", 0), 0u) << got;
}

// At most 256 connections: the next one is closed unanswered, and service resumes once they go.
TEST(ChatApiConnections, ConnectionCapRefusesExtraConnectionsUntilOthersClose) {
    ChatApiProcess api({{"DATABASE_URL", "postgresql://127.0.0.1:1/none"}, {"REQUIRE_AUTH", "false"}});
    ASSERT_TRUE(api.wait_health(503));
    asio::io_context io;
    std::vector<asio::ip::tcp::socket> held;
    for (int i = 0; i < 256; ++i) {
        held.emplace_back(io);
        held.back().connect({asio::ip::make_address("127.0.0.1"), api.port()});
    }
    // Connections are accepted in order: the 257th is closed without an answer.
    EXPECT_THROW(http_request(api.port(), "GET", "/health"), std::exception);
    EXPECT_TRUE(
        eventually([&] { return api.err().find("connection limit reached (256)") != std::string::npos; }));
    held.clear();
    EXPECT_TRUE(eventually([&] {
        try {
            return http_request(api.port(), "GET", "/health").status == 503;
        } catch (const std::exception&) {
            return false;
        }
    }));
}
