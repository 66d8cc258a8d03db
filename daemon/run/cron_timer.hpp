// Fires a callback at every run of a cron schedule, in the spec's time zone, on the loop.
#pragma once

#include <date/tz.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "backup/schedule.hpp"
#include "daemon/run/state.hpp"

namespace steward::run {

class CronTimer {
  public:
    using Fire = std::function<void(TimePoint slot)>;
    CronTimer(boost::asio::io_context& io, backup::CronSchedule schedule, const date::time_zone* tz,
              Fire fire);
    ~CronTimer();
    CronTimer(const CronTimer&) = delete;
    CronTimer& operator=(const CronTimer&) = delete;

    void start();
    void stop();
    std::optional<TimePoint> next() const { return next_; }
    const backup::CronSchedule& schedule() const { return schedule_; }

  private:
    void arm();

    boost::asio::steady_timer timer_;
    backup::CronSchedule schedule_;
    const date::time_zone* tz_;
    Fire fire_;
    std::optional<TimePoint> next_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::run
