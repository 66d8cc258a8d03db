// The chat API's HTTP/1.1 server on Boost.Beast: one event-loop thread, bounded requests, graceful stop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>

#include "app.hpp"

namespace chat {

struct ServerLimits {
    std::size_t body_bytes = 64 * 1024;     // 413 beyond
    std::size_t header_bytes = 8 * 1024;    // 431 beyond
    std::chrono::seconds read_timeout{30};  // for one request's header and body, and idle keep-alive
    std::chrono::seconds write_timeout{30};
    std::size_t max_connections = 256;  // further connections are closed at once
};

class Session;

class HttpServer {
  public:
    // Binds at once; throws boost::system::system_error when the address is taken.
    HttpServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at, ChatApp& app,
               ServerLimits limits = {});

    void start();
    // Stops accepting, lets requests in progress finish, closes idle connections; `drained` runs
    // on the loop once no connection is left.
    void stop(std::function<void()> drained);

  private:
    friend class Session;
    void accept();
    void closed(Session* session);
    void check_drained();

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_;
    ChatApp& app_;
    ServerLimits limits_;
    std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
    bool stopping_ = false;
    bool limit_logged_ = false;
    std::function<void()> drained_;
};

}  // namespace chat
