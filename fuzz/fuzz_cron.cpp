// Fuzzes the cron parser and the next/previous run search: the next run is strictly later and matches.
#include <chrono>
#include <string>

#include "backup/schedule.hpp"
#include "fuzz/fuzz_target.hpp"

STEWARD_FUZZ_TARGET(cron) {
    std::string text(steward::fuzz::as_text(data, size));
    steward::backup::CronSchedule schedule;
    try {
        schedule = steward::backup::CronSchedule::parse(text);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    static const auto* berlin = steward::backup::find_time_zone("Europe/Berlin");
    // 2026-03-29 00:30 UTC: the night Berlin springs forward, where the search is hardest.
    const std::chrono::system_clock::time_point t{std::chrono::seconds{1774744200}};
    for (const auto* tz : {static_cast<const date::time_zone*>(nullptr), berlin}) {
        try {
            auto next = schedule.next_after(t, tz);
            STEWARD_FUZZ_CHECK(next > t, text);
            auto previous = schedule.previous_at_or_before(next, tz);
            STEWARD_FUZZ_CHECK(previous && *previous <= next, text);
        } catch (const std::runtime_error&) {  // no run within 5 years ("0 0 30 2 *")
        }
    }
    return 0;
}
