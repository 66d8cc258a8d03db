// kill -9 of steward at random points during a backup, a migrate up (transactional and not), a restore and
// `run` while its service starts: nothing partial is listed, the documented recovery step gives a clean run's
// schema, no child of steward survives, and the advisory locks are free.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <sstream>
#include <thread>

#include "tests/backup/backup_test_helpers.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/faults/fault_checks.hpp"
#include "tests/faults/fault_settings.hpp"
#include "tests/support/steward_process.hpp"

namespace fs = std::filesystem;
using namespace steward;
using namespace steward::test;
using namespace steward::test::backup_helpers;
using namespace std::chrono_literals;

namespace {

const int kKills = fault_setting(1, 10);  // make test runs each case once

std::chrono::milliseconds since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

// Spawns steward with `args`, kills it (only it) with SIGKILL after `after`, and returns its children as they
// were just before the kill. `exited` tells whether it finished on its own first.
std::vector<pid_t> kill_after(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env, std::chrono::milliseconds after,
                              bool& exited) {
    auto child = spawn_steward(args, env);
    auto deadline = std::chrono::steady_clock::now() + after;
    exited = false;
    std::vector<pid_t> children;
    while (std::chrono::steady_clock::now() < deadline) {
        if (child.try_wait()) {
            exited = true;
            return {};
        }
        children = children_of(child.pid());
        std::this_thread::sleep_for(5ms);  // the kill point is the fault; this only tracks the children
    }
    children = children_of(child.pid());
    child.signal(SIGKILL, /*whole_group=*/false);
    child.wait();
    return children;
}

void expect_clean_after_kill(const std::vector<pid_t>& children, const std::string& url,
                             const std::string& what) {
    EXPECT_TRUE(eventually([&] { return all_gone(children); }, 20s))
        << what << ": a child of steward survived";
    EXPECT_TRUE(eventually([&] { return advisory_locks(url) == 0; }, 20s))
        << what << ": an advisory lock is held";
}

struct Tally {
    std::string name;
    int kills = 0;
    int finished_first = 0;
    int published_first = -1;  // backups only: killed after the backup was published, before steward exited
    ~Tally() {
        report_fault_figure(name, "kill points", std::to_string(kills));
        report_fault_figure(name, "finished before the kill", std::to_string(finished_first));
        if (published_first >= 0)
            report_fault_figure(name, "published before the kill", std::to_string(published_first));
    }
};

// Ids in `now` that are not in `before` (retention may have pruned some of `before`).
std::vector<std::string> new_ids(const std::vector<std::string>& before, const std::vector<std::string>& now) {
    std::vector<std::string> out;
    for (const auto& id : now)
        if (std::find(before.begin(), before.end(), id) == before.end()) out.push_back(id);
    return out;
}

}  // namespace

TEST(KillNine, DuringABackupNothingPartialIsListedAndTheNextBackupSucceeds) {
    auto src = fresh_database("kn_bk");
    seed_app(src);
    TempDir dir("kn-bk");
    std::map<std::string, std::string> env;
    std::vector<std::string> args{"backup", "now", "--dir", dir.path().string(), "--database-url", src};
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(run_steward(args).status, 0);
    auto clean = since(t0);
    auto before = listed(dir.path());
    Tally tally{"kill -9 during backup now"};
    tally.published_first = 0;
    for (auto at : kill_points(kKills, clean, 1401)) {
        bool exited = false;
        auto children = kill_after(args, env, at, exited);
        ++tally.kills;
        if (exited) {
            ++tally.finished_first;
            before = listed(dir.path());
            continue;
        }
        // Killed before the backup was published, nothing new is listed; killed after (its catalog update,
        // pruning and exit follow), the one new backup listed is whole: it verifies.
        auto now = listed(dir.path());
        auto added = new_ids(before, now);
        EXPECT_LE(added.size(), 1u) << "killed at " << at.count() << " ms";
        for (const auto& id : added) {
            auto v = run_steward({"backup", "verify", id, "--dir", dir.path().string(), "--database-url", src});
            EXPECT_EQ(v.status, 0) << "killed at " << at.count() << " ms, " << id << " listed: " << v.err;
            ++tally.published_first;
        }
        if (added.empty()) {
            EXPECT_EQ(now, before) << "killed at " << at.count() << " ms";
        }
        before = now;
        expect_clean_after_kill(children, src, "backup killed at " + std::to_string(at.count()) + " ms");
    }
    auto r = run_steward(args);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(new_ids(before, listed(dir.path())).size(), 1u);
    EXPECT_FALSE(has_suffix(entries(dir.path()), ".partial"));
}

