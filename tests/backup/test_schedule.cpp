// Unit tests of cron parsing, next-run computation across DST in Europe/Berlin, and catch-up.
#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include "backup/schedule.hpp"

namespace steward::backup {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
    return date::sys_days{date::year{y} / m / d} + hours{hh} + minutes{mm};
}

const date::time_zone* berlin() { return date::locate_zone("Europe/Berlin"); }

std::string show(system_clock::time_point t) { return date::format("%F %T UTC", date::floor<seconds>(t)); }

// The next `n` runs after `from`, as UTC text.
std::vector<std::string> runs(const std::string& expr, sys_seconds from, int n, const date::time_zone* tz) {
    auto s = CronSchedule::parse(expr);
    std::vector<std::string> out;
    system_clock::time_point t = from;
    for (int i = 0; i < n; ++i) {
        t = s.next_after(t, tz);
        out.push_back(show(t));
    }
    return out;
}

std::string parse_error(const std::string& expr) {
    try {
        CronSchedule::parse(expr);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Cron, DailyAtFixedTimeUtc) {
    EXPECT_EQ(runs("0 2 * * *", utc(2026, 1, 1), 2, nullptr),
              (std::vector<std::string>{"2026-01-01 02:00:00 UTC", "2026-01-02 02:00:00 UTC"}));
}

TEST(Cron, NextIsStrictlyAfter) {
    auto s = CronSchedule::parse("0 2 * * *");
    EXPECT_EQ(show(s.next_after(utc(2026, 1, 1, 2), nullptr)), "2026-01-02 02:00:00 UTC");
    EXPECT_EQ(show(s.next_after(utc(2026, 1, 1, 1, 59) + seconds{59}, nullptr)), "2026-01-01 02:00:00 UTC");
}

TEST(Cron, DailyInBerlinSpringForwardRunsAtNextValidMinute) {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 does not exist.
    EXPECT_EQ(runs("30 2 * * *", utc(2026, 3, 27, 12), 3, berlin()),
              (std::vector<std::string>{"2026-03-28 01:30:00 UTC", "2026-03-29 01:00:00 UTC",
                                        "2026-03-30 00:30:00 UTC"}));
}

TEST(Cron, DailyInBerlinFallBackRunsOnce) {
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    EXPECT_EQ(runs("30 2 * * *", utc(2026, 10, 24, 12), 3, berlin()),
              (std::vector<std::string>{"2026-10-25 00:30:00 UTC", "2026-10-26 01:30:00 UTC",
                                        "2026-10-27 01:30:00 UTC"}));
    // Asked from inside the repeated hour (02:10 CET, second pass): the 02:30 run already happened.
    auto s = CronSchedule::parse("30 2 * * *");
    EXPECT_EQ(show(s.next_after(utc(2026, 10, 25, 1, 10), berlin())), "2026-10-26 01:30:00 UTC");
    // From 02:10 CEST (first pass) it is still ahead.
    EXPECT_EQ(show(s.next_after(utc(2026, 10, 25, 0, 10), berlin())), "2026-10-25 00:30:00 UTC");
}

TEST(Cron, HourlyInBerlinSpringForward) {
    // 01:00 CET, then 02:00 does not exist so it runs at 03:00 CEST (also the 03:00 run: once), then 04:00.
    EXPECT_EQ(runs("0 * * * *", utc(2026, 3, 28, 23, 30), 3, berlin()),
              (std::vector<std::string>{"2026-03-29 00:00:00 UTC", "2026-03-29 01:00:00 UTC",
                                        "2026-03-29 02:00:00 UTC"}));
}

TEST(Cron, HourlyInBerlinFallBack) {
    // 02:00 CEST runs; 02:00 CET (its repeat) does not; then 03:00 CET.
    EXPECT_EQ(runs("0 * * * *", utc(2026, 10, 24, 23, 30), 3, berlin()),
              (std::vector<std::string>{"2026-10-25 00:00:00 UTC", "2026-10-25 02:00:00 UTC",
                                        "2026-10-25 03:00:00 UTC"}));
}

TEST(Cron, RunsPerLocalDayAcrossDst) {
    auto count_day = [](const std::string& expr, int y, unsigned m, unsigned d) {
        auto tz = berlin();
        auto s = CronSchedule::parse(expr);
        auto begin = tz->to_sys(date::local_days{date::year{y} / m / d});
        auto end = tz->to_sys(date::local_days{date::year{y} / m / d} + date::days{1});
        int n = 0;
        for (auto t = s.next_after(begin - seconds{1}, tz); t < end; t = s.next_after(t, tz)) ++n;
        return n;
    };
    EXPECT_EQ(count_day("0 * * * *", 2026, 3, 29), 23);
    EXPECT_EQ(count_day("0 * * * *", 2026, 10, 25), 24);
    EXPECT_EQ(count_day("*/15 2 * * *", 2026, 3, 29), 1);
    EXPECT_EQ(count_day("*/15 2 * * *", 2026, 10, 25), 4);
    EXPECT_EQ(count_day("30 2 * * *", 2026, 3, 29), 1);
    EXPECT_EQ(count_day("30 2 * * *", 2026, 10, 25), 1);
}

TEST(Cron, ListsRangesStepsAndNames) {
    EXPECT_EQ(runs("5/20 * * * *", utc(2026, 1, 1), 4, nullptr),
              (std::vector<std::string>{"2026-01-01 00:05:00 UTC", "2026-01-01 00:25:00 UTC",
                                        "2026-01-01 00:45:00 UTC", "2026-01-01 01:05:00 UTC"}));
    EXPECT_EQ(runs("0 9,17 * * *", utc(2026, 1, 1), 3, nullptr),
              (std::vector<std::string>{"2026-01-01 09:00:00 UTC", "2026-01-01 17:00:00 UTC",
                                        "2026-01-02 09:00:00 UTC"}));
    // 2026-01-02 is a Friday; MON-FRI skips the weekend.
    EXPECT_EQ(runs("0 9 * jan-Mar MON-FRI", utc(2026, 1, 2, 10), 2, nullptr),
              (std::vector<std::string>{"2026-01-05 09:00:00 UTC", "2026-01-06 09:00:00 UTC"}));
    EXPECT_EQ(runs("0 0 * * *", utc(2026, 1, 1), 1, nullptr), runs("@daily", utc(2026, 1, 1), 1, nullptr));
    EXPECT_EQ(runs("0 8-18/5 * * *", utc(2026, 1, 1), 4, nullptr),
              (std::vector<std::string>{"2026-01-01 08:00:00 UTC", "2026-01-01 13:00:00 UTC",
                                        "2026-01-01 18:00:00 UTC", "2026-01-02 08:00:00 UTC"}));
}

TEST(Cron, SundayIsZeroOrSeven) {
    // 2026-01-04 is a Sunday.
    EXPECT_EQ(runs("0 0 * * 7", utc(2026, 1, 1), 1, nullptr),
              (std::vector<std::string>{"2026-01-04 00:00:00 UTC"}));
    EXPECT_EQ(runs("0 0 * * 0", utc(2026, 1, 1), 1, nullptr),
              (std::vector<std::string>{"2026-01-04 00:00:00 UTC"}));
    EXPECT_EQ(runs("0 0 * * SUN", utc(2026, 1, 1), 1, nullptr),
              (std::vector<std::string>{"2026-01-04 00:00:00 UTC"}));
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothRestricted) {
    // "13th of the month or any Friday": 2026-02-06 (Fri), 02-13 (Fri and 13th), 02-20 (Fri), 02-27 (Fri),
    // 03-06, 03-13 (Fri).
    EXPECT_EQ(runs("0 0 13 * FRI", utc(2026, 2, 1), 4, nullptr),
              (std::vector<std::string>{"2026-02-06 00:00:00 UTC", "2026-02-13 00:00:00 UTC",
                                        "2026-02-20 00:00:00 UTC", "2026-02-27 00:00:00 UTC"}));
    EXPECT_EQ(runs("0 0 1 * MON", utc(2026, 2, 24), 2, nullptr),
              (std::vector<std::string>{"2026-03-01 00:00:00 UTC", "2026-03-02 00:00:00 UTC"}));
    // A "*"-prefixed day-of-month does not count as restricted: both must match.
    // Odd days that are Mondays: 2026-01-05, 2026-01-19.
    EXPECT_EQ(runs("0 0 */2 * MON", utc(2026, 1, 1), 2, nullptr),
              (std::vector<std::string>{"2026-01-05 00:00:00 UTC", "2026-01-19 00:00:00 UTC"}));
}

TEST(Cron, Macros) {
    // 2026-01-01 is a Thursday.
    EXPECT_EQ(runs("@hourly", utc(2026, 1, 1, 0, 1), 1, nullptr),
              (std::vector<std::string>{"2026-01-01 01:00:00 UTC"}));
    EXPECT_EQ(runs("@weekly", utc(2026, 1, 1), 1, nullptr),
              (std::vector<std::string>{"2026-01-04 00:00:00 UTC"}));
    EXPECT_EQ(runs("@monthly", utc(2026, 1, 1), 2, nullptr),
              (std::vector<std::string>{"2026-02-01 00:00:00 UTC", "2026-03-01 00:00:00 UTC"}));
    EXPECT_EQ(runs("@yearly", utc(2026, 1, 1), 1, nullptr),
              (std::vector<std::string>{"2027-01-01 00:00:00 UTC"}));
    EXPECT_EQ(runs("@daily", utc(2026, 1, 1), 1, berlin()),
              (std::vector<std::string>{"2026-01-01 23:00:00 UTC"}));
    EXPECT_EQ(CronSchedule::parse("  @daily ").text(), "@daily");
}

TEST(Cron, LeapDayOnly) {
    EXPECT_EQ(runs("0 0 29 2 *", utc(2026, 1, 1), 1, nullptr),
              (std::vector<std::string>{"2028-02-29 00:00:00 UTC"}));
}

TEST(Cron, InvalidExpressionsHaveClearErrors) {
    EXPECT_NE(parse_error("").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("* * * *").find("expected 5 fields"), std::string::npos);
    EXPECT_NE(parse_error("* * * *").find("got 4"), std::string::npos);
    EXPECT_NE(parse_error("* * * * * * *").find("got 7"), std::string::npos);
    EXPECT_NE(parse_error("60 * * * *").find("minute field \"60\": value 60 out of range 0-59"),
              std::string::npos);
    EXPECT_NE(parse_error("0 24 * * *").find("hour field"), std::string::npos);
    EXPECT_NE(parse_error("0 0 0 * *").find("day-of-month field \"0\""), std::string::npos);
    EXPECT_NE(parse_error("0 0 * 13 *").find("month field"), std::string::npos);
    EXPECT_NE(parse_error("0 0 * * 8").find("day-of-week field"), std::string::npos);
    EXPECT_NE(parse_error("*/0 * * * *").find("step must be a positive number"), std::string::npos);
    EXPECT_NE(parse_error("5-1 * * * *").find("range start is after its end"), std::string::npos);
    EXPECT_NE(parse_error("1,,2 * * * *").find("empty list item"), std::string::npos);
    EXPECT_NE(parse_error("x * * * *").find("minute field \"x\": expected a number"), std::string::npos);
    EXPECT_NE(parse_error("0 0 * FOO *").find("expected a number or a name"), std::string::npos);
    EXPECT_NE(parse_error("0 0 * * MONDAY").find("day-of-week"), std::string::npos);
    EXPECT_NE(parse_error("@fortnightly").find("unknown macro"), std::string::npos);
    EXPECT_NE(parse_error("0 0 31 2 *").find("never match"), std::string::npos);
    EXPECT_NE(parse_error("0 0 30 2 *").find("invalid cron expression \"0 0 30 2 *\""), std::string::npos);
}

TEST(Cron, PreviousAtOrBefore) {
    auto s = CronSchedule::parse("30 2 * * *");
    EXPECT_EQ(show(*s.previous_at_or_before(utc(2026, 1, 2, 2, 30), nullptr)), "2026-01-02 02:30:00 UTC");
    EXPECT_EQ(show(*s.previous_at_or_before(utc(2026, 1, 2, 2, 29), nullptr)), "2026-01-01 02:30:00 UTC");
    // Second pass through 02:30 on the fall-back day: the run was the first pass.
    EXPECT_EQ(show(*s.previous_at_or_before(utc(2026, 10, 25, 1, 45), berlin())), "2026-10-25 00:30:00 UTC");
    EXPECT_EQ(show(*s.previous_at_or_before(utc(2026, 3, 29, 1, 5), berlin())), "2026-03-29 01:00:00 UTC");
}

TEST(TimeZone, FindsIanaNamesAndRejectsUnknownOnes) {
    EXPECT_EQ(find_time_zone("Europe/Berlin")->name(), "Europe/Berlin");
    EXPECT_EQ(find_time_zone("UTC")->name(), "UTC");
    try {
        find_time_zone("Mars/Olympus");
        FAIL() << "no error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("unknown time zone \"Mars/Olympus\""), std::string::npos);
    }
}

