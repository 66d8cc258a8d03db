// The admin listener: Boost.Beast on the daemon's loop, with header/body limits, timeouts and a connection
// cap.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/admin/http.hpp"

namespace steward::admin {

struct ServerLimits {
    std::chrono::milliseconds read_timeout{
        10000};  // a whole request (headers and body), or an idle keep-alive
    std::size_t max_connections = 1024;
    std::size_t header_limit = 8 * 1024;
};

class Server {
  public:
    using Handler = std::function<Response(const Request&)>;
    Server(boost::asio::io_context& io, Handler handler, ServerLimits limits = {});
    ~Server();
    // Binds "host:port" ("127.0.0.1:9180", "[::1]:9180", ":9180" for every interface). Throws
    // std::runtime_error saying what went wrong and what to do.
    void listen(const std::string& address);
    unsigned short port() const;
    std::size_t connections() const { return *connections_; }

  private:
    void accept();

    std::shared_ptr<Handler> handler_;
    ServerLimits limits_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<std::size_t> connections_ = std::make_shared<std::size_t>(0);
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// What a connection sending exactly `bytes` gets back for its first request: the session's parser, limits,
// error mapping and handler call, without a socket (the fuzzer's way in). A request cut short is a 400.
Response respond_to_bytes(std::string_view bytes, const Server::Handler& handler,
                          const ServerLimits& limits = {});

}  // namespace steward::admin
