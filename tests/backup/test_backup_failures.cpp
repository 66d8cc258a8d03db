// Backup integration: failures stay harmless (kill -9, corruption, disk full, database down, locks,
// unrestorable dumps). corruption, disk full, locks).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <thread>

#include "backup/backup_job.hpp"
#include "backup/lock.hpp"
#include "backup/stream.hpp"
#include "core/pg.hpp"
#include "tests/backup/backup_test_helpers.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace steward;
using namespace steward::test;
using namespace steward::test::backup_helpers;

TEST(BackupIntegration, KillNineMidBackupLeavesNothingListedAndNextRunCleansUp) {
    auto src = fresh_database("bk_kill");
    query_value(
        src,
        "CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) || md5(random()::text) AS v "
        "FROM generate_series(1, 600000) g");
    TempDir dir("bk-kill");
    // The cluster's password must never reach a command line that ps shows.
    const std::string password = pg::parse_conninfo(src).get("password");
    ASSERT_GE(password.size(), 16u);
    auto child = spawn_steward({"backup", "now", "--dir", dir.path().string()}, {{"DATABASE_URL", src}});
    fs::path partial_dump;
    bool started = eventually([&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir.path(), ec)) {
            auto p = e.path() / "dump";
            if (e.path().extension() == ".partial" && fs::exists(p, ec) && fs::file_size(p, ec) > 0) {
                partial_dump = p;
                return true;
            }
        }
        return false;
    });
    ASSERT_TRUE(started) << "no .partial/dump appeared";
    int dumps = 0;
    for (const auto& p : fs::directory_iterator("/proc")) {
        std::string cmdline = read_file(p.path() / "cmdline");
        std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
        if (argv0.ends_with("pg_dump") && cmdline.find(database_name(src)) != std::string::npos) ++dumps;
        EXPECT_EQ(cmdline.find(password), std::string::npos) << "password on a command line of " << argv0;
    }
    EXPECT_GE(dumps, 1) << "pg_dump not seen running";
    child.signal(SIGKILL, /*whole_group=*/false);  // steward only: its pg_dump must die with it
    EXPECT_EQ(child.wait(), 128 + SIGKILL);

    EXPECT_TRUE(listed(dir.path()).empty());
    // pg_dump died with steward (parent-death signal): its session goes away.
    EXPECT_TRUE(eventually([&] {
        return query_value(cluster_url(), "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" +
                                              database_name(src) +
                                              "' AND application_name = 'steward-backup'") == "0";
    }));

    auto r = backup_now(dir.path(), src, {"--verify", "none"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    auto names = entries(dir.path());
    EXPECT_FALSE(has_suffix(names, ".partial"));
    EXPECT_EQ(listed(dir.path()).size(), 1u);
}

TEST(BackupIntegration, TruncatedOrBitFlippedBackupFailsVerify) {
    auto src = fresh_database("bk_corrupt");
    seed_app(src);
    TempDir dir("bk-corrupt");
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto r = backup_now(dir.path(), src, {"--verify", "none"});
        ASSERT_EQ(r.status, 0) << r.err;
        ids.emplace_back(parse_json(r.out).at("id").as_string());
    }
    auto verify = [&](const std::string& id) {
        return run_steward({"backup", "verify", id, "--dir", dir.path().string(), "--json"});
    };
    ASSERT_EQ(verify(ids[0]).status, 0);

    auto dump0 = dir.path() / ids[0] / "dump";
    fs::resize_file(dump0, fs::file_size(dump0) / 2);
    auto v0 = verify(ids[0]);
    EXPECT_EQ(v0.status, 1);
    EXPECT_FALSE(parse_json(v0.out).at("ok").as_bool());

    auto dump1 = dir.path() / ids[1] / "dump";
    {
        std::fstream f(dump1, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(fs::file_size(dump1) / 2));
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x10);
        f.seekp(static_cast<std::streamoff>(fs::file_size(dump1) / 2));
        f.write(&c, 1);
    }
    EXPECT_EQ(verify(ids[1]).status, 1);

    // Truncation is caught by reading the archive too, not only by the manifest's hashes.
    auto dump2 = dir.path() / ids[2] / "dump";
    fs::resize_file(dump2, fs::file_size(dump2) / 2);
    auto mpath = dir.path() / ids[2] / "manifest.json";
    auto m = json::parse(read_file(mpath)).as_object();
    auto digest = backup::digest_file(dump2);
    for (auto& f : m.at("files").as_array())
        if (f.as_object().at("path").as_string() == "dump") {
            f.as_object()["bytes"] = fs::file_size(dump2);
            f.as_object()["sha256"] = digest.sha256;
        }
    std::ofstream(mpath, std::ios::trunc) << json::serialize(m);
    auto v2 = verify(ids[2]);
    EXPECT_EQ(v2.status, 1) << v2.out;
    EXPECT_NE(v2.out.find("archive unreadable"), std::string::npos) << v2.out;
}

