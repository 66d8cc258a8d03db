// Cron parsing and next/previous-run computation over local wall-clock time in a time zone.
#include "backup/schedule.hpp"

#include <date/date.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <vector>

namespace steward::backup {

namespace {

using std::chrono::minutes;
using std::chrono::system_clock;

constexpr int kSearchDays = 5 * 366 + 2;

struct FieldInfo {
    const char* name;
    int min;
    int max;
    const char* const* names;  // names[i] is the value min+i, or nullptr
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

constexpr FieldInfo kSecondField{"second", 0, 59, nullptr};
constexpr std::array<FieldInfo, 5> kFields{{{"minute", 0, 59, nullptr},
                                            {"hour", 0, 23, nullptr},
                                            {"day-of-month", 1, 31, nullptr},
                                            {"month", 1, 12, kMonthNames},
                                            {"day-of-week", 0, 7, kDayNames}}};

[[noreturn]] void fail(const std::string& text, const std::string& what) {
    throw std::invalid_argument("invalid cron expression \"" + text + "\": " + what);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

int parse_value(const std::string& text, const FieldInfo& f, const std::string& token) {
    const std::string where = std::string(f.name) + " field \"" + token + "\"";
    if (token.empty()) fail(text, where + ": empty value");
    if (std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c); })) {
        if (token.size() > 4)
            fail(text, where + ": value out of range " + std::to_string(f.min) + "-" + std::to_string(f.max));
        int v = std::stoi(token);
        if (v < f.min || v > f.max) {
            fail(text, where + ": value " + token + " out of range " + std::to_string(f.min) + "-" +
                           std::to_string(f.max));
        }
        return v;
    }
    if (f.names != nullptr) {
        std::string up;
        for (char c : token) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (int i = 0; i <= f.max - f.min; ++i) {
            if (up == f.names[i]) return f.min + i;
        }
    }
    fail(text, where + ": expected a number" +
                   (f.names != nullptr ? std::string(" or a name") : std::string()) + " in " +
                   std::to_string(f.min) + "-" + std::to_string(f.max));
}

// Parses one field into a set of allowed values (index = value).
std::vector<bool> parse_field(const std::string& text, const std::string& field, const FieldInfo& f) {
    std::vector<bool> allowed(static_cast<std::size_t>(f.max + 1), false);
    for (const auto& item : split(field, ',')) {
        if (item.empty()) fail(text, std::string(f.name) + " field \"" + field + "\": empty list item");
        std::string range = item;
        int step = 1;
        if (auto slash = item.find('/'); slash != std::string::npos) {
            range = item.substr(0, slash);
            const std::string s = item.substr(slash + 1);
            if (s.empty() || s.size() > 4 ||
                !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }) ||
                std::stoi(s) == 0) {
                fail(text, std::string(f.name) + " field \"" + item + "\": step must be a positive number");
            }
            step = std::stoi(s);
        }
        int lo = f.min, hi = f.max;
        if (range == "*") {
            if (f.max == 7) hi = 6;  // "*" in day-of-week is 0-6; 7 is an alias of 0
        } else if (auto dash = range.find('-'); dash != std::string::npos) {
            lo = parse_value(text, f, range.substr(0, dash));
            hi = parse_value(text, f, range.substr(dash + 1));
            if (lo > hi)
                fail(text, std::string(f.name) + " field \"" + item + "\": range start is after its end");
        } else {
            lo = parse_value(text, f, range);
            if (item.find('/') == std::string::npos) hi = lo;  // "5/15" means 5-max/15
        }
        for (int v = lo; v <= hi; v += step) allowed[static_cast<std::size_t>(v)] = true;
    }
    return allowed;
}

std::string expand_macro(const std::string& text) {
    static const std::array<std::pair<const char*, const char*>, 7> macros{{{"@hourly", "0 * * * *"},
                                                                            {"@daily", "0 0 * * *"},
                                                                            {"@midnight", "0 0 * * *"},
                                                                            {"@weekly", "0 0 * * 0"},
                                                                            {"@monthly", "0 0 1 * *"},
                                                                            {"@yearly", "0 0 1 1 *"},
                                                                            {"@annually", "0 0 1 1 *"}}};
    for (const auto& [name, expansion] : macros) {
        if (text == name) return expansion;
    }
    fail(text, "unknown macro; expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually");
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

date::local_seconds to_local(system_clock::time_point t, const date::time_zone* tz) {
    auto s = date::floor<std::chrono::seconds>(t);
    if (tz == nullptr) return date::local_seconds{s.time_since_epoch()};
    return tz->to_local(s);
}

// Local wall-clock time to an instant: a time in a spring-forward gap maps to the end of the gap
// (the next valid minute); a time that happens twice maps to its first occurrence.
system_clock::time_point to_sys(date::local_seconds local, const date::time_zone* tz) {
    if (tz == nullptr) return date::sys_seconds{local.time_since_epoch()};
    auto info = tz->get_info(local);
    if (info.result == date::local_info::nonexistent) return info.first.end;
    return tz->to_sys(local, date::choose::earliest);
}

}  // namespace

