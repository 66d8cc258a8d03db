// Backup integration: the real steward binary against a real PostgreSQL: restore fidelity, formats,
// encryption, prune. corruption, disk full, locks).
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

TEST(BackupIntegration, BackupAndRestoreGiveIdenticalDataAndRoles) {
    auto src = fresh_database("bk_src");
    seed_app(src);
    std::string role = "bk_reader_" + std::to_string(::getpid());
    query_value(src, "CREATE ROLE " + role + " LOGIN; GRANT SELECT ON users TO " + role);
    TempDir dir("bk-restore");

    auto r = backup_now(dir.path(), src, {"--verify", "restore"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("verified").as_string(), "restore");
    EXPECT_EQ(doc.at("sha256").as_string().size(), 64u);
    EXPECT_TRUE(doc.at("offsite").is_null());
    std::string id(doc.at("id").as_string());
    EXPECT_EQ(id.rfind(database_name(src) + "-", 0), 0u);
    auto folder = dir.path() / id;
    EXPECT_TRUE(fs::is_regular_file(folder / "dump"));
    EXPECT_TRUE(fs::is_regular_file(folder / "globals.sql"));
    auto manifest = json::parse(read_file(folder / "manifest.json")).as_object();
    EXPECT_EQ(manifest.at("row_counts").as_object().at("public.messages").as_int64(), 20000);
    EXPECT_EQ(manifest.at("compression").as_string(), "zstd:3");
    EXPECT_EQ(query_value(src, "SELECT status FROM steward_backups WHERE id = '" + id + "'"), "published");

    // The role goes away; --with-globals brings it back with its grant.
    query_value(src, "REVOKE ALL ON users FROM " + role + "; DROP ROLE " + role);
    auto dst = fresh_database("bk_dst");
    auto rr = run_steward({"backup", "restore", id, "--dir", dir.path().string(), "--database-url", dst,
                           "--with-globals", "--json"});
    ASSERT_EQ(rr.status, 0) << rr.out << rr.err;
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
    EXPECT_EQ(query_value(dst, "SELECT has_table_privilege('" + role + "', 'users', 'SELECT')::text"),
              "true");
    // The sequence continues where the source's did.
    EXPECT_EQ(query_value(dst, "SELECT nextval('users_id_seq')::text"), "2001");

    // Parallel restore of a zstd archive (decompressed to a temporary file) gives the same data.
    auto dst2 = fresh_database("bk_dst2");
    auto rj = run_steward(
        {"backup", "restore", id, "--dir", dir.path().string(), "--database-url", dst2, "--jobs", "2"});
    ASSERT_EQ(rj.status, 0) << rj.err;
    EXPECT_EQ(fingerprint(src), fingerprint(dst2));
    EXPECT_FALSE(has_suffix(entries(dir.path()), ".tmp"));

    // Library figures for /metrics come from the catalog.
    auto m = backup::backup_metrics(backup::config_without_spec(src, dir.path()));
    EXPECT_TRUE(m.from_catalog);
    EXPECT_EQ(m.backup_count, 1);
    ASSERT_TRUE(m.last_size_bytes.has_value());
    EXPECT_GT(*m.last_size_bytes, 0);
}

TEST(BackupIntegration, DirectoryFormatWithGzipRoundTrips) {
    auto src = fresh_database("bk_dir");
    seed_app(src);
    TempDir dir("bk-dirfmt");
    auto r = backup_now(dir.path(), src, {"--format", "directory", "--compression", "gzip:1", "--jobs", "2"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    EXPECT_TRUE(fs::is_regular_file(dir.path() / id / "dump" / "toc.dat"));
    auto dst = fresh_database("bk_dir_dst");
    auto rr = run_steward(
        {"backup", "restore", id, "--dir", dir.path().string(), "--database-url", dst, "--jobs", "2"});
    ASSERT_EQ(rr.status, 0) << rr.err;
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
}

TEST(BackupIntegration, RestoreRefusesNonEmptyTargetWithoutClean) {
    auto src = fresh_database("bk_ref");
    seed_app(src);
    TempDir dir("bk-refuse");
    auto r = backup_now(dir.path(), src, {"--verify", "none"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    auto dst = fresh_database("bk_ref_dst");
    query_value(dst, "CREATE TABLE keepme (x int); INSERT INTO keepme VALUES (42)");
    auto rr = run_steward({"backup", "restore", id, "--dir", dir.path().string(), "--database-url", dst});
    EXPECT_EQ(rr.status, 1);
    EXPECT_NE(rr.err.find("--clean"), std::string::npos) << rr.err;
    EXPECT_EQ(query_value(dst, "SELECT x::text FROM keepme"), "42");
    EXPECT_EQ(query_value(dst, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'users'"), "0");
    // With --clean it replaces what the backup contains.
    auto rc = run_steward(
        {"backup", "restore", id, "--dir", dir.path().string(), "--database-url", dst, "--clean"});
    EXPECT_EQ(rc.status, 0) << rc.err;
    EXPECT_EQ(query_value(dst, "SELECT count(*)::text FROM messages"), "20000");
}

TEST(BackupIntegration, EncryptedBackupNeedsItsKey) {
    auto src = fresh_database("bk_enc");
    query_value(
        src,
        "CREATE TABLE notes (id int, body text); INSERT INTO notes SELECT g, 'plaintext-marker-' || g "
        "FROM generate_series(1, 3000) g");
    TempDir dir("bk-enc");
    auto spec =
        dir.write("steward.yaml",
                  "version: 1\nname: enc\nenvironment: development\ndatabase:\n  url: ${TEST_DB_URL}\n"
                  "secrets:\n  backup_key: { env: TEST_BACKUP_KEY, kind: key }\n"
                  "backups:\n  dir: " +
                      (dir.path() / "b").string() +
                      "\n  compression: none\n  encryption: { key: \"secret:backup_key\" }\n");
    std::map<std::string, std::string> env{{"TEST_DB_URL", src},
                                           {"TEST_BACKUP_KEY", "correct horse battery staple"}};
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"}, env);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    auto dump = read_file(dir.path() / "b" / id / "dump");
    EXPECT_EQ(dump.rfind("STWDENC2", 0), 0u);
    EXPECT_EQ(dump.find("plaintext-marker"), std::string::npos);
    EXPECT_EQ(read_file(dir.path() / "b" / id / "globals.sql").rfind("STWDENC2", 0), 0u);

    auto dst = fresh_database("bk_enc_dst");
    auto no_key =
        run_steward({"backup", "restore", id, "--dir", (dir.path() / "b").string(), "--database-url", dst});
    EXPECT_EQ(no_key.status, 1);
    EXPECT_NE(no_key.err.find("encrypted"), std::string::npos) << no_key.err;
    auto wrong = env;
    wrong["TEST_BACKUP_KEY"] = "wrong key";
    auto bad = run_steward({"--spec", spec.string(), "backup", "restore", id, "--database-url", dst}, wrong);
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("fails authentication"), std::string::npos) << bad.err;
    EXPECT_EQ(query_value(dst, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'notes'"), "0");

    auto ok = run_steward({"--spec", spec.string(), "backup", "restore", id, "--database-url", dst}, env);
    ASSERT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
    EXPECT_EQ(run_steward({"--spec", spec.string(), "backup", "verify", id}, env).status, 0);
    EXPECT_EQ(run_steward({"--spec", spec.string(), "backup", "verify", id}, wrong).status, 1);
}

TEST(BackupIntegration, PruneKeepsNewestAndTouchesOnlyStewardBackups) {
    auto src = fresh_database("bk_prune");
    query_value(src, "CREATE TABLE t (x int)");
    TempDir dir("bk-prune");
    auto r = backup_now(dir.path(), src, {"--verify", "none"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    std::string name = database_name(src);
    // Older copies on earlier days: a synthetic timeline.
    std::vector<std::string> old{name + "-20200101T020000Z", name + "-20200101T030000Z",
                                 name + "-20200102T020000Z", name + "-20200103T020000Z"};
    for (const auto& o : old) {
        fs::copy(dir.path() / id, dir.path() / o);
        auto m = json::parse(read_file(dir.path() / o / "manifest.json")).as_object();
        m["id"] = o;
        m["finished"] = o.substr(name.size() + 1, 4) + "-" + o.substr(name.size() + 5, 2) + "-" +
                        o.substr(name.size() + 7, 2) + "T" + o.substr(name.size() + 10, 2) + ":00:00Z";
        std::ofstream(dir.path() / o / "manifest.json", std::ios::trunc) << json::serialize(m);
    }
    // Another deployment's backups in the same folder (one older, one newer than ours): never pruned by
    // our retention, and its newest does not displace ours.
    const std::vector<std::string> others{"other-20200101T020000Z", "other-20300101T000000Z"};
    for (const auto& o : others) {
        fs::copy(dir.path() / id, dir.path() / o);
        auto m = json::parse(read_file(dir.path() / o / "manifest.json")).as_object();
        m["id"] = o;
        m["deployment"] = "other";
        m["finished"] = o.substr(6, 4) + "-" + o.substr(10, 2) + "-" + o.substr(12, 2) + "T02:00:00Z";
        std::ofstream(dir.path() / o / "manifest.json", std::ios::trunc) << json::serialize(m);
    }
    auto ours = [&] {
        auto all = listed(dir.path());
        std::erase_if(all, [&](const std::string& i) { return i.rfind(name + "-", 0) != 0; });
        return all;
    };
    auto others_kept = [&] {
        for (const auto& o : others)
            if (!fs::exists(dir.path() / o / "manifest.json")) return false;
        return true;
    };
    fs::create_directory(dir.path() / "notes");
    fs::create_directory(dir.path() / (name + "-20190101T000000Z"));  // no manifest: not ours
    auto spec = dir.write(
        "steward.yaml", "version: 1\nname: " + name + "\nenvironment: development\ndatabase:\n  url: " + src +
                            "\nbackups:\n  dir: " + dir.path().string() +
                            "\n  retention: { keep_last: 1, daily: 2, weekly: 0, monthly: 0 }\n");
    auto dry = run_steward({"--spec", spec.string(), "backup", "prune", "--dry-run", "--json"});
    ASSERT_EQ(dry.status, 0) << dry.err;
    std::map<std::string, std::string> action;
    auto dry_doc = parse_json(dry.out);
    for (const auto& b : dry_doc.at("backups").as_array())
        action[std::string(b.at("id").as_string())] = std::string(b.at("action").as_string());
    EXPECT_EQ(action[id], "keep");
    EXPECT_EQ(action[old[3]], "keep");
    EXPECT_EQ(action[old[0]], "delete");
    EXPECT_EQ(action[old[2]], "delete");
    EXPECT_EQ(action.count(others[0]) + action.count(others[1]), 0u);
    EXPECT_EQ(ours().size(), 5u);

    auto real = run_steward({"--spec", spec.string(), "backup", "prune"});
    ASSERT_EQ(real.status, 0) << real.err;
    EXPECT_EQ(ours(), (std::vector<std::string>{old[3], id}));
    EXPECT_TRUE(others_kept());
    EXPECT_TRUE(fs::exists(dir.path() / "notes"));
    EXPECT_TRUE(fs::exists(dir.path() / (name + "-20190101T000000Z")));

    // Even with every count at zero, the newest backup stays.
    auto zero = dir.write(
        "zero.yaml", "version: 1\nname: " + name + "\nenvironment: development\ndatabase:\n  url: " + src +
                         "\nbackups:\n  dir: " + dir.path().string() +
                         "\n  retention: { keep_last: 0, daily: 0, weekly: 0, monthly: 0 }\n");
    ASSERT_EQ(run_steward({"--spec", zero.string(), "backup", "prune"}).status, 0);
    EXPECT_EQ(ours(), std::vector<std::string>{id});
    EXPECT_TRUE(others_kept());
}

TEST(BackupIntegration, RestoreIntoTheDeploymentsOwnDatabaseAsksOnATerminal) {
    ASSERT_TRUE(find_program("script")) << "script(1) not found: install bsdutils (util-linux)";
    auto src = fresh_database("bk_confirm");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    TempDir dir("bk-confirm");
    std::string name = database_name(src);
    auto spec = dir.write(
        "steward.yaml", "version: 1\nname: " + name + "\nenvironment: development\ndatabase:\n  url: " + src +
                            "\nbackups:\n  dir: " + (dir / "b").string() + "\n  verify: none\n");
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    query_value(src, "INSERT INTO t VALUES (2)");
    // script(1) gives steward a terminal; its standard input is the typed answer.
    auto on_tty = [&](const std::string& answer) {
        ProcessOptions o;
        o.argv = {
            "script", "-qec",
            std::string(steward_binary()) + " --spec " + spec.string() + " backup restore " + id + " --clean",
            "/dev/null"};
        o.stdout_fd = ProcessOptions::kPipe;
        o.stderr_fd = ProcessOptions::kPipe;
        return run_process(o, std::chrono::seconds(60), answer + "\n");
    };
    auto no = on_tty("nope");
    EXPECT_EQ(no.status, 1) << no.out << no.err;
    EXPECT_NE(no.out.find("cancelled"), std::string::npos) << no.out;
    EXPECT_EQ(query_value(src, "SELECT count(*)::text FROM t"), "2");
    auto yes = on_tty(name);
    EXPECT_EQ(yes.status, 0) << yes.out << yes.err;
    EXPECT_EQ(query_value(src, "SELECT count(*)::text FROM t"), "1");
}

// Directory format with encryption: every file under dump/ is encrypted; verify and a parallel restore
// decrypt into a private scratch folder that is gone afterwards.
TEST(BackupIntegration, EncryptedDirectoryFormatRoundTrips) {
    auto src = fresh_database("bk_encdir");
    seed_app(src);
    query_value(
        src,
        "CREATE TABLE notes (id int, body text); INSERT INTO notes SELECT g, 'plaintext-marker-' || g "
        "FROM generate_series(1, 3000) g");
    TempDir dir("bk-encdir");
    auto bdir = dir.path() / "b";
    auto spec =
        dir.write("steward.yaml",
                  "version: 1\nname: encdir\nenvironment: development\ndatabase:\n  url: ${TEST_DB_URL}\n"
                  "secrets:\n  backup_key: { env: TEST_BACKUP_KEY, kind: key }\n"
                  "backups:\n  dir: " +
                      bdir.string() +
                      "\n  format: directory\n  compression: none\n  jobs: 2\n"
                      "  encryption: { key: \"secret:backup_key\" }\n");
    std::map<std::string, std::string> env{{"TEST_DB_URL", src}, {"TEST_BACKUP_KEY", "directory key 7"}};
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"}, env);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("verified").as_string(), "full");
    std::string id(doc.at("id").as_string());
    int files = 0;
    for (const auto& e : fs::directory_iterator(bdir / id / "dump")) {
        auto text = read_file(e.path());
        EXPECT_EQ(text.rfind("STWDENC2", 0), 0u) << e.path();
        EXPECT_EQ(text.find("plaintext-marker"), std::string::npos) << e.path();
        ++files;
    }
    EXPECT_GE(files, 3);

    auto dst = fresh_database("bk_encdir_dst");
    auto rr = run_steward(
        {"--spec", spec.string(), "backup", "restore", id, "--database-url", dst, "--jobs", "2"}, env);
    ASSERT_EQ(rr.status, 0) << rr.err;
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
    EXPECT_EQ(run_steward({"--spec", spec.string(), "backup", "verify", id}, env).status, 0);
    EXPECT_EQ(entries(bdir), (std::vector<std::string>{".lock", id}));
}