TEST(BackupIntegration, DiskFullFailsCleanlyAndKeepsEarlierBackups) {
    auto src = fresh_database("bk_full");
    query_value(src,
                "CREATE TABLE small (id int, v text); INSERT INTO small SELECT g, 'x' || g FROM "
                "generate_series(1, 100) g");
    TempDir dir("bk-tmpfs");
    auto mnt = dir.path() / "mnt";
    fs::create_directory(mnt);
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m"), 0)
        << "mount tmpfs: " << std::strerror(errno);
    struct Unmount {
        fs::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{mnt};

    auto first = backup_now(mnt, src);
    ASSERT_EQ(first.status, 0) << first.err;
    std::string id(parse_json(first.out).at("id").as_string());

    query_value(src,
                "CREATE TABLE noise AS SELECT g, md5(random()::text) || md5(random()::text) AS a "
                "FROM generate_series(1, 100000) g");
    auto second = backup_now(mnt, src);
    EXPECT_EQ(second.status, 1);
    auto doc = parse_json(second.out);
    EXPECT_EQ(doc.at("status").as_string(), "failed");
    EXPECT_NE(json::serialize(doc.at("error")).find("No space left"), std::string::npos) << second.out;
    auto names = entries(mnt);
    EXPECT_FALSE(has_suffix(names, ".partial"));
    EXPECT_EQ(listed(mnt), std::vector<std::string>{id});
    EXPECT_EQ(run_steward({"backup", "verify", id, "--dir", mnt.string()}).status, 0);
    EXPECT_EQ(query_value(src, "SELECT count(*)::text FROM steward_backups WHERE status = 'failed'"), "1");
}

TEST(BackupIntegration, DatabaseDownGivesClearError) {
    TempDir dir("bk-down");
    std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(free_loopback_port()) + "/nowhere";
    auto r = run_steward({"backup", "now", "--dir", dir.path().string(), "--database-url", url});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("cannot connect to database"), std::string::npos) << r.err;
    EXPECT_TRUE(listed(dir.path()).empty());
    EXPECT_FALSE(has_suffix(entries(dir.path()), ".partial"));
}

TEST(BackupIntegration, HeldLocksSkipTheRun) {
    auto src = fresh_database("bk_lock");
    TempDir dir("bk-lock");
    fs::create_directories(dir.path());
    {
        int fd = ::open((dir.path() / ".lock").c_str(), O_RDWR | O_CREAT, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::flock(fd, LOCK_EX), 0);
        auto r = backup_now(dir.path(), src);
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_TRUE(parse_json(r.out).at("skipped").as_bool());
        auto p = run_steward({"backup", "prune", "--dir", dir.path().string()});
        EXPECT_EQ(p.status, 1);
        ::close(fd);
    }
    auto c = pg::connect(src);
    {
        pqxx::nontransaction tx(*c);
        tx.exec("SELECT pg_advisory_lock(" + std::to_string(pg::backup_lock_key(database_name(src))) + ")");
    }
    auto r = backup_now(dir.path(), src);
    EXPECT_EQ(r.status, 0) << r.err;
    auto doc = parse_json(r.out);
    EXPECT_TRUE(doc.at("skipped").as_bool());
    EXPECT_NE(json::serialize(doc.at("reason")).find("advisory lock"), std::string::npos);
    EXPECT_TRUE(listed(dir.path()).empty());
}

