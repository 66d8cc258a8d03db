// What the daemon needs from the backup library, against a real PostgreSQL: cancelling a backup or a drill,
// one backup per schedule slot across hosts, restore drills recorded in the catalog.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <pqxx/pqxx>

#include "backup/backup_job.hpp"
#include "core/pg.hpp"
#include "tests/backup/backup_test_helpers.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace steward;
using namespace steward::test;
using namespace steward::test::backup_helpers;
using backup::BackupOutcome;
using Clock = std::chrono::steady_clock;

namespace {

bool no_partial(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".partial") return false;
    return true;
}

std::string sessions(const std::string& db, const std::string& app) {
    return query_value(cluster_url(), "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" + db +
                                          "' AND application_name = '" + app + "'");
}

}  // namespace

// (a) A pg_dump that waits for a lock writes nothing: a blocking read would wait for the lock timeout. The
// cancel flag ends the run within a poll interval, kills pg_dump and leaves no .partial.
TEST(BackupDaemonApi, CancelledBackupKillsPgDumpAndLeavesNothing) {
    auto src = fresh_database("bk_cancel");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    TempDir dir("bk-cancel");
    auto locker = pg::connect(src);
    pqxx::work hold(*locker);
    hold.exec("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");

    auto c = backup::config_without_spec(src, dir.path());
    c.settings.lock_wait_timeout = std::chrono::minutes(10);
    c.cancel = std::make_shared<std::atomic<bool>>(false);
    auto run = std::async(std::launch::async, [&] { return backup::run_backup(c); });
    std::string db = database_name(src);
    ASSERT_TRUE(eventually([&] {
        return query_value(cluster_url(),
                           "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" + db +
                               "' AND application_name = 'steward-backup' AND wait_event_type = 'Lock'") !=
               "0";
    })) << "pg_dump never waited for the lock";
    auto t0 = Clock::now();
    c.cancel->store(true);
    ASSERT_EQ(run.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "cancel did not stop the backup";
    auto out = run.get();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
    EXPECT_EQ(out.status, BackupOutcome::Status::failed);
    EXPECT_EQ(out.error, "cancelled");
    EXPECT_TRUE(no_partial(dir.path()));
    // A backend waiting for a lock notices its client is gone only once it gets the lock.
    hold.abort();
    EXPECT_TRUE(eventually([&] { return sessions(db, "steward-backup") == "0"; }))
        << "pg_dump still connected";
    // The catalog says what happened; it is not counted as a failure.
    EXPECT_EQ(query_value(src, "SELECT status FROM steward_backups WHERE id = '" + out.id + "'"),
              "cancelled");
    // A cancelled config refuses to start at all.
    auto again = backup::run_backup(c);
    EXPECT_EQ(again.error, "cancelled");
}

// (a) for a drill: a scratch restore in progress is killed too. A pg_restore that stops reading its input
// (here one that never starts: it stands for one waiting on a lock) must not hold the cancel up.
TEST(BackupDaemonApi, CancelledDrillStopsItsRestore) {
    auto src = fresh_database("bk_cdrill");
    seed_app(src);
    TempDir dir("bk-cdrill");
    auto c = backup::config_without_spec(src, dir.path() / "b");
    ASSERT_EQ(backup::run_backup(c).status, BackupOutcome::Status::published);
    // The scratch restore (the pg_restore run with --dbname) marks that it started, then hangs.
    auto marker = dir.path() / "scratch-restore-started";
    dir.write("bin/pg_restore", "#!/bin/sh\ncase \"$*\" in *--dbname*) touch " + marker.string() +
                                    "; exec sleep 300 ;; esac\nexec /usr/bin/pg_restore \"$@\"\n");
    fs::permissions(dir.path() / "bin" / "pg_restore", fs::perms::owner_all);
    std::string path = std::getenv("PATH");
    ::setenv("PATH", ((dir.path() / "bin").string() + ":" + path).c_str(), 1);
    c.cancel = std::make_shared<std::atomic<bool>>(false);
    auto drill = std::async(std::launch::async, [&] { return backup::run_drill(c); });
    bool started = eventually([&] { return fs::exists(marker); });
    auto t0 = Clock::now();
    c.cancel->store(true);
    auto status = drill.wait_for(std::chrono::seconds(15));
    ::setenv("PATH", path.c_str(), 1);
    ASSERT_TRUE(started) << "the scratch restore never started";
    ASSERT_EQ(status, std::future_status::ready) << "cancel did not stop the drill";
    auto out = drill.get();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.error, "cancelled");
    EXPECT_FALSE(out.recorded) << "a cancelled drill is not a drill result";
    EXPECT_EQ(query_value(cluster_url(), "SELECT count(*)::text FROM pg_database WHERE datname = '" +
                                             database_name(src) + "_steward_verify'"),
              "0")
        << "the scratch database stayed";
}