CronSchedule CronSchedule::parse(const std::string& input) {
    const std::string text = trim(input);
    if (text.empty())
        fail(input,
             "empty; expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as "
             "@daily");
    const std::string expr = text[0] == '@' ? expand_macro(text) : text;

    std::vector<std::string> fields;
    std::string cur;
    for (char c : expr) {
        if (c == ' ' || c == '\t') {
            if (!cur.empty()) fields.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) fields.push_back(cur);
    if (fields.size() != 5 && fields.size() != 6) {
        fail(text,
             "expected 5 fields (minute hour day-of-month month day-of-week), or 6 with a seconds field "
             "first, got " +
                 std::to_string(fields.size()));
    }

    CronSchedule s;
    s.text_ = text;
    if (fields.size() == 6) {  // robfig/cron's optional seconds field, first
        auto secs = parse_field(text, fields.front(), kSecondField);
        for (int v = 0; v < 60; ++v)
            s.seconds_[static_cast<std::size_t>(v)] = secs[static_cast<std::size_t>(v)];
        fields.erase(fields.begin());
    } else {
        s.seconds_[0] = true;
    }
    std::array<std::vector<bool>, 5> sets;
    for (std::size_t i = 0; i < 5; ++i) sets[i] = parse_field(text, fields[i], kFields[i]);
    for (int v = 0; v < 60; ++v)
        s.minutes_[static_cast<std::size_t>(v)] = sets[0][static_cast<std::size_t>(v)];
    for (int v = 0; v < 24; ++v) s.hours_[static_cast<std::size_t>(v)] = sets[1][static_cast<std::size_t>(v)];
    for (int v = 1; v <= 31; ++v)
        s.days_of_month_[static_cast<std::size_t>(v)] = sets[2][static_cast<std::size_t>(v)];
    for (int v = 1; v <= 12; ++v)
        s.months_[static_cast<std::size_t>(v)] = sets[3][static_cast<std::size_t>(v)];
    for (int v = 0; v <= 6; ++v)
        s.days_of_week_[static_cast<std::size_t>(v)] = sets[4][static_cast<std::size_t>(v)];
    if (sets[4][7]) s.days_of_week_[0] = true;
    // The standard rule: when both day fields are restricted, a day matching either one runs.
    s.dom_restricted_ = fields[2][0] != '*';
    s.dow_restricted_ = fields[4][0] != '*';

    if (s.dom_restricted_ && !s.dow_restricted_) {
        static constexpr int kMaxDay[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool possible = false;
        for (int m = 1; m <= 12 && !possible; ++m) {
            for (int d = 1; d <= kMaxDay[m] && !possible; ++d) {
                possible =
                    s.months_[static_cast<std::size_t>(m)] && s.days_of_month_[static_cast<std::size_t>(d)];
            }
        }
        if (!possible) fail(text, "day-of-month and month never match (no such date)");
    }
    return s;
}

bool CronSchedule::matches(date::local_seconds local_minute) const {
    const auto day = date::floor<date::days>(local_minute);
    const auto tod = date::make_time(local_minute - day);
    if (!seconds_[static_cast<std::size_t>(tod.seconds().count())] ||
        !minutes_[static_cast<std::size_t>(tod.minutes().count())] ||
        !hours_[static_cast<std::size_t>(tod.hours().count())]) {
        return false;
    }
    return day_matches(day);
}

bool CronSchedule::day_matches(date::local_days day) const {
    const date::year_month_day ymd{day};
    if (!months_[static_cast<unsigned>(ymd.month())]) return false;
    const bool dom = days_of_month_[static_cast<unsigned>(ymd.day())];
    const bool dow = days_of_week_[date::weekday{day}.c_encoding()];
    if (dom_restricted_ && dow_restricted_) return dom || dow;
    return dom && dow;
}

system_clock::time_point CronSchedule::next_after(system_clock::time_point t,
                                                  const date::time_zone* tz) const {
    // Candidates walk forward in local time; to_sys is monotonic, so the first one after t is the answer.
    // Start a day early: in a fall-back hour local time runs behind the instants already passed.
    // Hours and minutes that end at or before t are skipped whole (to_sys of their end bounds them).
    const auto start_day = date::floor<date::days>(to_local(t, tz)) - date::days{1};
    for (int d = 0; d <= kSearchDays; ++d) {
        const auto day = start_day + date::days{d};
        if (!day_matches(day)) continue;
        for (int h = 0; h < 24; ++h) {
            if (!hours_[static_cast<std::size_t>(h)]) continue;
            const auto hour = date::local_seconds{day} + std::chrono::hours{h};
            if (to_sys(hour + std::chrono::hours{1}, tz) <= t) continue;
            for (int m = 0; m < 60; ++m) {
                if (!minutes_[static_cast<std::size_t>(m)]) continue;
                const auto minute = hour + minutes{m};
                if (to_sys(minute + minutes{1}, tz) <= t) continue;
                for (int sec = 0; sec < 60; ++sec) {
                    if (!seconds_[static_cast<std::size_t>(sec)]) continue;
                    const auto when = to_sys(minute + std::chrono::seconds{sec}, tz);
                    if (when > t) return when;
                }
            }
        }
    }
    throw std::runtime_error("cron expression \"" + text_ + "\" has no run within 5 years");
}

std::optional<system_clock::time_point> CronSchedule::previous_at_or_before(system_clock::time_point t,
                                                                            const date::time_zone* tz) const {
    const auto start_day = date::floor<date::days>(to_local(t, tz)) + date::days{1};
    for (int d = 0; d <= kSearchDays; ++d) {
        const auto day = start_day - date::days{d};
        if (!day_matches(day)) continue;
        for (int h = 23; h >= 0; --h) {
            if (!hours_[static_cast<std::size_t>(h)]) continue;
            const auto hour = date::local_seconds{day} + std::chrono::hours{h};
            if (to_sys(hour, tz) > t) continue;  // the whole hour lies after t
            for (int m = 59; m >= 0; --m) {
                if (!minutes_[static_cast<std::size_t>(m)]) continue;
                const auto minute = hour + minutes{m};
                if (to_sys(minute, tz) > t) continue;
                for (int sec = 59; sec >= 0; --sec) {
                    if (!seconds_[static_cast<std::size_t>(sec)]) continue;
                    const auto when = to_sys(minute + std::chrono::seconds{sec}, tz);
                    if (when <= t) return when;
                }
            }
        }
    }
    return std::nullopt;
}

std::chrono::seconds CronSchedule::max_gap(system_clock::time_point from, const date::time_zone* tz) const {
    // Runs within a year, at most 5000 of them: enough to see a weekly, monthly or yearly pattern.
    std::chrono::seconds gap{0};
    auto prev = next_after(from, tz);
    const auto end = from + date::days{400};
    for (int i = 0; i < 5000 && prev < end; ++i) {
        auto next = next_after(prev, tz);
        gap = std::max(gap, std::chrono::duration_cast<std::chrono::seconds>(next - prev));
        prev = next;
    }
    return gap;
}

const date::time_zone* find_time_zone(const std::string& name) {
    try {
        return date::locate_zone(name.empty() ? "UTC" : name);
    } catch (const std::exception&) {
        throw std::invalid_argument("unknown time zone \"" + name +
                                    "\": expected an IANA name such as UTC or Europe/Berlin");
    }
}

bool catch_up_due(std::optional<system_clock::time_point> last_success, system_clock::time_point now,
                  const CronSchedule& schedule, const date::time_zone* tz) {
    if (!last_success) return true;
    if (*last_success >= now) return false;
    try {
        // The last scheduled run at or before now was missed when it came after the last success; it
        // is caught up when the last success is also older than one period, the interval that ends at
        // that run (24 h for @daily, 23 h or 25 h across a DST change, 72 h before a Monday run of
        // "0 2 * * 1-5"): a younger success (a manual backup in between) already covers it.
        auto prev = schedule.previous_at_or_before(now, tz);
        if (!prev || *prev <= *last_success) return false;
        auto before = schedule.previous_at_or_before(*prev - std::chrono::seconds(1), tz);
        if (!before) return true;
        return now - *last_success > *prev - *before;
    } catch (const std::runtime_error&) {
        return false;
    }
}

}  // namespace steward::backup