TEST(BackupIntegration, UnrestorableDumpFailsRestoreVerificationAndIsKeptAsFailed) {
    // A classic: a CHECK constraint calling a function that reads an unqualified table dumps fine but
    // does not restore (pg_restore runs with an empty search_path). Only `verify: restore` sees it.
    auto src = fresh_database("bk_unrest");
    query_value(src,
                "CREATE TABLE lookup (x int); INSERT INTO lookup VALUES (1);"
                "CREATE FUNCTION ok_x(v int) RETURNS bool LANGUAGE sql AS 'SELECT EXISTS (SELECT 1 FROM "
                "lookup WHERE x = v)';"
                "CREATE TABLE guarded (v int CHECK (ok_x(v))); INSERT INTO guarded VALUES (1);");
    TempDir dir("bk-unrest");
    auto full = backup_now(dir.path(), src);
    ASSERT_EQ(full.status, 0) << full.out << full.err;

    auto r = backup_now(dir.path(), src, {"--verify", "restore"});
    EXPECT_EQ(r.status, 1);
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("status").as_string(), "verify_failed");
    EXPECT_NE(json::serialize(doc.at("error")).find("scratch restore failed"), std::string::npos) << r.out;
    std::string id(doc.at("id").as_string());
    EXPECT_TRUE(fs::exists(dir.path() / (id + ".failed") / "manifest.json"));
    EXPECT_EQ(listed(dir.path()).size(), 1u);  // only the first backup counts
    EXPECT_EQ(query_value(cluster_url(), "SELECT count(*)::text FROM pg_database WHERE datname = '" +
                                             database_name(src) + "_steward_verify'"),
              "0");
    EXPECT_EQ(query_value(src, "SELECT status FROM steward_backups WHERE id = '" + id + "'"),
              "verify_failed");

    // `restore` of the published (full-verified) one fails the same way: exit 1 with pg_restore's error.
    std::string first(parse_json(full.out).at("id").as_string());
    auto dst = fresh_database("bk_unrest_dst");
    auto rr = run_steward(
        {"backup", "restore", first, "--dir", dir.path().string(), "--database-url", dst, "--json"});
    EXPECT_EQ(rr.status, 1) << rr.out << rr.err;
    auto rdoc = parse_json(rr.out);
    EXPECT_FALSE(rdoc.at("ok").as_bool());
    EXPECT_FALSE(rdoc.at("refused").as_bool());
    EXPECT_NE(json::serialize(rdoc.at("error")).find("pg_restore failed"), std::string::npos) << rr.out;
    EXPECT_NE(json::serialize(rdoc.at("error")).find("lookup"), std::string::npos) << rr.out;
}

