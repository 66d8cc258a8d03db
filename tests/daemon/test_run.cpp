// steward run's migrations step: apply, validate or skip per migrations.on_start, against a real PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/daemon_process.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace std::chrono_literals;

namespace {
std::filesystem::path write_spec(const test::TempDir& dir, const std::string& url,
                                 const std::string& on_start) {
    dir.write("migrations/V1__notes.sql", "CREATE TABLE notes (id int PRIMARY KEY);\n");
    return dir.write("steward.yaml",
                     "version: 1\nname: chat\nenvironment: development\ndatabase:\n  url: " + url +
                         "\nmigrations: { dir: migrations, on_start: " + on_start + " }\n");
}
}  // namespace

TEST(Run, AppliesMigrationsAfterTheGateThenRunsUntilSigterm) {
    test::TempDir dir;
    auto url = test::fresh_database("run");
    test::DaemonProcess d(write_spec(dir, url, "apply"), dir / "log");
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    EXPECT_EQ(test::query_value(url, "SELECT count(*) FROM notes"), "0");
    d.signal(SIGTERM);
    auto status = d.wait_exit(30s);
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, 0) << d.log();
}

TEST(Run, ValidateOnStartRefusesPendingMigrations) {
    test::TempDir dir;
    auto url = test::fresh_database("run");
    test::DaemonProcess d(write_spec(dir, url, "validate"), dir / "log");
    auto status = d.wait_exit(60s);
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, 1) << d.log();
    EXPECT_NE(d.log().find("startup failed"), std::string::npos) << d.log();
    EXPECT_EQ(test::query_value(url, "SELECT to_regclass('notes') IS NULL"), "t");
}

TEST(Run, SkipOnStartTouchesNothing) {
    test::TempDir dir;
    auto url = test::fresh_database("run");
    test::DaemonProcess d(write_spec(dir, url, "skip"), dir / "log");
    ASSERT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
    EXPECT_EQ(test::query_value(url, "SELECT to_regclass('notes') IS NULL"), "t");
}
