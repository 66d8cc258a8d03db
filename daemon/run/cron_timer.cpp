// Cron slots on a steady timer; waits are cut to a minute so a wall-clock jump is noticed.
#include "daemon/run/cron_timer.hpp"

#include "core/log.hpp"

namespace steward::run {

CronTimer::CronTimer(boost::asio::io_context& io, backup::CronSchedule schedule, const date::time_zone* tz,
                     Fire fire)
    : timer_(io), schedule_(std::move(schedule)), tz_(tz), fire_(std::move(fire)) {}

CronTimer::~CronTimer() {
    *alive_ = false;
    timer_.cancel();
}

void CronTimer::start() {
    try {
        next_ = schedule_.next_after(std::chrono::system_clock::now(), tz_);
    } catch (const std::exception& e) {
        log::error("schedule", "schedule has no next run",
                   {{"schedule", schedule_.text()}, {"error", e.what()}});
        next_.reset();
        return;
    }
    arm();
}

void CronTimer::stop() {
    next_.reset();
    timer_.cancel();
}

void CronTimer::arm() {
    if (!next_) return;
    auto left = *next_ - std::chrono::system_clock::now();
    auto wait = std::min<std::chrono::system_clock::duration>(
        std::max<std::chrono::system_clock::duration>(left, {}), std::chrono::minutes(1));
    timer_.expires_after(wait);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive](boost::system::error_code ec) {
        if (ec || alive.expired() || !next_) return;
        auto now = std::chrono::system_clock::now();
        if (now >= *next_) {
            TimePoint slot = *next_;
            try {
                next_ = schedule_.next_after(std::max(now, slot), tz_);
            } catch (const std::exception&) {
                next_.reset();
            }
            fire_(slot);  // may stop() or destroy us
            if (alive.expired()) return;
        }
        arm();
    });
}

}  // namespace steward::run