// (b) Two daemons on two hosts fire the same cron slot: exactly one backup, the other names the host that
// took it; a third run for that slot later is skipped too; the next slot backs up again.
TEST(BackupDaemonApi, OneBackupPerScheduleSlotAcrossHosts) {
    auto src = fresh_database("bk_slot");
    seed_app(src);
    TempDir a("bk-slot-a"), b("bk-slot-b"), g("bk-slot-g");
    auto slot = std::chrono::system_clock::now() - std::chrono::seconds(30);
    auto config = [&](const fs::path& dir, const std::string& host) {
        auto c = backup::config_without_spec(src, dir);
        c.host = host;
        c.slot = slot;
        return c;
    };
    auto ca = config(a.path(), "alpha"), cb = config(b.path(), "beta");
    auto ra = std::async(std::launch::async, [&] { return backup::run_backup(ca); });
    auto rb = std::async(std::launch::async, [&] { return backup::run_backup(cb); });
    auto oa = ra.get(), ob = rb.get();
    int published =
        (oa.status == BackupOutcome::Status::published) + (ob.status == BackupOutcome::Status::published);
    int skipped =
        (oa.status == BackupOutcome::Status::skipped) + (ob.status == BackupOutcome::Status::skipped);
    ASSERT_EQ(published, 1) << oa.error << " / " << ob.error;
    ASSERT_EQ(skipped, 1);
    const auto& winner = oa.status == BackupOutcome::Status::published ? "alpha" : "beta";
    const auto& loser = oa.status == BackupOutcome::Status::skipped ? oa : ob;
    EXPECT_NE(loser.error.find(winner), std::string::npos) << loser.error;
    EXPECT_EQ(query_value(src, "SELECT count(*)::text FROM steward_backups WHERE status = 'published'"), "1");

    auto late = backup::run_backup(config(g.path(), "gamma"));
    EXPECT_EQ(late.status, BackupOutcome::Status::skipped);
    EXPECT_NE(late.error.find("already taken by host " + std::string(winner)), std::string::npos)
        << late.error;
    EXPECT_TRUE(listed(g.path()).empty());

    auto next = config(g.path(), "gamma");
    next.slot = std::chrono::system_clock::now();
    EXPECT_EQ(backup::run_backup(next).status, BackupOutcome::Status::published);
    // Without a slot (backup now by hand) nothing is skipped.
    EXPECT_EQ(backup::run_backup(backup::config_without_spec(src, a.path())).status,
              BackupOutcome::Status::published);
}

