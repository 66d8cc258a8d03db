// Cron to OnCalendar=: systemd's own calendar evaluation fires exactly when backup::CronSchedule does.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "backup/schedule.hpp"
#include "core/process.hpp"
#include "templates/render.hpp"

using namespace steward;
using Clock = std::chrono::system_clock;

namespace {

template <std::size_t N>
std::vector<int> values(const std::bitset<N>& bits, int first) {
    std::vector<int> out;
    for (std::size_t i = first; i < N; ++i)
        if (bits[i]) out.push_back(static_cast<int>(i));
    return out;
}

std::vector<std::string> lines_for(const std::string& cron, const std::string& tz) {
    auto f = backup::CronSchedule::parse(cron).fields();
    templates::CronFields c{values(f.seconds, 0),       values(f.minutes, 0), values(f.hours, 0),
                            values(f.days_of_month, 1), values(f.months, 1),  values(f.days_of_week, 0),
                            f.dom_restricted,           f.dow_restricted};
    return templates::on_calendar_lines(c, tz);
}

// The next `n` elapses systemd computes for the lines (merged, as a timer with several OnCalendar= does).
std::vector<std::string> systemd_elapses(const std::vector<std::string>& lines, int n) {
    ProcessOptions o;
    o.argv = {"systemd-analyze", "calendar", "--base-time=2026-03-01 00:00:00 UTC",
              "--iterations=" + std::to_string(n)};
    o.argv.insert(o.argv.end(), lines.begin(), lines.end());
    o.env = {{"TZ", "UTC"}};
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = ProcessOptions::kPipe;
    if (!find_program("systemd-analyze")) {
        ADD_FAILURE() << "systemd-analyze is not installed (package systemd)";
        return {};
    }
    auto r = run_process(o, std::chrono::seconds(30));
    EXPECT_EQ(r.status, 0) << r.err;
    std::set<std::string> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
        if (line.find("Next elapse:") == std::string::npos && line.find("Iter. #") == std::string::npos)
            continue;
        auto colon = line.find(": ");
        // "Wed 2026-12-02 01:00:00 UTC" -> "2026-12-02 01:00:00"
        out.insert(line.substr(colon + 6, 19));
    }
    std::vector<std::string> v(out.begin(), out.end());
    if (static_cast<int>(v.size()) > n) v.resize(n);
    return v;
}

std::vector<std::string> cron_elapses(const std::string& cron, const std::string& tz, int n) {
    auto schedule = backup::CronSchedule::parse(cron);
    const auto* zone = backup::find_time_zone(tz);
    std::vector<std::string> out;
    Clock::time_point t = date::sys_days{date::year{2026} / 3 / 1};  // systemd's base time is exclusive too
    for (int i = 0; i < n; ++i) {
        t = std::chrono::time_point_cast<std::chrono::seconds>(schedule.next_after(t, zone));
        out.push_back(date::format("%F %T", std::chrono::time_point_cast<std::chrono::seconds>(t)));
    }
    return out;
}

}  // namespace

TEST(OnCalendar, EveryFieldShape) {
    EXPECT_EQ(lines_for("0 2 * * *", "UTC"), std::vector<std::string>{"*-*-* 02:00:00 UTC"});
    EXPECT_EQ(lines_for("0 2 * * 1-5", "Europe/Berlin"),
              std::vector<std::string>{"Mon,Tue,Wed,Thu,Fri *-*-* 02:00:00 Europe/Berlin"});
    EXPECT_EQ(lines_for("*/15 9-11 1 */3 *", "UTC"),
              std::vector<std::string>{"*-01,04,07,10-01 09,10,11:00,15,30,45:00 UTC"});
}

TEST(OnCalendar, DayOfMonthOrDayOfWeekNeedsTwoLines) {
    // cron: the 1st and 15th, and every Monday; systemd ANDs them within a line, so two lines.
    auto lines = lines_for("30 3 1,15 * 1", "UTC");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "Mon *-*-* 03:30:00 UTC");
    EXPECT_EQ(lines[1], "*-*-01,15 03:30:00 UTC");
}

TEST(OnCalendar, SystemdFiresWhenCronDoes) {
    struct Case {
        std::string cron, tz;
        int n = 25;
    };
    for (auto [cron, tz, n] :
         std::vector<Case>{{"0 2 * * *", "Europe/Berlin"},  // across the spring-forward night of 2026-03-29
                           {"0 2 * * 1-5", "UTC"},          // the weekend gap
                           {"30 3 1,15 * 1", "America/New_York"},  // day-of-month OR day-of-week
                           {"*/20 9-17 * * *", "UTC"},
                           {"15 4 1 */3 *", "Asia/Tokyo"},
                           {"@weekly", "UTC"},
                           {"0 0 29 2 *", "UTC", 2}}) {
        auto lines = lines_for(cron, tz);
        EXPECT_EQ(systemd_elapses(lines, n), cron_elapses(cron, tz, n)) << cron << " in " << tz;
    }
}
