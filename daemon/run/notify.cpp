// sd_notify messages and the watchdog timer.
#include "daemon/run/notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "core/log.hpp"

namespace steward::run {

Notifier::Notifier(boost::asio::io_context& io) : timer_(io) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket && *socket;
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
}

Notifier::~Notifier() {
    *alive_ = false;
    timer_.cancel();
}

void Notifier::send(const std::string& message) {
    if (!enabled_) return;
    int r = sd_notify(0, message.c_str());
    if (r < 0) log::warn("run", "sd_notify failed", {{"error", std::string(std::strerror(-r))}});
}

void Notifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }
void Notifier::status(const std::string& status) { send("STATUS=" + status); }
void Notifier::stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + status); }

void Notifier::extend_timeout(std::chrono::microseconds extra) {
    send("EXTEND_TIMEOUT_USEC=" + std::to_string(extra.count()));
}

void Notifier::start_watchdog() {
    if (watchdog_.count() <= 0) return;
    log::info("run", "watchdog on", {{"ping_every_ms", static_cast<std::int64_t>(watchdog_.count() / 2000)}});
    ping();
}

void Notifier::ping() {
    send("WATCHDOG=1");
    timer_.expires_after(watchdog_ / 2);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive](boost::system::error_code ec) {
        if (!ec && !alive.expired()) ping();
    });
}

}  // namespace steward::run
