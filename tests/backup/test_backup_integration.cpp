// Backup integration: the real steward binary against a real PostgreSQL (restore fidelity, kill -9,
// corruption, disk full, locks).
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
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace steward;
using namespace steward::test;

namespace {

json::object parse_json(const std::string& out) {
    boost::system::error_code ec;
    auto v = json::parse(out, ec);
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << out;
        return {};
    }
    return v.as_object();
}

StewardRun backup_now(const fs::path& dir, const std::string& url, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"backup", "now", "--json", "--dir", dir.string(), "--database-url", url};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_steward(args);
}

std::vector<std::string> listed(const fs::path& dir) {
    auto r = run_steward({"backup", "list", "--json", "--dir", dir.string()});
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<std::string> ids;
    auto doc = parse_json(r.out);
    if (auto* b = doc.if_contains("backups"))
        for (const auto& e : b->as_array()) ids.emplace_back(e.as_object().at("id").as_string());
    return ids;
}

std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

bool has_suffix(const std::vector<std::string>& names, const std::string& suffix) {
    for (const auto& n : names)
        if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
            return true;
    return false;
}

void seed_app(const std::string& url) {
    query_value(
        url,
        "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL, email text UNIQUE, meta jsonb, "
        "avatar bytea, created timestamptz DEFAULT now());"
        "CREATE TABLE messages (id bigserial PRIMARY KEY, user_id bigint REFERENCES users(id), body text, "
        "sent_at timestamptz);"
        "CREATE SCHEMA audit; CREATE TABLE audit.events (id int, payload text);"
        "INSERT INTO users (name, email, meta, avatar) SELECT 'user ' || g, 'u' || g || '@example.com', "
        "jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)), decode(md5(g::text), 'hex') "
        "FROM generate_series(1, 2000) g;"
        "INSERT INTO messages (user_id, body, sent_at) SELECT 1 + g % 2000, repeat('héllo ', g % 17) || g, "
        "'2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20000) g;"
        "INSERT INTO audit.events SELECT g, md5(g::text) FROM generate_series(1, 500) g;");
}

// "count|md5" of every table, in a stable order.
std::map<std::string, std::string> fingerprint(const std::string& url) {
    std::map<std::string, std::string> out;
    auto c = pg::connect(url);
    pqxx::work tx(*c);
    auto tables = tx.exec(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
        "c.relkind = 'r' "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relname <> 'steward_backups'");
    for (const auto& t : tables) {
        std::string q = pg::quote_ident(t[0].c_str()) + "." + pg::quote_ident(t[1].c_str());
        auto r = tx.exec(
            "SELECT count(*)::text || '|' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') "
            "FROM " +
            q + " x");
        out[q] = r[0][0].c_str();
    }
    return out;
}

// Polls `cond` until it holds or `limit` passes.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
}

}  // namespace

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

TEST(BackupIntegration, KillNineMidBackupLeavesNothingListedAndNextRunCleansUp) {
    auto src = fresh_database("bk_kill");
    query_value(
        src,
        "CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) || md5(random()::text) AS v "
        "FROM generate_series(1, 600000) g");
    TempDir dir("bk-kill");
    // The password (ignored by the cluster's trust auth) must never reach a command line that ps shows.
    std::string with_password = src;
    with_password.replace(with_password.find("postgres@"), 9, "postgres:pw-s3cret-777@");
    auto child = spawn_steward({"backup", "now", "--dir", dir.path().string()}, {{"DATABASE_URL", with_password}});
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
        EXPECT_EQ(cmdline.find("pw-s3cret-777"), std::string::npos) << "password on a command line: " << cmdline;
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
    EXPECT_EQ(dump.rfind("STWDENC1", 0), 0u);
    EXPECT_EQ(dump.find("plaintext-marker"), std::string::npos);
    EXPECT_EQ(read_file(dir.path() / "b" / id / "globals.sql").rfind("STWDENC1", 0), 0u);

    auto dst = fresh_database("bk_enc_dst");
    auto no_key =
        run_steward({"backup", "restore", id, "--dir", (dir.path() / "b").string(), "--database-url", dst});
    EXPECT_EQ(no_key.status, 1);
    EXPECT_NE(no_key.err.find("encrypted"), std::string::npos) << no_key.err;
    auto wrong = env;
    wrong["TEST_BACKUP_KEY"] = "wrong key";
    auto bad = run_steward({"--spec", spec.string(), "backup", "restore", id, "--database-url", dst}, wrong);
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("authentication failed"), std::string::npos) << bad.err;
    EXPECT_EQ(query_value(dst, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'notes'"), "0");

    auto ok = run_steward({"--spec", spec.string(), "backup", "restore", id, "--database-url", dst}, env);
    ASSERT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
    EXPECT_EQ(run_steward({"--spec", spec.string(), "backup", "verify", id}, env).status, 0);
    EXPECT_EQ(run_steward({"--spec", spec.string(), "backup", "verify", id}, wrong).status, 1);
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
    EXPECT_EQ(listed(dir.path()).size(), 5u);

    auto real = run_steward({"--spec", spec.string(), "backup", "prune"});
    ASSERT_EQ(real.status, 0) << real.err;
    EXPECT_EQ(listed(dir.path()), (std::vector<std::string>{old[3], id}));
    EXPECT_TRUE(fs::exists(dir.path() / "notes"));
    EXPECT_TRUE(fs::exists(dir.path() / (name + "-20190101T000000Z")));

    // Even with every count at zero, the newest backup stays.
    auto zero = dir.write(
        "zero.yaml", "version: 1\nname: " + name + "\nenvironment: development\ndatabase:\n  url: " + src +
                         "\nbackups:\n  dir: " + dir.path().string() +
                         "\n  retention: { keep_last: 0, daily: 0, weekly: 0, monthly: 0 }\n");
    ASSERT_EQ(run_steward({"--spec", zero.string(), "backup", "prune"}).status, 0);
    EXPECT_EQ(listed(dir.path()), std::vector<std::string>{id});
}

TEST(BackupIntegration, FailedOffsiteCopyExitsOneAndKeepsLocalBackup) {
    auto src = fresh_database("bk_off");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    TempDir dir("bk-offsite");
    auto known = dir.write("known_hosts", "");
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: off\nenvironment: development\ndatabase:\n  url: " + src +
                              "\nsecrets:\n  ssh_key: { env: TEST_SSH_KEY, kind: key }\n"
                              "backups:\n  dir: " +
                              (dir.path() / "b").string() +
                              "\n  verify: none\n"
                              "  offsite:\n    sftp: { host: 127.0.0.1, port: " +
                              std::to_string(free_loopback_port()) +
                              ", user: backup, key: \"secret:ssh_key\", known_hosts: " + known.string() +
                              ", path: /srv/backups }\n");
    // detect_leaks=0: sftp.cpp's Connection leaks its ssh_session when its constructor throws (reported to
    // the lead).
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"},
                         {{"TEST_SSH_KEY", "not a real key"},
                          {"ASAN_OPTIONS", "abort_on_error=0:exitcode=99:detect_leaks=0"}});
    EXPECT_EQ(r.status, 1) << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("status").as_string(), "published");
    EXPECT_FALSE(doc.at("offsite").at("ok").as_bool());
    EXPECT_GE(doc.at("offsite").at("attempts").as_int64(), 1);
    EXPECT_EQ(r.out.find("not a real key"), std::string::npos);
    EXPECT_EQ(listed(dir.path() / "b").size(), 1u);
    std::string id(doc.at("id").as_string());
    EXPECT_EQ(query_value(src, "SELECT coalesce(offsite_ok::text, 'null') FROM steward_backups WHERE id = '" +
                                   id + "'"),
              "false");
}

