// Unit tests of GFS retention over synthetic backup timelines.
#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <map>

#include "backup/retention.hpp"

namespace steward::backup {
namespace {

using namespace std::chrono;
using date::days;

sys_seconds utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
    return date::sys_days{date::year{y} / m / d} + hours{hh} + minutes{mm};
}

std::string id_for(system_clock::time_point t) {
    return "chat-" + date::format("%Y%m%dT%H%M%SZ", date::floor<seconds>(t));
}

BackupEntry entry(system_clock::time_point t) { return {id_for(t), t}; }

RetentionSpec spec(int keep_last, int daily, int weekly, int monthly) {
    RetentionSpec s;
    s.keep_last = keep_last;
    s.daily = daily;
    s.weekly = weekly;
    s.monthly = monthly;
    return s;
}

std::map<std::string, RetentionDecision> by_id(const std::vector<RetentionDecision>& ds) {
    std::map<std::string, RetentionDecision> m;
    for (const auto& d : ds) m.emplace(d.id, d);
    return m;
}

std::vector<std::string> kept(const std::vector<RetentionDecision>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) {
        if (d.keep) out.push_back(d.id);
    }
    return out;
}

const date::time_zone* berlin() { return date::locate_zone("Europe/Berlin"); }

TEST(Retention, EmptyListGivesNoDecisions) {
    EXPECT_TRUE(plan_retention({}, spec(3, 7, 4, 6), nullptr).empty());
}

TEST(Retention, AllZerosStillKeepsNewest) {
    std::vector<BackupEntry> es;
    for (int i = 0; i < 5; ++i) es.push_back(entry(utc(2026, 1, 1) + days{i}));
    auto ds = plan_retention(es, spec(0, 0, 0, 0), nullptr);
    ASSERT_EQ(ds.size(), 5u);
    EXPECT_EQ(ds[0].id, id_for(utc(2026, 1, 5)));
    EXPECT_TRUE(ds[0].keep);
    EXPECT_EQ(ds[0].rule, "newest");
    for (std::size_t i = 1; i < ds.size(); ++i) {
        EXPECT_FALSE(ds[i].keep);
        EXPECT_EQ(ds[i].rule, "expired");
    }
}

TEST(Retention, SingleBackupIsNewest) {
    auto ds = plan_retention({entry(utc(2026, 3, 1))}, spec(0, 0, 0, 0), berlin());
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_TRUE(ds[0].keep);
    EXPECT_EQ(ds[0].rule, "newest");
}

TEST(Retention, InputOrderDoesNotMatterAndOutputIsNewestFirst) {
    std::vector<BackupEntry> es{entry(utc(2026, 1, 3)), entry(utc(2026, 1, 1)), entry(utc(2026, 1, 2))};
    auto ds = plan_retention(es, spec(1, 0, 0, 0), nullptr);
    ASSERT_EQ(ds.size(), 3u);
    EXPECT_EQ(ds[0].id, id_for(utc(2026, 1, 3)));
    EXPECT_EQ(ds[1].id, id_for(utc(2026, 1, 2)));
    EXPECT_EQ(ds[2].id, id_for(utc(2026, 1, 1)));
}

TEST(Retention, KeepLastCountsTheNewest) {
    std::vector<BackupEntry> es;
    for (int i = 0; i < 6; ++i) es.push_back(entry(utc(2026, 1, 1) + hours{i}));
    auto ds = plan_retention(es, spec(3, 0, 0, 0), nullptr);
    EXPECT_EQ(ds[0].rule, "newest");
    EXPECT_EQ(ds[1].rule, "keep_last");
    EXPECT_EQ(ds[2].rule, "keep_last");
    EXPECT_EQ(ds[3].rule, "expired");
    EXPECT_EQ(kept(ds).size(), 3u);
}

// Six months of daily backups at 02:00 UTC, 2026-01-01 .. 2026-06-30 (a Tuesday).
std::vector<BackupEntry> half_year_daily() {
    std::vector<BackupEntry> es;
    for (auto d = date::sys_days{date::year{2026} / 1 / 1}; d <= date::sys_days{date::year{2026} / 6 / 30};
         d += days{1}) {
        es.push_back(entry(d + hours{2}));
    }
    return es;
}

