// Beast sessions: one request at a time per connection, keep-alive, bounded reads, no blocking.
#include "daemon/admin/server.hpp"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.hpp"
#include "daemon/admin/router.hpp"

namespace steward::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What a request that could not be read gets back (the parser's error): 413, 431 or 400.
Response read_error_response(beast::error_code ec) {
    if (ec == http::error::body_limit)
        return error_response(413, "too_large", "request bodies are limited to 64 KiB");
    if (ec == http::error::header_limit)
        return error_response(431, "header_too_large", "request headers are limited to 8 KiB");
    return error_response(400, "bad_request", "malformed HTTP request");
}

Request to_request(const http::request<http::string_body>& msg, const std::string& peer) {
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers[name] = std::string(field.value());
    }
    req.body = msg.body();
    req.peer = peer;
    return req;
}

// The handler's answer; an exception becomes a 500 that says no more than where to look.
Response respond(const Server::Handler& handler, const Request& req) {
    try {
        return handler(req);
    } catch (const std::exception& e) {
        log::error("admin", "request failed", {{"path", req.target.substr(0, 200)}, {"error", e.what()}});
        return error_response(500, "internal", "the request failed; see steward's log");
    }
}

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket socket, std::shared_ptr<Server::Handler> handler, ServerLimits limits,
            std::shared_ptr<std::size_t> connections)
        : stream_(std::move(socket)),
          handler_(handler),
          limits_(limits),
          connections_(std::move(connections)) {
        ++*connections_;
        boost::system::error_code ec;
        auto ep = stream_.socket().remote_endpoint(ec);
        if (!ec) peer_ = fmt::format("{}:{}", ep.address().to_string(), ep.port());
    }
    ~Session() { --*connections_; }

    void start() { read(); }

  private:
    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits_.header_limit));
        parser_->body_limit(kMaxBody);
        stream_.expires_after(limits_.read_timeout);
        http::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted)
            return close();
        if (ec) return reply(read_error_response(ec), false);
        const auto& msg = parser_->get();
        reply(respond(*handler_, to_request(msg, peer_)), msg.keep_alive());
    }

    void reply(Response r, bool keep_alive) {
        auto res =
            std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
        res->set(http::field::content_type, r.content_type);
        for (const auto& [k, v] : r.headers) res->set(k, v);
        res->keep_alive(keep_alive);
        res->body() = std::move(r.body);
        res->prepare_payload();
        stream_.expires_after(limits_.read_timeout);
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
                              if (ec || !keep_alive) return self->close();
                              self->read();
                          });
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{8192};
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<Server::Handler> handler_;
    ServerLimits limits_;
    std::shared_ptr<std::size_t> connections_;
    std::string peer_;
};

tcp::endpoint parse_listen(const std::string& address) {
    std::string host, port;
    if (!address.empty() && address.front() == '[') {
        auto close = address.find(']');
        if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
            throw std::runtime_error("admin.listen '" + address + "': expected [ipv6]:port");
        host = address.substr(1, close - 1);
        port = address.substr(close + 2);
    } else {
        auto colon = address.rfind(':');
        if (colon == std::string::npos)
            throw std::runtime_error("admin.listen '" + address + "': expected host:port");
        host = address.substr(0, colon);
        port = address.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) > 65535)
        throw std::runtime_error("admin.listen '" + address + "': the port must be a number from 0 to 65535");
    auto p = static_cast<unsigned short>(std::stoi(port));
    if (host.empty()) return tcp::endpoint(tcp::v6(), p);  // every interface, IPv4 too
    if (host == "localhost") host = "127.0.0.1";
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(host, ec);
    if (ec)
        throw std::runtime_error("admin.listen '" + address +
                                 "': the host must be an IP address (127.0.0.1, ::1) or localhost");
    return tcp::endpoint(ip, p);
}

}  // namespace

Server::Server(asio::io_context& io, Handler handler, ServerLimits limits)
    : handler_(std::make_shared<Handler>(std::move(handler))), limits_(limits), acceptor_(io) {}

Server::~Server() {
    *alive_ = false;
    boost::system::error_code ec;
    acceptor_.close(ec);
}

void Server::listen(const std::string& address) {
    auto ep = parse_listen(address);
    boost::system::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && ep.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("cannot listen on {} for the admin API: {} (is another steward running? "
                        "set admin.listen to a free address)",
                        address, ec.message()));
    log::info("admin", "admin API listening", {{"address", address}, {"port", port()}});
    accept();
}

unsigned short Server::port() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
}

void Server::accept() {
    std::weak_ptr<bool> alive = alive_;
    acceptor_.async_accept([this, alive](boost::system::error_code ec, tcp::socket socket) {
        if (alive.expired() || ec == asio::error::operation_aborted) return;
        if (!ec) {
            if (*connections_ >= limits_.max_connections) {
                boost::system::error_code ignored;
                socket.close(ignored);  // at the cap: refuse rather than grow without bound
            } else {
                std::make_shared<Session>(std::move(socket), handler_, limits_, connections_)->start();
            }
        }
        accept();
    });
}

Response respond_to_bytes(std::string_view bytes, const Server::Handler& handler,
                          const ServerLimits& limits) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(kMaxBody);
    parser.eager(true);
    beast::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_done() && used < bytes.size()) {
        std::size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        if (n == 0 && !ec) break;  // the parser needs more than the bytes hold
        used += n;
    }
    if (ec == http::error::need_more) ec = {};
    if (!ec && !parser.is_done() && parser.got_some()) parser.put_eof(ec);  // Beast asserts got_some()
    if (!ec && !parser.is_done()) ec = http::error::partial_message;
    if (ec) return read_error_response(ec);
    return respond(handler, to_request(parser.get(), "fuzz"));
}

}  // namespace steward::admin