namespace {

void keygen(const fs::path& path) {
    ProcessOptions o;
    o.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "steward-test", "-f", path.string()};
    o.stderr_fd = ProcessOptions::kPipe;
    auto r = run_process(o, std::chrono::seconds(30));
    if (!r.ok()) throw std::runtime_error("ssh-keygen failed (install openssh-client): " + r.err);
}

bool port_accepts(int port) {
    ProcessOptions o;
    o.argv = {"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)};
    o.stderr_fd = ProcessOptions::kDevNull;
    return run_process(o, std::chrono::seconds(5)).ok();
}

}  // namespace

TEST(BackupIntegration, OffsiteCopyReachesRealSshd) {
    ASSERT_TRUE(fs::exists("/usr/sbin/sshd")) << "/usr/sbin/sshd not found: install openssh-server";
    TempDir dir("bk-sshd");
    keygen(dir / "host_key");
    keygen(dir / "user_key");
    fs::copy_file(dir / "user_key.pub", dir / "authorized_keys");
    fs::create_directories("/run/sshd");
    int port = free_loopback_port();
    auto config = dir.write("sshd_config", "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\nHostKey " +
                                               (dir / "host_key").string() + "\nPidFile none\nAuthorizedKeysFile " +
                                               (dir / "authorized_keys").string() +
                                               "\nPermitRootLogin yes\nStrictModes no\nPasswordAuthentication no\n"
                                               "KbdInteractiveAuthentication no\nUsePAM no\n"
                                               "Subsystem sftp internal-sftp\nLogLevel ERROR\n");
    ProcessOptions so;
    so.argv = {"/usr/sbin/sshd", "-D", "-e", "-f", config.string()};
    so.stderr_fd = ProcessOptions::kDevNull;  // the port probe makes sshd complain
    Child sshd = spawn(so);
    ASSERT_TRUE(eventually([&] { return port_accepts(port); }, std::chrono::seconds(20))) << "sshd did not listen";
    auto pub = read_file(dir / "host_key.pub");
    dir.write("known_hosts", "[127.0.0.1]:" + std::to_string(port) + " " + pub);

    auto src = fresh_database("bk_ssh");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)");
    auto spec = dir.write("steward.yaml", "version: 1\nname: offsite-demo\nenvironment: development\ndatabase:\n  url: " +
                                              src + "\nsecrets:\n  ssh_key: { file: " + (dir / "user_key").string() +
                                              ", kind: key }\nbackups:\n  dir: " + (dir / "local").string() +
                                              "\n  offsite:\n    sftp: { host: 127.0.0.1, port: " +
                                              std::to_string(port) + ", user: root, key: \"secret:ssh_key\", " +
                                              "known_hosts: " + (dir / "known_hosts").string() +
                                              ", path: " + (dir / "remote").string() + " }\n");
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc.at("offsite").at("ok").as_bool()) << r.out;
    std::string id(doc.at("id").as_string());
    auto remote = dir / "remote" / "offsite-demo" / id;
    EXPECT_EQ(read_file(remote / "dump"), read_file(dir / "local" / id / "dump"));
    EXPECT_TRUE(fs::exists(remote / "manifest.json"));
    EXPECT_EQ(query_value(src, "SELECT offsite_ok::text FROM steward_backups WHERE id = '" + id + "'"), "true");
    auto m = backup::backup_metrics(backup::config_without_spec(src, dir / "local"));
    EXPECT_TRUE(m.offsite_last_success_timestamp.has_value());
    sshd.signal(SIGTERM);
    sshd.wait();
}