TEST(CatchUp, NoLastSuccessIsDue) {
    EXPECT_TRUE(catch_up_due(std::nullopt, utc(2026, 1, 1), CronSchedule::parse("0 2 * * *"), nullptr));
}

// The rule: a missed backup runs at start when the last success is older than one period.
TEST(CatchUp, DueWhenTheLastSuccessIsOlderThanOnePeriod) {
    auto s = CronSchedule::parse("0 2 * * *");
    // Last success at 02:05 today; now 23:00: the next run (tomorrow 02:00) has not come yet.
    EXPECT_FALSE(catch_up_due(utc(2026, 1, 1, 2, 5), utc(2026, 1, 1, 23), s, nullptr));
    // Past tomorrow's 02:00 and more than a day since the last success: missed.
    EXPECT_TRUE(catch_up_due(utc(2026, 1, 1, 2, 5), utc(2026, 1, 2, 2, 6), s, nullptr));
    EXPECT_TRUE(catch_up_due(utc(2025, 12, 30, 2, 5), utc(2026, 1, 1, 1), s, nullptr));
    // Past 02:00 but the last success is younger than one period (24 h): not due.
    EXPECT_FALSE(catch_up_due(utc(2026, 1, 1, 2, 5), utc(2026, 1, 2, 2, 1), s, nullptr));
    // A manual backup yesterday afternoon covers this morning's missed 02:00 run.
    EXPECT_FALSE(catch_up_due(utc(2026, 1, 1, 14), utc(2026, 1, 2, 3), s, nullptr));
    // A last success after now (clock skew between hosts) is not a reason to run.
    EXPECT_FALSE(catch_up_due(utc(2026, 1, 3), utc(2026, 1, 2), s, nullptr));
    // In Berlin the 02:00 run is 01:00 UTC in winter.
    EXPECT_TRUE(catch_up_due(utc(2026, 1, 1, 1, 5), utc(2026, 1, 2, 1, 30), s, berlin()));
    EXPECT_FALSE(catch_up_due(utc(2026, 1, 1, 1, 5), utc(2026, 1, 2, 0, 59), s, berlin()));
}