// `restore --jobs N` of an encrypted archive decrypts it into a scratch folder first; kill -9 of steward
// there must not leave that plaintext copy for good: the next run (verify here) removes it.
TEST(BackupIntegration, KilledRestoreScratchCopyIsRemovedByTheNextRun) {
    auto src = fresh_database("bk_kscr");
    query_value(
        src,
        "CREATE TABLE notes (id int, body text); INSERT INTO notes SELECT g, 'plaintext-marker-' || g "
        "FROM generate_series(1, 20000) g");
    TempDir dir("bk-kscr");
    auto bdir = dir.path() / "b";
    auto spec =
        dir.write("steward.yaml",
                  "version: 1\nname: kscr\nenvironment: development\ndatabase:\n  url: ${TEST_DB_URL}\n"
                  "secrets:\n  backup_key: { env: TEST_BACKUP_KEY, kind: key }\n"
                  "backups:\n  dir: " +
                      bdir.string() + "\n  encryption: { key: \"secret:backup_key\" }\n");
    std::map<std::string, std::string> env{{"TEST_DB_URL", src}, {"TEST_BACKUP_KEY", "kill-scratch key 42"}};
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"}, env);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    std::string id(parse_json(r.out).at("id").as_string());

    // The target has a table that `--clean` drops; holding a lock on it parks pg_restore deterministically.
    auto dst = fresh_database("bk_kscr_dst");
    query_value(dst, "CREATE TABLE notes (id int)");
    auto holder = pg::connect(dst);
    pqxx::work lock_tx(*holder);
    lock_tx.exec("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE");

    auto child = spawn_steward({"--spec", spec.string(), "backup", "restore", id, "--database-url", dst,
                                "--clean", "--jobs", "2", "--yes"},
                               env);
    auto scratch = bdir / (".restore-" + id + ".tmp");
    bool parked = eventually([&] {
        return query_value(cluster_url(),
                           "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" +
                               database_name(dst) +
                               "' AND application_name = 'steward-backup' AND wait_event_type = "
                               "'Lock'") != "0";
    });
    ASSERT_TRUE(parked) << "pg_restore never waited on the held lock";
    ASSERT_TRUE(fs::exists(scratch / "dump"));
    EXPECT_NE(read_file(scratch / "dump").find("plaintext-marker"), std::string::npos);
    child.signal(SIGKILL, /*whole_group=*/false);
    EXPECT_EQ(child.wait(), 128 + SIGKILL);
    lock_tx.abort();
    EXPECT_TRUE(eventually([&] {  // pg_restore died with steward
        return query_value(cluster_url(), "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" +
                                              database_name(dst) +
                                              "' AND application_name = 'steward-backup'") == "0";
    }));
    ASSERT_TRUE(fs::exists(scratch)) << "the killed restore left nothing to clean up";

    auto v = run_steward({"--spec", spec.string(), "backup", "verify", id}, env);
    EXPECT_EQ(v.status, 0) << v.err;
    EXPECT_FALSE(fs::exists(scratch));
    EXPECT_EQ(listed(bdir), std::vector<std::string>{id});
}

