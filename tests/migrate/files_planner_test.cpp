// Unit tests of file names, versions, the directory model and planning against history rows.
#include <gtest/gtest.h>

#include "migrate/migration_files.hpp"
#include "migrate/planner.hpp"

using namespace steward::migrate;

TEST(Names, ParsesGolangMigrateNames) {
    auto p = parse_file_name("0003_add_users.up.sql");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->style, NameStyle::golang);
    EXPECT_EQ(p->role, FileRole::up);
    EXPECT_EQ(p->version, "0003");
    EXPECT_EQ(p->name, "add_users");
    auto d = parse_file_name("20240101120000_x.down.sql");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->role, FileRole::down);
    EXPECT_EQ(d->version, "20240101120000");
}

TEST(Names, ParsesFlywayNames) {
    auto p = parse_file_name("V1.2.10__add_index.sql");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->style, NameStyle::flyway);
    EXPECT_EQ(p->version, "1.2.10");
    EXPECT_EQ(p->name, "add_index");
    auto u = parse_file_name("V1_1__x.sql");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->version, "1_1");
    auto r = parse_file_name("R__views.sql");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->role, FileRole::repeatable);
    EXPECT_EQ(r->name, "views");
    auto undo = parse_file_name("U2__x.sql");
    ASSERT_TRUE(undo);
    EXPECT_EQ(undo->role, FileRole::down);
}

TEST(Names, RejectsOtherNames) {
    for (const char* n : {"init.sql", "1_init.sql", "V__x.sql", "V1_x.sql", "V1.__x.sql", "Vx__y.sql",
                          "R_x.sql", "R1__x.sql", "a1_x.up.sql", "V1__.sql"})
        EXPECT_FALSE(parse_file_name(n)) << n;
}

TEST(Versions, CompareNumericallyPartByPart) {
    EXPECT_LT(compare_versions("1.2.9", "1.2.10"), 0);
    EXPECT_EQ(compare_versions("001", "1"), 0);
    EXPECT_EQ(compare_versions("1.2", "1.2.0"), 0);
    EXPECT_GT(compare_versions("10", "9"), 0);
    EXPECT_LT(compare_versions("1_1", "1.2"), 0);
    EXPECT_GT(compare_versions("20240101120000", "9"), 0);
    EXPECT_EQ(normalize_version("01_02.0"), "1.2");
    EXPECT_EQ(normalize_version("0"), "0");
}

namespace {
MigrationSet golang_set() {
    return build_migration_set(
        "m", {{"2_b.up.sql", "CREATE TABLE b (x int);"},
              {"1_a.up.sql", "CREATE TABLE a (x int);"},
              {"1_a.down.sql", "DROP TABLE a;"},
              {"10_c.up.sql", "-- steward:no-transaction\nCREATE INDEX CONCURRENTLY i ON a(x);"}});
}
HistoryRow applied(long long id, std::string version, std::string checksum, std::string kind = "versioned",
                   std::string name = "x") {
    HistoryRow r;
    r.id = id;
    r.version = std::move(version);
    r.name = std::move(name);
    r.kind = std::move(kind);
    r.checksum = std::move(checksum);
    r.state = "applied";
    return r;
}
}  // namespace