// A 'running' row whose steward died (it would claim every slot before its start time) is marked failed by
// the next run under the lock, and does not take the slot.
TEST(BackupDaemonApi, AbandonedRunningRowIsMarkedAndDoesNotTakeTheSlot) {
    auto src = fresh_database("bk_stale");
    query_value(src, "CREATE TABLE t (x int)");
    TempDir dir("bk-stale");
    auto c = backup::config_without_spec(src, dir.path());
    c.settings.verify = BackupsSpec::Verify::none;
    ASSERT_EQ(backup::run_backup(c).status, BackupOutcome::Status::published);  // creates the catalog
    query_value(src,
                "INSERT INTO steward_backups (id, database, host, status, started_at) VALUES "
                "('dead-20990101T000000Z', '" +
                    database_name(src) + "', 'dead-host', 'running', now() + interval '1 hour')");
    c.slot = std::chrono::system_clock::now();
    auto out = backup::run_backup(c);
    EXPECT_EQ(out.status, BackupOutcome::Status::published) << out.error;
    EXPECT_EQ(
        query_value(src,
                    "SELECT status || ' ' || error FROM steward_backups WHERE id = 'dead-20990101T000000Z'"),
        "failed interrupted: the steward running it stopped");
}

// (c) Drills: a restore of the newest published backup, recorded in the catalog, counted in the metrics.
TEST(BackupDaemonApi, DrillsAreRecordedAndCounted) {
    auto src = fresh_database("bk_drill");
    seed_app(src);
    TempDir dir("bk-drill");
    auto c = backup::config_without_spec(src, dir.path());
    c.host = "drill-host";
    auto none = backup::run_drill(c);
    EXPECT_FALSE(none.ran);
    EXPECT_FALSE(none.ok);
    EXPECT_NE(none.error.find("no published backup"), std::string::npos);

    c.settings.verify = BackupsSpec::Verify::restore;  // row counts in the manifest for the drill to compare
    auto first = backup::run_backup(c);
    ASSERT_EQ(first.status, BackupOutcome::Status::published) << first.error;
    auto ok = backup::run_drill(c);
    EXPECT_TRUE(ok.ran);
    EXPECT_TRUE(ok.ok) << ok.error;
    EXPECT_EQ(ok.id, first.id);
    EXPECT_TRUE(ok.recorded);
    auto m = backup::backup_metrics(c);
    ASSERT_TRUE(m.last_drill_success_timestamp.has_value());
    EXPECT_NEAR(*m.last_drill_success_timestamp,
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(),
                120);
    EXPECT_EQ(m.drill_failures_total, 0);

    // The newest backup goes bad on disk: the drill fails, and says so in the catalog.
    auto second = backup::run_backup(c);
    ASSERT_EQ(second.status, BackupOutcome::Status::published);
    fs::resize_file(second.path / "dump", fs::file_size(second.path / "dump") / 2);
    auto bad = backup::run_drill(c);
    EXPECT_TRUE(bad.ran);
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(bad.id, second.id);
    EXPECT_NE(bad.error.find("dump: size"), std::string::npos) << bad.error;
    EXPECT_EQ(backup::backup_metrics(c).drill_failures_total, 1);
    EXPECT_EQ(
        query_value(src, "SELECT host || ' ' || ok::text FROM steward_backup_drills WHERE backup_id = '" +
                             second.id + "'"),
        "drill-host false");
}

// The daemon answers a backup request with the id before the backup starts, maybe in a later second: the
// backup takes that id. An id taken by then is not reused: the backup gets a new one.
TEST(BackupDaemonApi, AnIdChosenBeforeTheBackupStartsIsTheOneItTakes) {
    auto src = fresh_database("bk_chosen_id");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    TempDir dir("bk-chosen-id");
    auto c = backup::config_without_spec(src, dir.path());
    c.id = backup::new_backup_id(c, std::chrono::system_clock::now() - std::chrono::seconds(5));
    auto first = backup::run_backup(c);
    ASSERT_EQ(first.status, BackupOutcome::Status::published) << first.error;
    EXPECT_EQ(first.id, c.id);
    EXPECT_TRUE(fs::exists(dir / c.id / "manifest.json"));
    EXPECT_NE(backup::new_backup_id(c, std::chrono::system_clock::now() - std::chrono::seconds(5)), c.id);
    auto second = backup::run_backup(c);  // the same id again: taken now
    ASSERT_EQ(second.status, BackupOutcome::Status::published) << second.error;
    EXPECT_NE(second.id, c.id);
    EXPECT_EQ(listed(dir.path()).size(), 2u);
}