// Two `verify: restore` runs of one database would drop each other's scratch database mid-restore (and
// a `now` would then keep a good backup as .failed): the second waits for the first.
TEST(BackupIntegration, ScratchRestoresOfOneDatabaseRunOneAtATime) {
    auto src = fresh_database("bk_vser");
    seed_app(src);
    TempDir dir("bk-vser");
    auto r = backup_now(dir.path(), src, {"--verify", "restore"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    std::string scratch = database_name(src) + "_steward_verify";

    auto holder = pg::connect(src);  // stands in for another verify in progress
    {
        pqxx::nontransaction tx(*holder);
        tx.exec_params("SELECT pg_advisory_lock($1)", backup::verify_scratch_lock_key(database_name(src)));
    }
    auto child = spawn_steward(
        {"backup", "verify", id, "--level", "restore", "--dir", dir.path().string(), "--database-url", src});
    bool waiting = eventually([&] {
        return query_value(cluster_url(), "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" +
                                              database_name(src) + "' AND wait_event = 'advisory'") != "0";
    });
    EXPECT_TRUE(waiting) << "the second verify did not wait for the first";
    EXPECT_EQ(query_value(cluster_url(),
                          "SELECT count(*)::text FROM pg_database WHERE datname = '" + scratch + "'"),
              "0");
    holder.reset();  // the first verify ends
    EXPECT_EQ(child.wait(), 0);
    EXPECT_EQ(query_value(cluster_url(),
                          "SELECT count(*)::text FROM pg_database WHERE datname = '" + scratch + "'"),
              "0");
}

// A migration holding an ACCESS EXCLUSIVE lock: pg_dump gives up after backups.lock_wait_timeout instead
// of queueing behind it (and in front of everything that comes after), and the backup fails cleanly.
TEST(BackupIntegration, LockedTableFailsAfterLockWaitTimeout) {
    auto src = fresh_database("bk_lockwait");
    query_value(src, "CREATE TABLE busy (x int); INSERT INTO busy VALUES (1)");
    TempDir dir("bk-lockwait");
    auto spec =
        dir.write("steward.yaml",
                  "version: 1\nname: lockwait\nenvironment: development\ndatabase:\n  url: " + src +
                      "\nbackups:\n  dir: " + (dir.path() / "b").string() + "\n  lock_wait_timeout: 1s\n");
    auto holder = pg::connect(src);
    pqxx::work tx(*holder);
    tx.exec("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE");
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"});
    auto took = std::chrono::steady_clock::now() - t0;
    tx.abort();
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("status").as_string(), "failed");
    EXPECT_NE(json::serialize(doc.at("error")).find("LOCK TABLE public.busy"), std::string::npos) << r.out;
    EXPECT_LT(took, std::chrono::seconds(20));
    EXPECT_FALSE(has_suffix(entries(dir.path() / "b"), ".partial"));
    EXPECT_TRUE(listed(dir.path() / "b").empty());
}

// Prune (here after every count went to zero) never deletes a backup that a restore is reading: it is
// kept as "in_use" and goes on the next prune after the restore ended.
TEST(BackupIntegration, PruneKeepsABackupThatIsBeingRestored) {
    auto src = fresh_database("bk_inuse");
    seed_app(src);
    TempDir dir("bk-inuse");
    auto b = dir.path() / "b";
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
        auto r = backup_now(b, src, {"--verify", "none"});
        ASSERT_EQ(r.status, 0) << r.err;
        ids.emplace_back(parse_json(r.out).at("id").as_string());
    }
    auto spec =
        dir.write("steward.yaml", "version: 1\nname: " + database_name(src) +
                                      "\nenvironment: development\ndatabase:\n  url: " + src +
                                      "\nbackups:\n  dir: " + b.string() +
                                      "\n  retention: { keep_last: 0, daily: 0, weekly: 0, monthly: 0 }\n");

    auto dst = fresh_database("bk_inuse_dst");
    query_value(dst, "CREATE TABLE users (id int)");
    auto holder = pg::connect(dst);
    pqxx::work lock_tx(*holder);
    lock_tx.exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");  // parks pg_restore --clean
    auto child = spawn_steward(
        {"backup", "restore", ids[0], "--dir", b.string(), "--database-url", dst, "--clean", "--yes"});
    ASSERT_TRUE(eventually([&] {
        return query_value(cluster_url(), "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" +
                                              database_name(dst) + "' AND wait_event_type = 'Lock'") != "0";
    })) << "pg_restore never waited on the held lock";

    auto p = run_steward({"--spec", spec.string(), "backup", "prune", "--json"});
    ASSERT_EQ(p.status, 0) << p.out << p.err;
    std::map<std::string, std::string> rule;
    auto pdoc = parse_json(p.out);
    for (const auto& d : pdoc.at("backups").as_array())
        rule[std::string(d.at("id").as_string())] = std::string(d.at("rule").as_string());
    EXPECT_EQ(rule[ids[0]], "in_use") << p.out;
    EXPECT_EQ(rule[ids[1]], "newest");
    EXPECT_TRUE(fs::exists(b / ids[0] / "manifest.json"));

    lock_tx.abort();
    EXPECT_EQ(child.wait(), 0);
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
    ASSERT_EQ(run_steward({"--spec", spec.string(), "backup", "prune"}).status, 0);
    EXPECT_EQ(listed(b), std::vector<std::string>{ids[1]});
}