TEST(CatchUp, PeriodIsTheIntervalEndingAtTheMissedRun) {
    // Weekdays only (2026-01-02 is a Friday): over the weekend one period is 72 h.
    auto weekdays = CronSchedule::parse("0 2 * * 1-5");
    EXPECT_FALSE(catch_up_due(utc(2026, 1, 2, 2, 5), utc(2026, 1, 5, 1), weekdays, nullptr));
    EXPECT_TRUE(catch_up_due(utc(2026, 1, 2, 2, 5), utc(2026, 1, 5, 3), weekdays, nullptr));
    // Fall back in Berlin: 2026-10-24 04:00 CEST (02:00 UTC) to 2026-10-25 04:00 CET (03:00 UTC) is 25 h:
    // 24 h 25 min after the Saturday run nothing was missed yet; after 03:00 UTC the run was missed.
    auto daily4 = CronSchedule::parse("0 4 * * *");
    EXPECT_FALSE(catch_up_due(utc(2026, 10, 24, 2, 5), utc(2026, 10, 25, 2, 30), daily4, berlin()));
    EXPECT_TRUE(catch_up_due(utc(2026, 10, 24, 2, 5), utc(2026, 10, 25, 3, 10), daily4, berlin()));
    // Spring forward: 2026-03-28 04:00 CET (03:00 UTC) to 2026-03-29 04:00 CEST (02:00 UTC) is 23 h.
    EXPECT_TRUE(catch_up_due(utc(2026, 3, 28, 3, 5), utc(2026, 3, 29, 2, 10), daily4, berlin()));
}

}  // namespace
}  // namespace steward::backup

