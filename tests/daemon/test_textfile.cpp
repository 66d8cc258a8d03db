// `--metrics-textfile` of `backup now` and `migrate up` against a real database: the series the daemon
// exports, written for node_exporter's textfile collector and accepted by the real promtool.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/steward_process.hpp"

using namespace steward;
using namespace std::chrono_literals;
using test::run_steward;

namespace {

// promtool's verdict on a metrics file: empty when it is valid and lint-clean.
std::string promtool_problems(const std::filesystem::path& file) {
    ProcessOptions o;
    o.argv = {"promtool", "check", "metrics"};
    auto r = run_process(o, 30s, test::read_text(file));
    if (r.status == 127 || (r.status != 0 && r.err.find("No such file") != std::string::npos))
        return "promtool is not installed (scripts/install-deps installs prometheus)";
    return r.status == 0 ? r.out + r.err : "exit " + std::to_string(r.status) + ": " + r.out + r.err;
}

}  // namespace

TEST(MetricsTextfile, BackupNowWritesTheDaemonsBackupSeries) {
    test::DaemonFixture f;
    // Weekdays at 02:00: the longest gap is the weekend, Friday 02:00 to Monday 02:00.
    auto spec = f.spec("backups: { dir: backups, schedule: '0 2 * * 1-5', verify: none }\n");
    auto prom = f.dir / "steward.prom";
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--metrics-textfile", prom.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string text = test::read_text(prom);
    for (const char* series :
         {"steward_backup_last_success_timestamp_seconds ", "steward_backup_last_size_bytes ",
          "steward_backup_failures_total 0", "steward_backup_schedule_max_gap_seconds 259200"})
        EXPECT_NE(text.find(series), std::string::npos) << series << " missing from\n" << text;
    EXPECT_EQ(promtool_problems(prom), "") << text;
    EXPECT_FALSE(std::filesystem::exists(f.dir / ("steward.prom.tmp")));
}

TEST(MetricsTextfile, AFailedBackupCountsAFailureAndExits1) {
    test::DaemonFixture f;
    auto spec = f.spec("backups: { dir: backups, verify: none }\n");
    auto prom = f.dir / "steward.prom";
    ASSERT_EQ(run_steward({"--spec", spec.string(), "backup", "now"}).status, 0);
    // The server refuses the second run's connection: the backup fails, the file says so.
    auto r = run_steward({"--spec", spec.string(), "--log-level", "error", "backup", "now", "--database-url",
                          "postgresql://nobody@127.0.0.1:1/none", "--metrics-textfile", prom.string()});
    EXPECT_EQ(r.status, 1) << r.err;
    std::string text = test::read_text(prom);
    EXPECT_NE(text.find("steward_backup_last_success_timestamp_seconds "), std::string::npos) << text;
    EXPECT_EQ(promtool_problems(prom), "") << text;
}

TEST(MetricsTextfile, MigrateUpWritesPendingAndFailed) {
    test::DaemonFixture f;
    auto spec = f.spec("");
    auto prom = f.dir / "migrations.prom";
    f.dir.write("migrations/V1__users.sql", "CREATE TABLE users (id int);\n");
    auto r = run_steward({"--spec", spec.string(), "migrate", "up", "--metrics-textfile", prom.string()});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string text = test::read_text(prom);
    EXPECT_NE(text.find("steward_migrations_pending 0"), std::string::npos) << text;
    EXPECT_NE(text.find("steward_migrations_failed 0"), std::string::npos) << text;
    EXPECT_EQ(promtool_problems(prom), "") << text;

    f.dir.write("migrations/V2__broken.sql", "CREATE TABLE broken (;\n");
    f.dir.write("migrations/V3__later.sql", "CREATE TABLE later (id int);\n");
    r = run_steward({"--spec", spec.string(), "migrate", "up", "--metrics-textfile", prom.string()});
    EXPECT_EQ(r.status, 1) << r.err;
    text = test::read_text(prom);
    EXPECT_NE(text.find("steward_migrations_pending 2"), std::string::npos) << text;
}

TEST(MetricsTextfile, AnUnwritableFolderIsAUsageErrorBeforeAnyWork) {
    test::DaemonFixture f;
    auto spec = f.spec("backups: { dir: backups, verify: none }\n");
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--metrics-textfile",
                          (f.dir / "no/such/folder/x.prom").string()});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(f.dir / "backups") && !std::filesystem::is_empty(f.dir / "backups"))
        << "a backup ran although the flag was wrong";
    f.dir.write("migrations/V1__users.sql", "CREATE TABLE users (id int);\n");
    r = run_steward({"--spec", spec.string(), "migrate", "up", "--metrics-textfile", f.dir.path().string()});
    EXPECT_EQ(r.status, 2) << r.err;
    auto status = run_steward({"--spec", spec.string(), "migrate", "status", "--json"});
    auto doc = boost::json::parse(status.out);
    EXPECT_EQ(doc.at("counts").at("pending").as_int64(), 1) << status.out;
}
