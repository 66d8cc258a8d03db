// The chat API harness: spawns the real binary, talks HTTP to it, makes tokens of every shape.
#include "tests/examples/chat_api_harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "core/embedded_postgres.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"

namespace chat_test {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const char* chat_api_binary() { return CHAT_API_BINARY; }

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers, const std::string& body) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty() || req.method() == http::verb::post) req.prepare_payload();
    stream.expires_after(std::chrono::seconds(10));
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    stream.expires_after(std::chrono::seconds(10));
    http::read(stream, buffer, parser);
    auto res = parser.release();
    HttpResult r;
    r.status = res.result_int();
    for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
    }
    r.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return r;
}

std::string raw_exchange(std::uint16_t port, const std::string& raw) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    asio::write(stream, asio::buffer(raw));
    std::string out;
    beast::error_code ec;
    char buf[4096];
    for (;;) {
        auto n = stream.read_some(asio::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
    }
    return out;
}

namespace {

std::map<std::string, std::string> with_base_env(std::map<std::string, std::string> env) {
    if (const char* path = std::getenv("PATH")) env.emplace("PATH", path);
    // Sanitizer reports must fail the test with a distinct code, not vanish.
    env.emplace("ASAN_OPTIONS", "abort_on_error=0:exitcode=99");
    return env;
}

int open_log(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + p.string());
    return fd;
}

}  // namespace

ChatApiProcess::ChatApiProcess(std::map<std::string, std::string> env, bool port_flag) {
    port_ = static_cast<std::uint16_t>(steward::free_loopback_port());
    steward::ProcessOptions o;
    o.argv = {chat_api_binary()};
    if (port_flag) {
        o.argv.insert(o.argv.end(), {"--port", std::to_string(port_)});
    } else {
        env["PORT"] = std::to_string(port_);
    }
    o.env = with_base_env(std::move(env));
    o.inherit_env = false;
    int out = open_log(dir_ / "stdout");
    int err = open_log(dir_ / "stderr");
    o.stdout_fd = out;
    o.stderr_fd = err;
    child_ = steward::spawn(o);
    ::close(out);
    ::close(err);
}

bool ChatApiProcess::wait_health(int status, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int last = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto st = child_.try_wait()) {
            ADD_FAILURE() << "chat-api exited with " << *st << "\nstdout:\n"
                          << out() << "\nstderr:\n"
                          << err();
            return false;
        }
        try {
            last = http_request(port_, "GET", "/health").status;
            if (last == status) return true;
        } catch (const std::exception&) {
            // not listening yet
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "/health did not answer " << status << " (last " << last << ")\nstdout:\n"
                  << out() << "\nstderr:\n"
                  << err();
    return false;
}

std::optional<int> ChatApiProcess::stop(int signal, std::chrono::seconds timeout) {
    child_.signal(signal);
    return child_.wait_for(timeout);
}

std::string ChatApiProcess::out() const { return steward::test::read_file(dir_ / "stdout"); }
std::string ChatApiProcess::err() const { return steward::test::read_file(dir_ / "stderr"); }

steward::ProcessResult run_chat_api(const std::map<std::string, std::string>& env,
                                    const std::vector<std::string>& args) {
    steward::ProcessOptions o;
    o.argv = {chat_api_binary()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = with_base_env(env);
    o.inherit_env = false;
    return steward::run_process(o, std::chrono::seconds(30));
}

std::string base64url(const std::string& bytes) {
    std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
    int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(n);
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

std::string sign_token(const std::string& header_json, const std::string& payload_json,
                       const std::string& key, const std::string& digest) {
    auto input = base64url(header_json) + "." + base64url(payload_json);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    const EVP_MD* md = digest == "SHA512" ? EVP_sha512() : digest == "SHA384" ? EVP_sha384() : EVP_sha256();
    HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac, &len);
    return input + "." + base64url(std::string(reinterpret_cast<char*>(mac), len));
}

std::string libjwt_token(const std::string& subject, std::int64_t exp, const std::string& key) {
    jwt_t* jwt = nullptr;
    if (jwt_new(&jwt) != 0) throw std::runtime_error("jwt_new failed");
    jwt_add_grant(jwt, "sub", subject.c_str());
    jwt_add_grant_int(jwt, "exp", static_cast<long>(exp));
    jwt_set_alg(jwt, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.data()),
                static_cast<int>(key.size()));
    char* text = jwt_encode_str(jwt);
    jwt_free(jwt);
    if (!text) throw std::runtime_error("jwt_encode_str failed");
    std::string token(text);
    std::free(text);
    return token;
}

std::string migrated_database() {
    auto url = steward::test::fresh_database("chat");
    auto r =
        steward::test::run_steward({"migrate", "up", "--database-url", url, "--dir",
                                    std::string(steward::test::source_dir()) + "/examples/chat/migrations"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    return url;
}

std::map<std::string, std::string> bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

std::map<std::string, std::string> json_headers(std::map<std::string, std::string> h) {
    h["Content-Type"] = "application/json";
    return h;
}

std::string chat_body(const std::string& message) {
    return boost::json::serialize(boost::json::object{{"message", message}});
}

// Rows the database holds for `subject` with `role` and `content`.
int stored(const std::string& url, const std::string& subject, const std::string& role,
           const std::string& content) {
    auto q = [](const std::string& s) { return "'" + s + "'"; };  // test data has no quotes
    return std::stoi(steward::test::query_value(
        url,
        "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "JOIN users u ON u.id = c.user_id WHERE u.subject = " +
            q(subject) + " AND m.role = " + q(role) + " AND m.content = " + q(content)));
}

int message_count(const std::string& url) {
    return std::stoi(steward::test::query_value(url, "SELECT count(*) FROM messages"));
}

}  // namespace chat_test