TEST(Retention, MonthsOfDailyBackupsGfs) {
    auto ds = plan_retention(half_year_daily(), spec(3, 7, 4, 6), nullptr);
    auto m = by_id(ds);
    auto rule = [&](int y, unsigned mo, unsigned d) { return m.at(id_for(utc(y, mo, d, 2))).rule; };
    EXPECT_EQ(rule(2026, 6, 30), "newest");
    EXPECT_EQ(rule(2026, 6, 29), "keep_last");
    EXPECT_EQ(rule(2026, 6, 28), "keep_last");
    for (unsigned d = 24; d <= 27; ++d) EXPECT_EQ(rule(2026, 6, d), "daily") << d;
    EXPECT_EQ(rule(2026, 6, 23), "expired");
    // ISO weeks end on Sunday: 06-28 (kept by keep_last), 06-21, 06-14 are the newest of their
    // weeks; the current week (06-29..30) is the first of the 4 weeks.
    EXPECT_EQ(rule(2026, 6, 21), "weekly");
    EXPECT_EQ(rule(2026, 6, 14), "weekly");
    EXPECT_EQ(rule(2026, 6, 7), "expired");
    // Months: June (newest), May 31, Apr 30, Mar 31, Feb 28, Jan 31.
    EXPECT_EQ(rule(2026, 5, 31), "monthly");
    EXPECT_EQ(rule(2026, 4, 30), "monthly");
    EXPECT_EQ(rule(2026, 3, 31), "monthly");
    EXPECT_EQ(rule(2026, 2, 28), "monthly");
    EXPECT_EQ(rule(2026, 1, 31), "monthly");
    EXPECT_EQ(rule(2026, 1, 1), "expired");
    // newest + 2 keep_last + 4 daily + 2 weekly + 5 monthly
    EXPECT_EQ(kept(ds).size(), 14u);
}

TEST(Retention, GapsCountOnlyPeriodsThatHaveABackup) {
    // Backups on Jan 1, 2, 10 and 20: with daily: 3, the three newest days that have one are kept.
    std::vector<BackupEntry> es{entry(utc(2026, 1, 1, 2)), entry(utc(2026, 1, 2, 2)),
                                entry(utc(2026, 1, 10, 2)), entry(utc(2026, 1, 20, 2))};
    auto m = by_id(plan_retention(es, spec(0, 3, 0, 0), nullptr));
    EXPECT_EQ(m.at(id_for(utc(2026, 1, 20, 2))).rule, "newest");
    EXPECT_EQ(m.at(id_for(utc(2026, 1, 10, 2))).rule, "daily");
    EXPECT_EQ(m.at(id_for(utc(2026, 1, 2, 2))).rule, "daily");
    EXPECT_EQ(m.at(id_for(utc(2026, 1, 1, 2))).rule, "expired");
}

TEST(Retention, MonthlyAcrossAYearGap) {
    std::vector<BackupEntry> es{entry(utc(2024, 5, 3)), entry(utc(2025, 11, 7)), entry(utc(2026, 2, 1))};
    auto m = by_id(plan_retention(es, spec(0, 0, 0, 2), nullptr));
    EXPECT_EQ(m.at(id_for(utc(2026, 2, 1))).rule, "newest");
    EXPECT_EQ(m.at(id_for(utc(2025, 11, 7))).rule, "monthly");
    EXPECT_EQ(m.at(id_for(utc(2024, 5, 3))).rule, "expired");
}

TEST(Retention, SeveralPerDayKeepsTheNewestOfEachDay) {
    std::vector<BackupEntry> es;
    for (unsigned d = 1; d <= 4; ++d) {
        for (int h : {1, 9, 17}) es.push_back(entry(utc(2026, 1, d, h)));
    }
    auto ds = plan_retention(es, spec(0, 3, 0, 0), nullptr);
    std::vector<std::string> want{id_for(utc(2026, 1, 4, 17)), id_for(utc(2026, 1, 3, 17)),
                                  id_for(utc(2026, 1, 2, 17))};
    EXPECT_EQ(kept(ds), want);
    auto m = by_id(ds);
    EXPECT_EQ(m.at(id_for(utc(2026, 1, 3, 17))).rule, "daily");
    EXPECT_EQ(m.at(id_for(utc(2026, 1, 3, 9))).rule, "expired");
}

TEST(Retention, DaysAreCalendarDaysInTheSpecTimeZone) {
    // 23:30 UTC on Jan 1 is 00:30 on Jan 2 in Berlin (CET, +1).
    std::vector<BackupEntry> es{entry(utc(2026, 1, 1, 12)), entry(utc(2026, 1, 1, 23, 30)),
                                entry(utc(2026, 1, 2, 12))};
    auto utc_plan = by_id(plan_retention(es, spec(0, 2, 0, 0), nullptr));
    EXPECT_EQ(utc_plan.at(id_for(utc(2026, 1, 1, 23, 30))).rule, "daily");
    EXPECT_EQ(utc_plan.at(id_for(utc(2026, 1, 1, 12))).rule, "expired");
    auto berlin_plan = by_id(plan_retention(es, spec(0, 2, 0, 0), berlin()));
    EXPECT_EQ(berlin_plan.at(id_for(utc(2026, 1, 1, 23, 30))).rule, "expired");
    EXPECT_EQ(berlin_plan.at(id_for(utc(2026, 1, 1, 12))).rule, "daily");
}