TEST(Directory, OrdersVersionsNumericallyAndPairsDownFiles) {
    auto set = golang_set();
    ASSERT_EQ(set.versioned.size(), 3u);
    EXPECT_EQ(set.versioned[0].version, "1");
    EXPECT_EQ(set.versioned[1].version, "2");
    EXPECT_EQ(set.versioned[2].version, "10");
    EXPECT_TRUE(set.versioned[0].down_file);
    EXPECT_EQ(set.versioned[0].down_sql, "DROP TABLE a;");
    EXPECT_FALSE(set.versioned[1].down_file);
    EXPECT_EQ(set.versioned[2].mode, TxMode::no_transaction);
    EXPECT_EQ(set.versioned[0].checksum, sha256_hex("CREATE TABLE a (x int);"));
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Directory, ErrorsNameTheFile) {
    auto expect_error = [](std::vector<FileEntry> files, const std::string& needle) {
        try {
            build_migration_set("dir", std::move(files));
            ADD_FAILURE() << "no error for " << needle;
        } catch (const MigrationDirError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect_error({{"1_a.up.sql", ""}, {"01_b.up.sql", ""}},
                 "dir/1_a.up.sql: version 1 is also used by 01_b.up.sql");
    expect_error({{"V1.0__a.sql", ""}, {"V1__b.sql", ""}}, "is also used by");
    expect_error({{"1_a.up.sql", ""}, {"notes.sql", ""}}, "dir/notes.sql: not a migration file name");
    expect_error({{"1_a.up.sql", ""}, {"V2__b.sql", ""}}, "dir/V2__b.sql: Flyway style name");
    expect_error({{"2_a.down.sql", ""}}, "dir/2_a.down.sql: down file without an up migration");
    expect_error({{"V1__a.sql", "SELECT 'x"}}, "dir/V1__a.sql: the text ends inside");
    expect_error({{"R__a.sql", ""}, {"V1__a.sql", ""}, {"R__a.sql", ""}}, "repeatable name a is used twice");
}

// libpq stops at a NUL byte: half a file would run. Any NUL, in any kind of file, names file and offset.
TEST(Directory, NulBytesAreRefusedWithTheirOffset) {
    using namespace std::string_literals;
    auto expect_error = [](std::vector<FileEntry> files, const std::string& needle) {
        try {
            build_migration_set("dir", std::move(files));
            ADD_FAILURE() << "no error for " << needle;
        } catch (const MigrationDirError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect_error({{"V1__a.sql", "CREATE TABLE a (x int);\0DROP TABLE a;"s}},
                 "dir/V1__a.sql: contains a NUL byte at byte offset 23");
    expect_error({{"V1__a.sql", "\0"s}}, "byte offset 0");
    expect_error({{"V1__a.sql", "SELECT 1;"}, {"U1__a.sql", "SELECT '\0';"s}},
                 "dir/U1__a.sql: contains a NUL byte at byte offset 8");
    expect_error({{"R__v.sql", "-- comment \0"s}}, "dir/R__v.sql: contains a NUL byte");
    expect_error({{"1_a.up.sql", "SELECT 1;"}, {"1_a.down.sql", "x\0"s}},
                 "dir/1_a.down.sql: contains a NUL byte at byte offset 1");
}

TEST(Directory, CommentOnlyFileIsAnEmptyMigration) {
    auto set = build_migration_set("d", {{"V1__empty.sql", "-- nothing yet\n/* later */\n"}});
    ASSERT_EQ(set.versioned.size(), 1u);
    EXPECT_TRUE(set.versioned[0].scan.statements.empty());
}

TEST(Planning, StatusReportsAppliedPendingDriftAndMissing) {
    auto set = golang_set();
    std::vector<HistoryRow> rows{applied(1, "1", set.versioned[0].checksum), applied(2, "2", "deadbeef"),
                                 applied(3, "7", "abc")};
    auto st = compute_status(set, rows);
    ASSERT_EQ(st.entries.size(), 4u);
    EXPECT_EQ(st.entries[0].state, "applied");
    EXPECT_EQ(st.entries[1].state, "drifted");
    EXPECT_EQ(st.entries[2].version, "7");
    EXPECT_EQ(st.entries[2].state, "missing");
    EXPECT_EQ(st.entries[3].state, "pending");
    EXPECT_EQ(st.applied, 1);
    EXPECT_EQ(st.pending, 1);
    EXPECT_EQ(st.drifted, 2);
    EXPECT_EQ(st.current_version, "7");
    EXPECT_EQ(validation_problems(st, false).size(), 2u);
    EXPECT_EQ(validation_problems(st, true).size(), 3u);
    auto plan = plan_up(set, rows, std::nullopt);
    EXPECT_TRUE(plan.steps.empty());
    EXPECT_EQ(plan.blockers.size(), 2u);
    auto repair = plan_repair(set, rows);
    ASSERT_EQ(repair.size(), 2u);
    EXPECT_EQ(repair[0].type, RepairAction::Type::realign_checksum);
    EXPECT_EQ(repair[1].type, RepairAction::Type::remove_missing);
}

TEST(Planning, UpRunsPendingInOrderUpToTarget) {
    auto set = golang_set();
    auto plan = plan_up(set, {}, std::nullopt);
    ASSERT_EQ(plan.steps.size(), 3u);
    EXPECT_EQ(plan.steps[2].migration->version, "10");
    EXPECT_EQ(plan.steps[2].mode, TxMode::no_transaction);
    auto to = plan_up(set, {}, std::string("2"));
    ASSERT_EQ(to.steps.size(), 2u);
}

TEST(Planning, FailedRowsBlockUpAndRepairRemovesThem) {
    auto set = golang_set();
    auto row = applied(1, "1", set.versioned[0].checksum);
    row.state = "failed";
    row.statements_done = 1;
    row.statements_total = 3;
    auto plan = plan_up(set, {row}, std::nullopt);
    ASSERT_EQ(plan.blockers.size(), 1u);
    EXPECT_NE(plan.blockers[0].find("1 of 3 statements completed"), std::string::npos) << plan.blockers[0];
    EXPECT_NE(plan.blockers[0].find("repair --yes"), std::string::npos);
    auto repair = plan_repair(set, {row});
    ASSERT_EQ(repair.size(), 1u);
    EXPECT_EQ(repair[0].type, RepairAction::Type::remove_failed);
}

TEST(Planning, RepeatablesRunAfterVersionedWhenChanged) {
    auto set = build_migration_set("d", {{"V1__a.sql", "SELECT 1;"}, {"R__views.sql", "SELECT 2;"}});
    auto plan = plan_up(set, {}, std::nullopt);
    ASSERT_EQ(plan.steps.size(), 2u);
    EXPECT_EQ(plan.steps[1].migration->kind, Kind::repeatable);
    std::vector<HistoryRow> rows{applied(1, "1", set.versioned[0].checksum),
                                 applied(2, "", set.repeatable[0].checksum, "repeatable", "views")};
    EXPECT_TRUE(plan_up(set, rows, std::nullopt).steps.empty());
    rows[1].checksum = "old";
    auto again = plan_up(set, rows, std::nullopt);
    ASSERT_EQ(again.steps.size(), 1u);
    EXPECT_TRUE(again.steps[0].reapply);
    EXPECT_EQ(compute_status(set, rows).drifted, 0);
}

TEST(Planning, DownNeedsDownFiles) {
    auto set = golang_set();
    std::vector<HistoryRow> rows{applied(1, "1", set.versioned[0].checksum),
                                 applied(2, "2", set.versioned[1].checksum)};
    auto one = plan_down(set, rows, 1, std::nullopt);
    EXPECT_TRUE(one.steps.empty());
    ASSERT_EQ(one.blockers.size(), 1u);
    EXPECT_NE(one.blockers[0].find("2 b has no down file"), std::string::npos);
    rows.pop_back();
    auto ok = plan_down(set, rows, std::nullopt, std::string("0"));
    ASSERT_EQ(ok.steps.size(), 1u);
    EXPECT_EQ(ok.steps[0].file, "m/1_a.down.sql");
}

TEST(Planning, BaselineCoversOlderVersions) {
    auto set = golang_set();
    auto base = applied(1, "2", "", "baseline", "<< baseline >>");
    auto st = compute_status(set, {base});
    EXPECT_EQ(st.entries[0].state, "below_baseline");
    EXPECT_EQ(st.entries[1].state, "below_baseline");
    EXPECT_EQ(st.current_version, "2");
    auto plan = plan_up(set, {base}, std::nullopt);
    ASSERT_EQ(plan.steps.size(), 1u);
    EXPECT_EQ(plan.steps[0].migration->version, "10");
    EXPECT_TRUE(plan_down(set, {base}, 1, std::nullopt).steps.empty());
}

TEST(Planning, OlderPendingVersionsAreAppliedOutOfOrderAndSaySo) {
    auto set = golang_set();
    std::vector<HistoryRow> rows{applied(1, "1", set.versioned[0].checksum),
                                 applied(2, "10", set.versioned[2].checksum)};
    auto st = compute_status(set, rows);
    EXPECT_EQ(st.entries[1].state, "pending");
    EXPECT_NE(st.entries[1].detail.find("out of order"), std::string::npos);
    auto plan = plan_up(set, rows, std::nullopt);
    ASSERT_EQ(plan.steps.size(), 1u);
    EXPECT_EQ(plan.steps[0].migration->version, "2");
}
