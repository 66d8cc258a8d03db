// The CLI's side of the admin API: one HTTP request to a running daemon, with timeouts.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace steward::admin {

// The daemon did not answer (not running, wrong address): one line for the operator.
class ClientError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct AdminEndpoint {
    std::string host = "127.0.0.1";
    std::string port = "9180";
    std::optional<std::string> token;  // bearer token (never printed)
    std::string describe() const { return host + ":" + port; }
};

// "127.0.0.1:9180", "http://127.0.0.1:9180", "[::1]:9180", ":9180"; throws std::invalid_argument.
AdminEndpoint parse_endpoint(const std::string& text);

struct ClientResponse {
    int status = 0;
    std::string body;
};

// Sends one request (POST bodies as application/json). Throws ClientError when nothing answers.
ClientResponse request(const AdminEndpoint& to, const std::string& method, const std::string& target,
                       const std::string& body = {}, std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace steward::admin
