// Cron fields to systemd OnCalendar= lines, so the backup timer fires exactly when the daemon would.
#include <string>
#include <vector>

#include "templates/render.hpp"

namespace steward::templates {
namespace {

// "*" when the set is the whole range, else the values comma-separated (zero-padded to `width`).
std::string component(const std::vector<int>& values, int first, int last, int width) {
    if (static_cast<int>(values.size()) == last - first + 1) return "*";
    std::string out;
    for (int v : values) {
        if (!out.empty()) out += ',';
        std::string s = std::to_string(v);
        if (static_cast<int>(s.size()) < width) s.insert(0, width - s.size(), '0');
        out += s;
    }
    return out;
}

std::string weekdays(const std::vector<int>& days) {
    static const char* kNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    std::string out;
    for (int d : days) {
        if (!out.empty()) out += ',';
        out += kNames[d % 7];
    }
    return out;
}

}  // namespace

std::vector<std::string> on_calendar_lines(const CronFields& cron, const std::string& timezone) {
    if (cron.minutes.empty() || cron.hours.empty() || cron.seconds.empty() || cron.months.empty() ||
        cron.days_of_month.empty() || cron.days_of_week.empty())
        throw RenderError("a cron field has no values");
    std::string time = component(cron.hours, 0, 23, 2) + ':' + component(cron.minutes, 0, 59, 2) + ':' +
                       component(cron.seconds, 0, 59, 2);
    std::string months = component(cron.months, 1, 12, 2);
    std::string zone = timezone.empty() ? "UTC" : timezone;
    auto line = [&](const std::string& dow, const std::string& dom) {
        return (dow.empty() ? "" : dow + ' ') + "*-" + months + '-' + dom + ' ' + time + ' ' + zone;
    };
    std::string dom = cron.dom_restricted ? component(cron.days_of_month, 1, 31, 2) : "*";
    std::string dow = cron.dow_restricted ? weekdays(cron.days_of_week) : "";
    // cron runs on a day when either restricted field matches; systemd requires both on one line.
    if (cron.dom_restricted && cron.dow_restricted) return {line(dow, "*"), line("", dom)};
    return {line(dow, dom)};
}

}  // namespace steward::templates