namespace steward::backup {
namespace {

TEST(CronSeconds, SixFieldsPutSecondsFirst) {
    EXPECT_EQ(runs("*/20 * * * * *", utc(2026, 1, 1), 4, nullptr),
              (std::vector<std::string>{"2026-01-01 00:00:20 UTC", "2026-01-01 00:00:40 UTC",
                                        "2026-01-01 00:01:00 UTC", "2026-01-01 00:01:20 UTC"}));
    EXPECT_EQ(runs("30 0 2 * * *", utc(2026, 1, 1), 1, berlin()),
              (std::vector<std::string>{"2026-01-01 01:00:30 UTC"}));
}

TEST(CronSeconds, FiveFieldsRunAtSecondZero) {
    auto s = CronSchedule::parse("* * * * *");
    EXPECT_EQ(show(s.next_after(utc(2026, 1, 1) + seconds{1}, nullptr)), "2026-01-01 00:01:00 UTC");
}

TEST(CronSeconds, PreviousRunHonoursSeconds) {
    auto s = CronSchedule::parse("*/15 * * * * *");
    EXPECT_EQ(show(*s.previous_at_or_before(utc(2026, 1, 1, 0, 1) + seconds{14}, nullptr)),
              "2026-01-01 00:01:00 UTC");
}

TEST(CronSeconds, BadSecondsFieldIsNamed) {
    EXPECT_NE(parse_error("60 * * * * *").find("second field"), std::string::npos) << parse_error("60 * * * * *");
    EXPECT_NE(parse_error("* * * * * * *").find("got 7"), std::string::npos);
}

TEST(CronMaxGap, WeekdaysHaveAThreeDayWeekendGap) {
    auto s = CronSchedule::parse("0 2 * * 1-5");
    EXPECT_EQ(s.max_gap(utc(2026, 1, 1), nullptr), hours(72));
}

TEST(CronMaxGap, DailyIsOneDayAndAcrossDstInBerlinUpTo25Hours) {
    EXPECT_EQ(CronSchedule::parse("0 2 * * *").max_gap(utc(2026, 1, 1), nullptr), hours(24));
    EXPECT_EQ(CronSchedule::parse("30 2 * * *").max_gap(utc(2026, 1, 1), berlin()), hours(25));
}

TEST(CronMaxGap, FrequentSchedulesAreFast) {
    auto t0 = steady_clock::now();
    EXPECT_EQ(CronSchedule::parse("*/5 * * * * *").max_gap(utc(2026, 1, 1), nullptr), seconds(5));
    EXPECT_LT(steady_clock::now() - t0, seconds(5));
}

}  // namespace
}  // namespace steward::backup
