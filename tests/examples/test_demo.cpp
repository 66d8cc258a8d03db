// The demo path as `make demo` runs it: the example spec under `steward run` (embedded PostgreSQL,
// migrations, the chat API turning ready), a chat message stored, a backup taken through the admin API,
// status, a clean stop.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include "core/embedded_postgres.hpp"
#include "daemon/admin/client.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/example_deployment.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace std::chrono_literals;

TEST(Demo, TheExampleDeploymentRunsEndToEnd) {
    test::TempDir dir("steward-demo");
    test::ExampleDeployment ex{dir.path()};
    const std::string& jwt_key = ex.jwt_key;
    const std::string& admin_token = ex.admin_token;
    auto spec = std::filesystem::path(test::source_dir()) / "examples/chat/steward.yaml";
    auto env = ex.env(CHAT_API_BINARY);
    test::DaemonProcess d(spec, dir / "steward.log", env);
    admin::AdminEndpoint api = ex.admin();
    ASSERT_TRUE(test::wait_ready(api, 180s)) << d.log();
    EXPECT_NE(d.log().find("service ready service=chat-api"), std::string::npos);

    // A chat message as alice, with a token from the demo's make-token.
    ProcessOptions mk;
    mk.argv = {(std::filesystem::path(test::source_dir()) / "examples/chat/make-token").string(), "alice"};
    mk.env = {{"JWT_SECRET_KEY", jwt_key}};
    auto token = run_process(mk, 30s);
    ASSERT_TRUE(token.ok()) << token.err;
    while (!token.out.empty() && token.out.back() == '\n') token.out.pop_back();
    admin::AdminEndpoint chat;
    chat.port = std::to_string(ex.chat_port);
    chat.token = token.out;
    auto posted = admin::request(chat, "POST", "/api/chat", R"({"message":"hello from the demo"})");
    ASSERT_EQ(posted.status, 200) << posted.body;
    auto history = admin::request(chat, "GET", "/api/history");
    EXPECT_NE(history.body.find("hello from the demo"), std::string::npos) << history.body;

    // A backup through the admin API (after the catch-up backup of a fresh deployment: 409 while it runs),
    // then the status shows it.
    admin::ClientResponse started;
    ASSERT_TRUE(test::wait_until(
        [&] {
            started = admin::request(api, "POST", "/api/v1/backups");
            EXPECT_TRUE(started.status == 202 || started.status == 409) << started.body;
            return started.status == 202;
        },
        120s));
    std::string id(boost::json::parse(started.body).at("id").as_string());
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto s = boost::json::parse(admin::request(api, "GET", "/api/v1/status").body);
            const auto& last = s.at("backups").at("last_success");
            return last.is_object() && last.at("id").as_string() == id;
        },
        120s))
        << d.log();
    EXPECT_TRUE(std::filesystem::exists(dir / "backups" / id / "manifest.json"));

    auto status = test::run_steward({"--spec", spec.string(), "status"}, env);
    EXPECT_EQ(status.status, 0) << status.err;
    EXPECT_NE(status.out.find("chat-api"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("running"), std::string::npos) << status.out;
    // Secrets never reach the log.
    EXPECT_EQ(d.log().find(jwt_key), std::string::npos);
    EXPECT_EQ(d.log().find(admin_token), std::string::npos);

    d.signal(SIGTERM);
    auto code = d.wait_exit(60s);
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 0) << d.log();
    EXPECT_NE(d.log().find("service stopped service=chat-api"), std::string::npos);
}
