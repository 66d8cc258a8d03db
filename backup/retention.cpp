// GFS retention planning: newest, keep_last, then the newest backup of each recent day, ISO week and month.
#include "backup/retention.hpp"

#include <date/date.h>
#include <date/iso_week.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace steward::backup {

namespace {

using std::chrono::system_clock;

date::local_seconds to_local(system_clock::time_point t, const date::time_zone* tz) {
    auto s = date::floor<std::chrono::seconds>(t);
    if (tz == nullptr) return date::local_seconds{s.time_since_epoch()};
    return tz->to_local(s);
}

// Marks, for one period kind, the newest backup of each of the newest `count` distinct periods.
// `entries` are sorted newest first, so the first backup seen in a period is its newest.
template <typename PeriodOf>
std::vector<bool> newest_per_period(const std::vector<date::local_days>& days, int count,
                                    PeriodOf period_of) {
    std::vector<bool> kept(days.size(), false);
    if (count <= 0) return kept;
    using Period = decltype(period_of(days.front()));
    std::set<Period> seen;
    for (std::size_t i = 0; i < days.size() && static_cast<int>(seen.size()) < count; ++i) {
        if (seen.insert(period_of(days[i])).second) kept[i] = true;
    }
    return kept;
}

bool all_digits(const std::string& s, std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

}  // namespace

std::vector<RetentionDecision> plan_retention(std::vector<BackupEntry> entries, const RetentionSpec& spec,
                                              const date::time_zone* tz) {
    std::sort(entries.begin(), entries.end(), [](const BackupEntry& a, const BackupEntry& b) {
        if (a.finished != b.finished) return a.finished > b.finished;
        return a.id > b.id;
    });
    std::vector<date::local_days> days;
    days.reserve(entries.size());
    for (const auto& e : entries) days.push_back(date::floor<date::days>(to_local(e.finished, tz)));

    auto daily =
        newest_per_period(days, spec.daily, [](date::local_days d) { return d.time_since_epoch().count(); });
    auto weekly = newest_per_period(days, spec.weekly, [](date::local_days d) {
        iso_week::year_weeknum_weekday w{date::sys_days{d.time_since_epoch()}};
        return static_cast<int>(w.year()) * 100 + static_cast<int>(static_cast<unsigned>(w.weeknum()));
    });
    auto monthly = newest_per_period(days, spec.monthly, [](date::local_days d) {
        date::year_month_day ymd{d};
        return static_cast<int>(ymd.year()) * 100 + static_cast<int>(static_cast<unsigned>(ymd.month()));
    });

    std::vector<RetentionDecision> out;
    out.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        RetentionDecision d{entries[i].id, true, ""};
        if (i == 0)
            d.rule = "newest";
        else if (static_cast<int>(i) < spec.keep_last)
            d.rule = "keep_last";
        else if (daily[i])
            d.rule = "daily";
        else if (weekly[i])
            d.rule = "weekly";
        else if (monthly[i])
            d.rule = "monthly";
        else {
            d.keep = false;
            d.rule = "expired";
        }
        out.push_back(std::move(d));
    }
    return out;
}

std::optional<system_clock::time_point> parse_backup_id_time(const std::string& id) {
    // "<name>-YYYYMMDDTHHMMSSZ": the suffix is 16 characters after the dash.
    constexpr std::size_t kSuffix = 16;
    if (id.size() < kSuffix + 2 || id[id.size() - kSuffix - 1] != '-') return std::nullopt;
    const std::size_t p = id.size() - kSuffix;
    if (!all_digits(id, p, 8) || id[p + 8] != 'T' || !all_digits(id, p + 9, 6) || id[p + 15] != 'Z') {
        return std::nullopt;
    }
    auto num = [&](std::size_t at, std::size_t n) { return std::stoi(id.substr(p + at, n)); };
    date::year_month_day ymd{date::year{num(0, 4)}, date::month{static_cast<unsigned>(num(4, 2))},
                             date::day{static_cast<unsigned>(num(6, 2))}};
    const int hh = num(9, 2), mm = num(11, 2), ss = num(13, 2);
    if (!ymd.ok() || hh > 23 || mm > 59 || ss > 59) return std::nullopt;
    return date::sys_days{ymd} + std::chrono::hours{hh} + std::chrono::minutes{mm} + std::chrono::seconds{ss};
}

bool is_backup_id(const std::string& id, const std::string& name) {
    return id.size() == name.size() + 17 && id.compare(0, name.size(), name) == 0 &&
           parse_backup_id_time(id).has_value();
}

}  // namespace steward::backup
