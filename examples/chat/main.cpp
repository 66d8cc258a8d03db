// chat-api: the example chat service steward supervises in the demo; it knows nothing of steward.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "app.hpp"
#include "config.hpp"
#include "http_server.hpp"
#include "log.hpp"

namespace {

constexpr int kDatabaseThreads = 2;
// Longer than a statement (5 s) plus a connect (3 s), so requests in progress can finish.
constexpr std::chrono::seconds kStopDeadline{15};

std::optional<std::string> from_environment(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args)
        if (a == "-h" || a == "--help") {
            std::cout << chat::usage();
            return 0;
        }
    chat::Config config;
    try {
        config = chat::load_config(from_environment, args);
    } catch (const chat::ConfigError& e) {
        std::cerr << "chat-api: " << e.what() << "\n" << chat::usage();
        return 2;
    }
    // libpq reads this on every connect; a connect_timeout in DATABASE_URL still wins.
    ::setenv("PGCONNECT_TIMEOUT", "3", 0);
    std::signal(SIGPIPE, SIG_IGN);

    boost::asio::io_context io{1};
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::steady_timer deadline(io);
    boost::asio::thread_pool pool(kDatabaseThreads);
    chat::ChatApp app(config, io, pool);
    std::optional<chat::HttpServer> server;
    const boost::asio::ip::tcp::endpoint at(boost::asio::ip::make_address("127.0.0.1"), config.port);
    try {
        server.emplace(io, at, app);
    } catch (const boost::system::system_error& e) {
        std::cerr << "chat-api: cannot listen on 127.0.0.1:" << config.port << ": " << e.code().message()
                  << "\n";
        return 1;
    }
    server->start();
    chat::log_info("chat-api listening address=127.0.0.1:" + std::to_string(config.port) +
                   " require_auth=" + (config.require_auth ? "true" : "false") +
                   " cors_origins=" + std::to_string(config.cors_origins.size()));

    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        chat::log_info(std::string("stopping signal=") + (signo == SIGTERM ? "TERM" : "INT"));
        // A second signal, or requests that outlive the deadline, end the loop at once.
        signals.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            chat::log_info("second signal: stopping now");
            io.stop();
        });
        deadline.expires_after(kStopDeadline);
        deadline.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            chat::log_error("requests still running after the stop deadline: stopping now");
            io.stop();
        });
        // Last: with no connection open, `drained` runs at once and cancels the waits above.
        server->stop([&] {
            signals.cancel();
            deadline.cancel();
        });
    });

    io.run();
    pool.join();
    chat::log_info("chat-api stopped");
    return 0;
}
