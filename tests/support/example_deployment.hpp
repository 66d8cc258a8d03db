// The example deployment (examples/chat/steward.yaml) as scripts/demo starts it, and waiting for a daemon's
// /readyz. Header-only: the tests that include it link steward_admin for the client.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "core/embedded_postgres.hpp"
#include "daemon/admin/client.hpp"
#include "tests/support/daemon_process.hpp"

namespace steward::test {

// Polls the daemon's /readyz until it answers 200.
inline bool wait_ready(const admin::AdminEndpoint& api, std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
            try {
                return admin::request(api, "GET", "/readyz", {}, std::chrono::seconds(2)).status == 200;
            } catch (const std::exception&) {
                return false;
            }
        },
        timeout);
}

// The variables scripts/demo sets, on free ports, with everything under `dir` (which gets a backups/).
struct ExampleDeployment {
    std::filesystem::path dir;
    int chat_port = free_loopback_port();
    int admin_port = free_loopback_port();
    std::string jwt_key = "demo-jwt-Zq8vN3kR7wT1yX5mB9cF2hJ6pL4sD0gA";
    std::string admin_token = "demo-admin-Hr5tY8uI1oP4aS7dF0gJ3kL6zX9cV2bN";

    std::map<std::string, std::string> env(const std::string& chat_api_binary) const {
        std::filesystem::create_directories(dir / "backups");
        return {{"STEWARD_DEMO_DIR", dir.string()},
                {"STEWARD_DEMO_PG_PORT", std::to_string(free_loopback_port())},
                {"CHAT_PORT", std::to_string(chat_port)},
                {"STEWARD_ADMIN_LISTEN", "127.0.0.1:" + std::to_string(admin_port)},
                {"CHAT_API_BIN", chat_api_binary},
                {"JWT_SECRET_KEY", jwt_key},
                {"STEWARD_ADMIN_TOKEN", admin_token}};
    }
    admin::AdminEndpoint admin() const {
        admin::AdminEndpoint api;
        api.port = std::to_string(admin_port);
        api.token = admin_token;
        return api;
    }
};

}  // namespace steward::test
