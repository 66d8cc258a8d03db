// A synchronous Beast client for the CLI's talk to the admin API.
#include "daemon/admin/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace steward::admin {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

AdminEndpoint parse_endpoint(const std::string& input) {
    std::string text = input;
    if (text.rfind("http://", 0) == 0) text = text.substr(7);
    if (text.rfind("https://", 0) == 0)
        throw std::invalid_argument("the admin API speaks plain HTTP on loopback; use http://");
    while (!text.empty() && text.back() == '/') text.pop_back();
    AdminEndpoint e;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 2 > text.size() || text[close + 1] != ':')
            throw std::invalid_argument("'" + input + "': expected [ipv6]:port");
        e.host = text.substr(1, close - 1);
        e.port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos) throw std::invalid_argument("'" + input + "': expected host:port");
        e.host = text.substr(0, colon);
        e.port = text.substr(colon + 1);
    }
    if (e.host.empty() || e.host == "0.0.0.0") e.host = "127.0.0.1";
    if (e.host == "::") e.host = "::1";
    if (e.port.empty() || e.port.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("'" + input + "': the port must be a number");
    return e;
}

ClientResponse request(const AdminEndpoint& to, const std::string& method, const std::string& target,
                       const std::string& body, std::chrono::seconds timeout) {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    beast::error_code ec;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(to.host, to.port, ec);
    if (ec) throw ClientError("cannot resolve " + to.describe() + ": " + ec.message());
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(endpoints, ec);
    if (ec)
        throw ClientError("steward is not running at " + to.describe() + " (" + ec.message() +
                          "); start it with `steward run`, or pass --admin-url");
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, to.describe());
    req.set(http::field::user_agent, "steward-cli");
    if (to.token) req.set(http::field::authorization, "Bearer " + *to.token);
    if (method == "POST") {
        req.set(http::field::content_type, "application/json");
        req.body() = body.empty() ? "{}" : body;
    }
    req.prepare_payload();
    stream.expires_after(timeout);
    http::write(stream, req, ec);
    if (ec) throw ClientError("cannot talk to steward at " + to.describe() + ": " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser, ec);
    if (ec) throw ClientError("no answer from steward at " + to.describe() + ": " + ec.message());
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace steward::admin
