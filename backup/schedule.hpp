// Cron schedules (5 fields and @-macros) evaluated in a time zone, and the catch-up rule.
#pragma once

#include <date/tz.h>

#include <bitset>
#include <chrono>
#include <optional>
#include <string>

namespace steward::backup {

class CronSchedule {
  public:
    // "m h dom mon dow" (lists, ranges, steps, JAN..DEC, SUN..SAT, 7 = Sunday), optionally with a
    // seconds field first ("*/10 * * * * *", as robfig/cron), or
    // @hourly/@daily/@midnight/@weekly/@monthly/@yearly/@annually.
    // Throws std::invalid_argument with a message naming the field and the problem.
    static CronSchedule parse(const std::string& text);

    // The first scheduled instant strictly after `t`, in `tz` (nullptr means UTC). A local time
    // that does not exist (spring forward) runs at the next valid minute; one that happens twice
    // (fall back) runs once, at its first occurrence. Throws std::runtime_error if there is none
    // within 5 years (e.g. "0 0 30 2 *").
    std::chrono::system_clock::time_point next_after(std::chrono::system_clock::time_point t,
                                                     const date::time_zone* tz) const;

    // The last scheduled instant at or before `t` (nullopt if none within 5 years).
    std::optional<std::chrono::system_clock::time_point> previous_at_or_before(
        std::chrono::system_clock::time_point t, const date::time_zone* tz) const;

    const std::string& text() const { return text_; }

    // Does the local wall-clock second match the fields?
    bool matches(date::local_seconds local_minute) const;

    // The longest interval between two consecutive runs within a year from `from` (the stale-backup
    // alert's threshold: "0 2 * * 1-5" has a 3-day weekend gap).
    std::chrono::seconds max_gap(std::chrono::system_clock::time_point from, const date::time_zone* tz) const;

    // The parsed fields, for writing the schedule in another syntax (systemd OnCalendar=).
    struct Fields {
        std::bitset<60> seconds, minutes;
        std::bitset<24> hours;
        std::bitset<32> days_of_month;
        std::bitset<13> months;
        std::bitset<7> days_of_week;
        bool dom_restricted = false, dow_restricted = false;
    };
    Fields fields() const {
        return {seconds_, minutes_,      hours_,          days_of_month_,
                months_,  days_of_week_, dom_restricted_, dow_restricted_};
    }

  private:
    bool day_matches(date::local_days day) const;

    std::string text_;
    std::bitset<60> seconds_;  // {0} for a 5-field expression
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_of_month_;  // 1..31
    std::bitset<13> months_;         // 1..12
    std::bitset<7> days_of_week_;    // 0 = Sunday
    bool dom_restricted_ = false;    // field was not "*": the standard OR rule applies
    bool dow_restricted_ = false;
};

// The spec's `timezone` ("UTC", "Europe/Berlin") from the system tz database; throws
// std::invalid_argument naming the zone when it is unknown.
const date::time_zone* find_time_zone(const std::string& name);

// The catch-up rule: true when there is no last success, or when the last scheduled instant at or
// before `now` came after the last success (it was missed) and the last success is older than one
// period (the interval ending at that instant), so no later backup covers it. A last success in the
// future (clock skew) is not due. Pass the last success's start time for no grace at all.
bool catch_up_due(std::optional<std::chrono::system_clock::time_point> last_success,
                  std::chrono::system_clock::time_point now, const CronSchedule& schedule,
                  const date::time_zone* tz);

}  // namespace steward::backup
