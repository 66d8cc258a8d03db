// systemd's notify protocol (sd_notify): READY, STATUS, EXTEND_TIMEOUT_USEC, WATCHDOG, STOPPING.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace steward::run {

class Notifier {
  public:
    explicit Notifier(boost::asio::io_context& io);
    ~Notifier();

    bool enabled() const { return enabled_; }  // NOTIFY_SOCKET was set
    void ready(const std::string& status);
    void status(const std::string& status);
    void stopping(const std::string& status);
    // Asks systemd for `extra` more time to start (or stop) from now.
    void extend_timeout(std::chrono::microseconds extra);
    // WATCHDOG=1 every half of WATCHDOG_USEC, from the loop itself: a stuck loop stops the pings.
    void start_watchdog();
    std::chrono::microseconds watchdog_interval() const { return watchdog_; }

  private:
    void send(const std::string& message);
    void ping();

    boost::asio::steady_timer timer_;
    bool enabled_ = false;
    std::chrono::microseconds watchdog_{0};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::run