namespace {

// Runs the kill loop over `migrate up` of `files`; after each kill the documented recovery (`up`, and
// `repair --yes` first when up says so) must end at the schema a clean run gives.
void migrate_kill_loop(const std::vector<std::pair<std::string, std::string>>& files, const std::string& name,
                       unsigned seed) {
    TempDir mdir("kn-mig");
    for (const auto& [f, sql] : files) mdir.write(f, sql);
    auto migrate = [&](const std::string& url, std::vector<std::string> extra) {
        std::vector<std::string> args{"migrate"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.insert(args.end(), {"--dir", mdir.path().string(), "--database-url", url});
        return args;
    };
    auto clean_db = fresh_database("kn_mig_clean");
    auto t0 = std::chrono::steady_clock::now();
    auto clean = run_steward(migrate(clean_db, {"up"}));
    ASSERT_EQ(clean.status, 0) << clean.err;
    auto span = since(t0);
    auto expected = schema_fingerprint(clean_db);
    Tally tally{name};
    for (auto at : kill_points(kKills, span, seed)) {
        auto url = fresh_database("kn_mig");
        bool exited = false;
        auto children = kill_after(migrate(url, {"up"}), {}, at, exited);
        ++tally.kills;
        if (exited) ++tally.finished_first;
        expect_clean_after_kill(children, url, name + " killed at " + std::to_string(at.count()) + " ms");
        auto up = run_steward(migrate(url, {"up"}));
        if (up.status != 0 && up.err.find("repair --yes") != std::string::npos) {
            ASSERT_EQ(run_steward(migrate(url, {"repair", "--yes"})).status, 0);
            up = run_steward(migrate(url, {"up"}));
        }
        ASSERT_EQ(up.status, 0) << "killed at " << at.count() << " ms: " << up.err;
        EXPECT_EQ(schema_fingerprint(url), expected) << "killed at " << at.count() << " ms";
        EXPECT_EQ(query_value(url,
                              "SELECT string_agg(version || ':' || state, ',' ORDER BY version) FROM "
                              "steward_migrations"),
                  query_value(clean_db,
                              "SELECT string_agg(version || ':' || state, ',' ORDER BY version) FROM "
                              "steward_migrations"));
    }
}

}  // namespace

TEST(KillNine, DuringATransactionalMigrateUpRerunningUpGivesTheCleanSchema) {
    std::vector<std::pair<std::string, std::string>> files;
    for (int i = 1; i <= 5; ++i)
        files.push_back(
            {"V" + std::to_string(i) + "__t" + std::to_string(i) + ".sql",
             "CREATE TABLE t" + std::to_string(i) + " (id int PRIMARY KEY, v text);\nINSERT INTO t" +
                 std::to_string(i) +
                 " SELECT g, md5(g::text) FROM generate_series(1, 2000) g;\nSELECT pg_sleep(0.1);\n"});
    migrate_kill_loop(files, "kill -9 during migrate up (transactional)", 1402);
}

TEST(KillNine, DuringANonTransactionalMigrateUpRepairThenUpGivesTheCleanSchema) {
    std::vector<std::pair<std::string, std::string>> files = {
        {"V1__base.sql", "CREATE TABLE a (x int);\nSELECT pg_sleep(0.1);\n"},
        // Written to be re-run, as docs/migrations.md asks of no-transaction files.
        {"V2__nontx.sql",
         "-- steward:no-transaction\nCREATE TABLE IF NOT EXISTS b (x int);\nSELECT pg_sleep(0.2);\n"
         "ALTER TABLE b ADD COLUMN IF NOT EXISTS y int;\nSELECT pg_sleep(0.2);\n"
         "CREATE INDEX IF NOT EXISTS b_x ON b (x);\n"},
        {"V3__after.sql", "CREATE TABLE c (x int);\nSELECT pg_sleep(0.1);\n"}};
    migrate_kill_loop(files, "kill -9 during migrate up (no-transaction)", 1403);
}

TEST(KillNine, DuringARestoreRerunningItGivesTheSourceData) {
    auto src = fresh_database("kn_rs");
    seed_app(src);
    TempDir dir("kn-rs");
    auto r = backup_now(dir.path(), src, {"--verify", "none"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    auto expected = fingerprint(src);
    auto restore = [&](const std::string& dst) {
        return std::vector<std::string>{"backup",         "restore", id,        "--dir", dir.path().string(),
                                        "--database-url", dst,       "--clean", "--yes"};
    };
    auto probe_db = fresh_database("kn_rs_clean");
    auto t0 = std::chrono::steady_clock::now();
    auto clean = run_steward(restore(probe_db));
    ASSERT_EQ(clean.status, 0) << clean.err;
    auto span = since(t0);
    Tally tally{"kill -9 during backup restore"};
    for (auto at : kill_points(kKills, span, 1404)) {
        auto dst = fresh_database("kn_rs_dst");
        bool exited = false;
        auto children = kill_after(restore(dst), {}, at, exited);
        ++tally.kills;
        if (exited) ++tally.finished_first;
        expect_clean_after_kill(children, dst, "restore killed at " + std::to_string(at.count()) + " ms");
        EXPECT_TRUE(eventually([&] { return sessions_on(dst) == 0; }, 20s));
        auto again = run_steward(restore(dst));
        ASSERT_EQ(again.status, 0) << "killed at " << at.count() << " ms: " << again.err;
        EXPECT_EQ(fingerprint(dst), expected) << "killed at " << at.count() << " ms";
    }
    EXPECT_EQ(listed(dir.path()), std::vector<std::string>{id});
    for (const auto& e : entries(dir.path())) EXPECT_EQ(e.find(".restore-"), std::string::npos) << e;
}

TEST(KillNine, DuringRunWhileAServiceStartsNoChildSurvivesAndTheNextRunStarts) {
    DaemonFixture f;
    // The service takes a while to become ready, so kill points fall before, during and after its start.
    auto svc = f.script("svc.sh", "echo $$ >> " + (f.dir / "pids").string() + "; sleep 0.5; touch " +
                                      (f.dir / "ready").string() + "; exec sleep 1000");
    auto spec = f.spec("services:\n  svc:\n    command: [" + svc +
                       "]\n    readiness: { exec: { command: [test, -e, " + (f.dir / "ready").string() +
                       "] }, timeout: 30s }\n");
    std::vector<std::string> args{"--spec", spec.string(), "run"};
    Tally tally{"kill -9 during run while a service starts"};
    for (auto at : kill_points(kKills, 3000ms, 1405)) {
        fs::remove(f.dir / "ready");
        bool exited = false;
        auto children = kill_after(args, {}, at, exited);
        ++tally.kills;
        ASSERT_FALSE(exited) << "steward run exited on its own";
        EXPECT_TRUE(eventually([&] { return all_gone(children); }, 20s))
            << "killed at " << at.count() << " ms";
        // Every service process it ever started is gone too (the service is a direct child).
        std::vector<pid_t> started;
        std::istringstream pids(read_text(f.dir / "pids"));
        for (pid_t p; pids >> p;) started.push_back(p);
        EXPECT_TRUE(eventually([&] { return all_gone(started); }, 20s))
            << "killed at " << at.count() << " ms";
        EXPECT_TRUE(eventually([&] { return advisory_locks(f.url) == 0; }, 20s));
    }
    fs::remove(f.dir / "ready");
    DaemonProcess d(spec, f.log());
    EXPECT_TRUE(d.wait_for_log("steward is ready", 60s)) << d.log();
}
