// Test harness for the example chat API: the real binary as a child, a small HTTP client, tokens.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "core/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace chat_test {

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    boost::json::value json() const { return boost::json::parse(body); }
    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? "" : it->second;
    }
};

// One request on a fresh connection to 127.0.0.1:port (10 s timeout per step).
HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers = {}, const std::string& body = {});

// Sends `raw` bytes as they are and returns everything the server sends until it closes.
std::string raw_exchange(std::uint16_t port, const std::string& raw);

// The real chat-api binary, started with exactly `env` (plus PATH and sanitizer options),
// stdout and stderr in files.
class ChatApiProcess {
  public:
    explicit ChatApiProcess(std::map<std::string, std::string> env, bool port_flag = true);
    std::uint16_t port() const { return port_; }
    steward::Child& child() { return child_; }
    // Polls GET /health until it answers `status`; fails the test when the child exits or time runs out.
    bool wait_health(int status = 200, std::chrono::seconds timeout = std::chrono::seconds(30));
    // Sends `signal` and waits for the exit status (nullopt on timeout).
    std::optional<int> stop(int signal, std::chrono::seconds timeout = std::chrono::seconds(20));
    std::string out() const;
    std::string err() const;

  private:
    steward::test::TempDir dir_{"chat-api"};
    std::uint16_t port_ = 0;
    steward::Child child_;
};

// Runs chat-api to completion with exactly `env` and `args` (for configuration errors).
steward::ProcessResult run_chat_api(const std::map<std::string, std::string>& env,
                                    const std::vector<std::string>& args = {});

// Compact JWS from raw header and payload JSON, HMAC-signed with `digest` ("SHA256", "SHA512").
std::string sign_token(const std::string& header_json, const std::string& payload_json,
                       const std::string& key, const std::string& digest = "SHA256");
// A valid HS256 token minted by libjwt.
std::string libjwt_token(const std::string& subject, std::int64_t exp, const std::string& key);
std::string base64url(const std::string& bytes);
std::int64_t unix_now();

const char* chat_api_binary();

// A fresh database of the test cluster with examples/chat/migrations applied by `steward migrate up`.
std::string migrated_database();

std::map<std::string, std::string> bearer(const std::string& token);
std::map<std::string, std::string> json_headers(std::map<std::string, std::string> headers = {});
std::string chat_body(const std::string& message);  // {"message": message}

// Rows stored for `subject` with `role` and `content` (test data has no quotes), and all messages.
int stored(const std::string& url, const std::string& subject, const std::string& role,
           const std::string& content);
int message_count(const std::string& url);

}  // namespace chat_test
