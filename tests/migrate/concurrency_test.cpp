// Several steward processes at once, and a steward killed mid-migration: the lock keeps it exactly-once.
#include <csignal>
#include <thread>

#include "tests/migrate/migrate_harness.hpp"

using namespace steward;
using namespace steward::test;

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
bool eventually(F condition, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return condition();
}

std::vector<std::string> args_for(const MigrateWorld& w, std::vector<std::string> extra) {
    std::vector<std::string> a{"migrate"};
    a.insert(a.end(), extra.begin(), extra.end());
    a.insert(a.end(), {"--dir", w.dir.path().string(), "--database-url", w.url});
    return a;
}

std::string schema_of(const MigrateWorld& w) {
    return w.value(
        "SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, "
        "column_name)"
        " FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> "
        "'steward_migrations'");
}

}  // namespace

TEST(MigrateConcurrency, FourConcurrentUpsApplyEachMigrationOnce) {
    MigrateWorld w;
    w.write("V1__log.sql", "CREATE TABLE log (version text);\n");
    for (int v = 2; v <= 12; ++v)
        w.write("V" + std::to_string(v) + "__step.sql",
                "INSERT INTO log VALUES ('" + std::to_string(v) + "');\nSELECT pg_sleep(0.02);\n");
    // Waiters must not hold a snapshot, or this would wait for them while they wait for the lock.
    w.write("V13__idx.sql", "CREATE INDEX CONCURRENTLY log_version ON log (version);\n");

    std::vector<Child> children;
    for (int i = 0; i < 4; ++i) {
        ProcessOptions o;
        o.argv = {steward_binary()};
        auto a = args_for(w, {"up"});
        o.argv.insert(o.argv.end(), a.begin(), a.end());
        o.stdout_fd = ProcessOptions::kDevNull;
        o.stderr_fd = ProcessOptions::kDevNull;
        children.push_back(spawn(o));
    }
    for (auto& c : children) {
        auto status = c.wait_for(std::chrono::seconds(90));
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(*status, 0);
    }
    EXPECT_EQ(w.count("SELECT count(*) FROM log"), 11);
    EXPECT_EQ(w.count("SELECT count(DISTINCT version) FROM log"), 11);
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations WHERE state = 'applied'"), 13);
    EXPECT_EQ(w.value("SELECT to_regclass('log_version') IS NOT NULL"), "t");
}

TEST(MigrateConcurrency, KillDuringLongMigrationThenUpConverges) {
    MigrateWorld w;
    const std::string db = database_name(w.url);
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    // Sleeps only while the test asks it to, so the retry after the kill runs quickly.
    w.write(
        "V2__slow.sql",
        "CREATE TABLE b (x int);\n"
        "SELECT pg_sleep(coalesce(nullif(current_setting('steward_test.sleep', true), ''), '0')::float);\n"
        "ALTER TABLE a ADD COLUMN y text;\n");
    w.write("V3__c.sql", "CREATE TABLE c (x int);\n");
    w.value("ALTER DATABASE " + db + " SET steward_test.sleep = '60'");

    auto child = spawn_steward(args_for(w, {"up"}));
    ASSERT_TRUE(eventually(
        [&] {
            return w.count(
                       "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db +
                       "' AND query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()") == 1;
        },
        std::chrono::seconds(30)));
    child.signal(SIGKILL);
    EXPECT_EQ(child.wait(), 128 + SIGKILL);
    w.value("ALTER DATABASE " + db + " RESET steward_test.sleep");

    // The server notices the dead client (client_connection_check_interval) and ends its backend,
    // which rolls back the migration and releases the lock.
    const auto start = Clock::now();
    auto again = run_steward(args_for(w, {"up"}));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    ASSERT_EQ(again.status, 0) << again.out << again.err;
    EXPECT_LT(took, std::chrono::seconds(8));
    EXPECT_EQ(w.value("SELECT string_agg(version, ',' ORDER BY id) FROM steward_migrations"), "1,2,3");

    MigrateWorld clean;
    for (const auto& f : {"V1__a.sql", "V2__slow.sql", "V3__c.sql"}) clean.write(f, read_file(w.dir / f));
    ASSERT_EQ(clean.run({"up"}).status, 0);
    EXPECT_EQ(schema_of(w), schema_of(clean));
    EXPECT_FALSE(schema_of(w).empty());
}

TEST(MigrateConcurrency, KilledNonTransactionalMigrationStaysRunningUntilRepair) {
    MigrateWorld w;
    const std::string db = database_name(w.url);
    w.write(
        "V1__slow.sql",
        "-- steward:no-transaction\n"
        "CREATE TABLE a (x int);\n"
        "SELECT pg_sleep(coalesce(nullif(current_setting('steward_test.sleep', true), ''), '0')::float);\n"
        "CREATE INDEX CONCURRENTLY a_x ON a (x);\n");
    w.value("ALTER DATABASE " + db + " SET steward_test.sleep = '60'");
    auto child = spawn_steward(args_for(w, {"up"}));
    ASSERT_TRUE(eventually(
        [&] {
            return w.count("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db +
                           "' AND query LIKE 'SELECT pg_sleep%' AND state = 'active'") == 1;
        },
        std::chrono::seconds(30)));
    // While it runs, status (no lock) says so instead of calling it abandoned.
    auto live = run_steward(args_for(w, {"status"}));
    EXPECT_NE(live.out.find("in progress: the migration lock is held by pid"), std::string::npos) << live.out;
    EXPECT_EQ(live.out.find("never finished"), std::string::npos) << live.out;
    child.signal(SIGKILL);
    child.wait();
    w.value("ALTER DATABASE " + db + " RESET steward_test.sleep");

    auto up = run_steward(args_for(w, {"up"}));
    EXPECT_EQ(up.status, 1);
    EXPECT_NE(up.err.find("1 slow is running: started and never finished"), std::string::npos) << up.err;
    EXPECT_NE(up.err.find("1 of 3 statements completed (1-1)"), std::string::npos) << up.err;
    ASSERT_EQ(run_steward(args_for(w, {"repair", "--yes"})).status, 0);
    w.value("DROP TABLE a");
    auto again = run_steward(args_for(w, {"up"}));
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(w.value("SELECT state FROM steward_migrations"), "applied");
}