TEST(Retention, DstChangesInBerlin) {
    // Daily backups at 00:30 local time around both 2026 changes (Mar 29 and Oct 25): the UTC
    // time moves by an hour, but every local day still has exactly one backup.
    auto tz = berlin();
    for (auto [y, mo, first] : {std::tuple{2026, 3u, 25u}, std::tuple{2026, 10u, 21u}}) {
        std::vector<BackupEntry> es;
        for (unsigned d = first; d < first + 8; ++d) {
            auto local = date::local_days{date::year{y} / mo / d} + minutes{30};
            es.push_back(entry(tz->to_sys(local)));
        }
        auto ds = plan_retention(es, spec(0, 8, 0, 0), tz);
        EXPECT_EQ(kept(ds).size(), 8u);
        ds = plan_retention(es, spec(0, 3, 0, 0), tz);
        EXPECT_EQ(kept(ds).size(), 3u);
    }
    // Two backups in the repeated hour of Oct 25 (02:30 CEST and 02:30 CET) share one day.
    std::vector<BackupEntry> es{entry(utc(2026, 10, 25, 0, 30)), entry(utc(2026, 10, 25, 1, 30)),
                                entry(utc(2026, 10, 24, 1, 30))};
    auto m = by_id(plan_retention(es, spec(0, 2, 0, 0), tz));
    EXPECT_EQ(m.at(id_for(utc(2026, 10, 25, 1, 30))).rule, "newest");
    EXPECT_EQ(m.at(id_for(utc(2026, 10, 25, 0, 30))).rule, "expired");
    EXPECT_EQ(m.at(id_for(utc(2026, 10, 24, 1, 30))).rule, "daily");
}

TEST(Retention, IsoWeeksSpanYearEnd) {
    // 2026-12-31 (Thu) and 2027-01-03 (Sun) are both ISO week 2026-W53; 2026-12-27 is W52.
    std::vector<BackupEntry> es{entry(utc(2026, 12, 27, 12)), entry(utc(2026, 12, 31, 12)),
                                entry(utc(2027, 1, 3, 12))};
    auto m = by_id(plan_retention(es, spec(0, 0, 2, 0), nullptr));
    EXPECT_EQ(m.at(id_for(utc(2027, 1, 3, 12))).rule, "newest");
    EXPECT_EQ(m.at(id_for(utc(2026, 12, 31, 12))).rule, "expired");
    EXPECT_EQ(m.at(id_for(utc(2026, 12, 27, 12))).rule, "weekly");
}

TEST(Retention, FirstRuleThatKeepsNamesTheDecision) {
    std::vector<BackupEntry> es{entry(utc(2026, 1, 1)), entry(utc(2026, 2, 1)), entry(utc(2026, 3, 1))};
    auto ds = plan_retention(es, spec(2, 3, 3, 3), nullptr);
    EXPECT_EQ(ds[0].rule, "newest");
    EXPECT_EQ(ds[1].rule, "keep_last");
    EXPECT_EQ(ds[2].rule, "daily");
}

TEST(BackupId, ParsesTimeAndRecognisesSteward) {
    auto t = parse_backup_id_time("chat-20260315T020304Z");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(*t, utc(2026, 3, 15, 2, 3) + seconds{4});
    EXPECT_TRUE(is_backup_id("chat-20260315T020304Z", "chat"));
    EXPECT_TRUE(is_backup_id("my-app-20260315T020304Z", "my-app"));
    EXPECT_FALSE(is_backup_id("chat-20260315T020304Z", "other"));
    EXPECT_FALSE(is_backup_id("xchat-20260315T020304Z", "chat"));
    EXPECT_FALSE(is_backup_id("chat-20260315T020304Z.partial", "chat"));
    EXPECT_FALSE(parse_backup_id_time("chat-20261315T020304Z").has_value());
    EXPECT_FALSE(parse_backup_id_time("chat-20260230T020304Z").has_value());
    EXPECT_FALSE(parse_backup_id_time("chat-20260315T250304Z").has_value());
    EXPECT_FALSE(parse_backup_id_time("chat-2026031xT020304Z").has_value());
    EXPECT_FALSE(parse_backup_id_time("20260315T020304Z").has_value());
    EXPECT_FALSE(parse_backup_id_time("").has_value());
}

}  // namespace
}  // namespace steward::backup
