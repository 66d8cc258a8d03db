// steward run's startup sequence so far: gate, then the migrations step, against a real PostgreSQL.
#include <gtest/gtest.h>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

namespace {
std::filesystem::path write_spec(const test::TempDir& dir, const std::string& url,
                                 const std::string& on_start) {
    dir.write("migrations/V1__notes.sql", "CREATE TABLE notes (id int PRIMARY KEY);\n");
    return dir.write("steward.yaml",
                     "version: 1\nname: chat\nenvironment: development\ndatabase:\n  url: " + url +
                         "\nmigrations: { dir: migrations, on_start: " + on_start + " }\n");
}
}  // namespace

TEST(Run, AppliesMigrationsAfterTheGateThenSaysTheDaemonIsNotBuilt) {
    test::TempDir dir;
    auto url = test::fresh_database("run");
    auto r = test::run_steward({"--spec", write_spec(dir, url, "apply").string(), "run"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("daemon itself"), std::string::npos) << r.err;
    EXPECT_EQ(test::query_value(url, "SELECT count(*) FROM notes"), "0");
}

TEST(Run, ValidateOnStartRefusesPendingMigrations) {
    test::TempDir dir;
    auto url = test::fresh_database("run");
    auto r = test::run_steward({"--spec", write_spec(dir, url, "validate").string(), "run"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("migrations step failed"), std::string::npos) << r.err;
    EXPECT_EQ(test::query_value(url, "SELECT to_regclass('notes') IS NULL"), "t");
}

TEST(Run, SkipOnStartTouchesNothing) {
    test::TempDir dir;
    auto url = test::fresh_database("run");
    auto r = test::run_steward({"--spec", write_spec(dir, url, "skip").string(), "run"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(test::query_value(url, "SELECT to_regclass('notes') IS NULL"), "t");
}
