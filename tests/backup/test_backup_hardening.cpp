// Hostile backups through the real steward binary: a tampered globals.sql or dump, manifest paths that
// leave the folder, encrypted files moved between backups, older unauthenticated backups, wrong clocks, odd
// database names, piled-up .failed folders, and what the PostgreSQL tools see of steward's environment.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

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

namespace {

void edit_manifest(const fs::path& folder, const std::function<void(json::object&)>& edit) {
    auto m = json::parse(read_file(folder / "manifest.json")).as_object();
    edit(m);
    std::ofstream(folder / "manifest.json", std::ios::trunc) << json::serialize(m);
}

// What an attacker who rewrites the manifest does after changing a file: its size and hash match again.
void refresh_entry(const fs::path& folder, const std::string& rel) {
    auto d = backup::digest_file(folder / rel);
    edit_manifest(folder, [&](json::object& m) {
        for (auto& f : m.at("files").as_array())
            if (f.at("path").as_string() == rel) {
                f.as_object()["bytes"] = d.bytes;
                f.as_object()["sha256"] = d.sha256;
            }
    });
}

std::string tables_in(const std::string& url) {
    return query_value(
        url,
        "SELECT count(*)::text FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
}

StewardRun restore(const fs::path& dir, const std::string& id, const std::string& url,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"backup",     "restore",        id,  "--dir",
                                  dir.string(), "--database-url", url, "--yes"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_steward(args);
}

StewardRun verify(const fs::path& dir, const std::string& id) {
    return run_steward({"backup", "verify", id, "--dir", dir.string()});
}

std::string make_backup(const fs::path& dir, const std::string& url, std::vector<std::string> extra = {}) {
    auto r = backup_now(dir, url, extra);
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    return std::string(parse_json(r.out).at("id").as_string());
}

}  // namespace

// Item 1: `\! cmd` appended to globals.sql ran as root through psql. Now: the hash check refuses the file,
// and even with the manifest rewritten to match, the meta-command refuses the replay before anything runs.
TEST(BackupHardening, TamperedGlobalsNeverRunsAShellAndLeavesTheTargetUntouched) {
    auto src = fresh_database("bk_glob");
    seed_app(src);
    TempDir dir("bk-glob");
    auto id = make_backup(dir.path(), src, {"--verify", "none"});
    auto marker = dir.path() / "shell-ran";
    std::string evil = "evil_role_" + std::to_string(::getpid());
    std::ofstream(dir.path() / id / "globals.sql", std::ios::app)
        << "\nCREATE ROLE " << evil << ";\n\\! touch " << marker.string() << "\n";

    EXPECT_EQ(verify(dir.path(), id).status, 1);
    auto dst = fresh_database("bk_glob_dst");
    auto r = restore(dir.path(), id, dst, {"--with-globals"});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("does not match its manifest: globals.sql: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was restored"), std::string::npos) << r.err;

    refresh_entry(dir.path() / id, "globals.sql");  // the manifest no longer tells
    auto again = restore(dir.path(), id, dst, {"--with-globals"});
    EXPECT_EQ(again.status, 1) << again.out << again.err;
    EXPECT_NE(again.err.find("meta-command \\!"), std::string::npos) << again.err;
    EXPECT_FALSE(fs::exists(marker)) << "a shell command from the backup ran";
    EXPECT_EQ(tables_in(dst), "0");
    EXPECT_EQ(query_value(dst, "SELECT count(*)::text FROM pg_roles WHERE rolname = '" + evil + "'"), "0");

    // Without --with-globals the dump itself is fine and restores.
    EXPECT_EQ(restore(dir.path(), id, dst).status, 0);
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
}

// Item 5: a flipped value in an uncompressed dump restored the altered data; a truncated dump left the target
// half-restored. Both are refused before the target is touched.
TEST(BackupHardening, ModifiedOrTruncatedDumpNeverReachesTheTarget) {
    auto src = fresh_database("bk_flip");
    seed_app(src);
    TempDir dir("bk-flip");
    auto id = make_backup(dir.path(), src, {"--verify", "none", "--compression", "none"});
    auto dump = dir.path() / id / "dump";
    std::string bytes = read_file(dump);
    auto at = bytes.find("user 1234");
    ASSERT_NE(at, std::string::npos);
    bytes[at + 5] = '9';  // "user 9234"
    std::ofstream(dump, std::ios::binary | std::ios::trunc) << bytes;
    auto dst = fresh_database("bk_flip_dst");
    for (int jobs : {1, 2}) {
        auto r = restore(dir.path(), id, dst, {"--jobs", std::to_string(jobs)});
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_NE(r.err.find("dump: SHA-256 mismatch"), std::string::npos) << r.err;
        EXPECT_EQ(tables_in(dst), "0");
    }
    fs::resize_file(dump, bytes.size() / 2);
    auto r = restore(dir.path(), id, dst);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("dump: size"), std::string::npos) << r.err;
    EXPECT_EQ(tables_in(dst), "0");
}

// Item 1(c): verify hashed ../../etc/passwd and passed a manifest without its dump. Every shape is refused by
// verify and by restore, and restore leaves the target untouched.
TEST(BackupHardening, ManifestsThatLeaveTheFolderOrLackRequiredFilesAreRefused) {
    auto src = fresh_database("bk_paths");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    TempDir dir("bk-paths");
    auto good = make_backup(dir.path(), src, {"--verify", "none"});
    auto outside = dir.path().parent_path() / ("bk-outside-" + std::to_string(::getpid()));
    std::ofstream(outside) << read_file(dir.path() / good / "globals.sql");
    auto passwd = backup::digest_file("/etc/passwd");
    std::vector<std::pair<std::string, std::function<void(const fs::path&)>>> shapes{
        {"leaves the backup folder",
         [&](const fs::path& f) {
             edit_manifest(f, [&](json::object& m) {
                 m.at("files").as_array().push_back({{"path", "../../../../../../../etc/passwd"},
                                                     {"bytes", passwd.bytes},
                                                     {"sha256", passwd.sha256}});
             });
         }},
        {"leaves the backup folder",
         [&](const fs::path& f) {
             edit_manifest(f, [&](json::object& m) {
                 m.at("files").as_array().push_back(
                     {{"path", "/etc/passwd"}, {"bytes", passwd.bytes}, {"sha256", passwd.sha256}});
             });
         }},
        {"manifest lists no dump",
         [&](const fs::path& f) {
             edit_manifest(f, [&](json::object& m) {
                 auto& files = m.at("files").as_array();
                 files.erase(
                     std::remove_if(files.begin(), files.end(),
                                    [](const json::value& v) { return v.at("path").as_string() == "dump"; }),
                     files.end());
             });
         }},
        {"manifest lists no globals.sql",
         [&](const fs::path& f) {
             edit_manifest(f, [&](json::object& m) {
                 auto& files = m.at("files").as_array();
                 files.erase(std::remove_if(files.begin(), files.end(),
                                            [](const json::value& v) {
                                                return v.at("path").as_string() == "globals.sql";
                                            }),
                             files.end());
             });
         }},
        {"symbolic link",
         [&](const fs::path& f) {  // same bytes, so the hash matches: only the link gives it away
             fs::remove(f / "globals.sql");
             fs::create_symlink(outside, f / "globals.sql");
         }},
    };
    std::string name = database_name(src);
    int n = 0;
    for (const auto& [expected, tamper] : shapes) {
        std::string id = name + "-2020010" + std::to_string(++n) + "T000000Z";
        fs::copy(dir.path() / good, dir.path() / id);
        edit_manifest(dir.path() / id, [&](json::object& m) { m["id"] = id; });
        tamper(dir.path() / id);
        auto v = verify(dir.path(), id);
        EXPECT_EQ(v.status, 1) << expected << ": " << v.out << v.err;
        EXPECT_NE(v.err.find(expected), std::string::npos) << v.err;
        auto dst = fresh_database("bk_paths_dst");
        auto r = restore(dir.path(), id, dst);
        EXPECT_EQ(r.status, 1) << expected << ": " << r.err;
        EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
        EXPECT_EQ(tables_in(dst), "0") << expected;
    }
    fs::remove(outside);
}

namespace {

struct EncryptedWorld {
    TempDir dir{"bk-bind"};
    fs::path backups = dir.path() / "b";
    fs::path spec;
    std::map<std::string, std::string> env;
    explicit EncryptedWorld(const std::string& url) {
        spec =
            dir.write("steward.yaml",
                      "version: 1\nname: bind\nenvironment: development\ndatabase:\n  url: ${TEST_DB_URL}\n"
                      "secrets:\n  backup_key: { env: TEST_BACKUP_KEY, kind: key }\n"
                      "backups:\n  dir: " +
                          backups.string() + "\n  encryption: { key: \"secret:backup_key\" }\n");
        env = {{"TEST_DB_URL", url}, {"TEST_BACKUP_KEY", "a backup key of decent length 0123456789"}};
    }
    StewardRun run(std::vector<std::string> args) const {
        args.insert(args.begin(), {"--spec", spec.string()});
        return run_steward(args, env);
    }
    std::string backup() const {
        auto r = run({"backup", "now", "--json"});
        EXPECT_EQ(r.status, 0) << r.out << r.err;
        return std::string(parse_json(r.out).at("id").as_string());
    }
};

}  // namespace

// Item 9: an older encrypted dump copied into a newer backup, manifest hash fixed, verified and restored.
TEST(BackupHardening, EncryptedFileMovedIntoAnotherBackupIsRefused) {
    auto src = fresh_database("bk_bind");
    query_value(src, "CREATE TABLE balance (who text, amount int); INSERT INTO balance VALUES ('alice', 10)");
    EncryptedWorld w(src);
    auto older = w.backup();
    query_value(src, "UPDATE balance SET amount = 99999");
    auto newer = w.backup();
    fs::copy_file(w.backups / older / "dump", w.backups / newer / "dump",
                  fs::copy_options::overwrite_existing);
    refresh_entry(w.backups / newer, "dump");

    auto v = w.run({"backup", "verify", newer});
    EXPECT_EQ(v.status, 1) << v.err;
    EXPECT_NE(v.err.find("fails authentication"), std::string::npos) << v.err;
    auto dst = fresh_database("bk_bind_dst");
    auto r = w.run({"backup", "restore", newer, "--database-url", dst, "--yes"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(tables_in(dst), "0");

    // Without its MAC the manifest is "older", but the files are bound: refused too.
    edit_manifest(w.backups / newer, [](json::object& m) { m.erase("mac"); });
    v = w.run({"backup", "verify", newer});
    EXPECT_EQ(v.status, 1) << v.err;
    r = w.run({"backup", "restore", newer, "--database-url", dst, "--yes"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(tables_in(dst), "0");
}

// Item 9, the other side: a backup made before manifests were authenticated (unbound files, no MAC) still
// verifies and restores, with a warning.
TEST(BackupHardening, BackupsMadeBeforeAuthenticationStillWorkWithAWarning) {
    auto src = fresh_database("bk_legacy");
    seed_app(src);
    EncryptedWorld w(src);
    auto id = w.backup();
    auto folder = w.backups / id;
    Secret key(w.env.at("TEST_BACKUP_KEY"));
    // Re-encode every file the way steward wrote them before: no binding, then drop the MAC.
    auto manifest = json::parse(read_file(folder / "manifest.json")).as_object();
    for (const auto& f : manifest.at("files").as_array()) {
        std::string rel(f.at("path").as_string());
        struct Collect : backup::Sink {
            std::string text;
            void write(const std::uint8_t* d, std::size_t n) override {
                text.append(reinterpret_cast<const char*>(d), n);
            }
            void finish() override {}
        } plain;
        auto dec = backup::make_decryptor(plain, key, backup::file_binding(id, rel), true);
        backup::pump_file(folder / rel, *dec);
        fs::remove(folder / rel);
        backup::FileSink out(folder / rel);
        auto enc = backup::make_encryptor(out, key, "");
        enc->write(reinterpret_cast<const std::uint8_t*>(plain.text.data()), plain.text.size());
        enc->finish();
        refresh_entry(folder, rel);
    }
    edit_manifest(folder, [](json::object& m) { m.erase("mac"); });
    ASSERT_EQ(read_file(folder / "dump").rfind("STWDENC1", 0), 0u);

    auto v = w.run({"backup", "verify", id});
    EXPECT_EQ(v.status, 0) << v.err;
    EXPECT_NE(v.err.find("unauthenticated"), std::string::npos) << v.err;
    auto vj = w.run({"--json", "backup", "verify", id});
    EXPECT_EQ(parse_json(vj.out).at("warnings").as_array().size(), 1u) << vj.out;
    auto dst = fresh_database("bk_legacy_dst");
    auto r = w.run({"backup", "restore", id, "--database-url", dst, "--yes"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("unauthenticated"), std::string::npos) << r.err;
    EXPECT_EQ(fingerprint(src), fingerprint(dst));
}

// Item 7: a backup whose time lies in the future (a wrong clock) was "newest" and made retention prune the
// backup just taken; list showed a negative age.
TEST(BackupHardening, FutureDatedBackupNeverPrunesTheOneJustTaken) {
    auto src = fresh_database("bk_skew");
    query_value(src, "CREATE TABLE t (x int)");
    TempDir dir("bk-skew");
    std::string name = database_name(src);
    auto spec =
        dir.write("steward.yaml",
                  "version: 1\nname: " + name + "\nenvironment: development\ndatabase:\n  url: " + src +
                      "\nbackups:\n  dir: " + (dir.path() / "b").string() +
                      "\n  verify: none\n  retention: { keep_last: 1, daily: 1, weekly: 0, monthly: 0 }\n");
    auto first = run_steward({"--spec", spec.string(), "--json", "backup", "now"});
    ASSERT_EQ(first.status, 0) << first.err;
    std::string skewed(parse_json(first.out).at("id").as_string());
    edit_manifest(dir.path() / "b" / skewed, [](json::object& m) { m["finished"] = "2099-01-01T00:00:00Z"; });

    auto second = run_steward({"--spec", spec.string(), "--json", "backup", "now"});
    ASSERT_EQ(second.status, 0) << second.err;
    std::string taken(parse_json(second.out).at("id").as_string());
    EXPECT_TRUE(fs::exists(dir.path() / "b" / taken / "manifest.json")) << "the backup just taken was pruned";
    EXPECT_TRUE(parse_json(second.out).at("pruned").as_array().empty()) << second.out;

    auto list = run_steward({"--spec", spec.string(), "--json", "backup", "list"});
    auto listing = parse_json(list.out);
    for (const auto& b : listing.at("backups").as_array()) {
        EXPECT_GE(b.at("age_seconds").to_number<double>(), 0.0) << list.out;
        EXPECT_EQ(b.at("problems").as_array().empty(), b.at("id").as_string() != skewed) << list.out;
    }
    auto text = run_steward({"--spec", spec.string(), "backup", "list"});
    EXPECT_NE(text.err.find("in the future"), std::string::npos) << text.err;
    auto v = run_steward({"--spec", spec.string(), "backup", "verify", skewed});
    EXPECT_EQ(v.status, 1);
    EXPECT_NE(v.err.find("lies in the future"), std::string::npos) << v.err;
}

// Item 8: a database named "../../x" (or "/x") made `backup now` publish outside --dir.
TEST(BackupHardening, DatabaseNamedLikeAPathBacksUpInsideTheFolder) {
    TempDir base("bk-name");
    auto dir = base.path() / "a" / "b" / "backups";
    fs::create_directories(dir);
    std::string pid = std::to_string(::getpid());
    for (const std::string& db : {"../../bk_up_" + pid, "/tmp/bk_abs_" + pid}) {
        query_value(cluster_url(), "CREATE DATABASE " + pg::quote_ident(db));
        std::string encoded;
        for (char c : db) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
        auto r = backup_now(dir, cluster_url(encoded), {"--verify", "none"});
        ASSERT_EQ(r.status, 0) << r.out << r.err;
        fs::path path(std::string(parse_json(r.out).at("path").as_string()));
        EXPECT_EQ(path.parent_path(), dir) << path;
        EXPECT_TRUE(fs::is_directory(path)) << path;
    }
    std::vector<std::string> strays;  // where the absolute name would have put it
    for (const auto& e : fs::directory_iterator("/tmp"))
        if (e.path().filename().string().rfind("bk_abs_" + pid + "-", 0) == 0)
            strays.push_back(e.path().string());
    for (const auto& s : strays) fs::remove_all(s);
    EXPECT_TRUE(strays.empty()) << strays.front();
    EXPECT_EQ(listed(dir).size(), 2u);
    std::vector<std::string> above;
    for (const auto& e : fs::recursive_directory_iterator(base.path()))
        if (e.is_directory() && !e.path().string().starts_with(dir.string()) &&
            e.path() != base.path() / "a" && e.path() != base.path() / "a" / "b")
            above.push_back(e.path().string());
    EXPECT_TRUE(above.empty()) << above.front();
}

// Item 14: <id>.failed folders piled up forever. The newest retention.keep_failed stay, for diagnosis.
TEST(BackupHardening, FailedBackupsBeyondKeepFailedAreDeleted) {
    auto src = fresh_database("bk_failed");
    query_value(src, "CREATE TABLE t (x int)");
    TempDir dir("bk-failed");
    std::string name = database_name(src);
    for (int day = 1; day <= 5; ++day) {
        std::string id = name + "-2020010" + std::to_string(day) + "T000000Z";
        fs::create_directories(dir.path() / (id + ".failed"));
        std::ofstream(dir.path() / (id + ".failed") / "manifest.json") << json::serialize(
            json::object{{"steward_backup", 1},
                         {"id", id},
                         {"finished", "2020-01-0" + std::to_string(day) + "T00:00:00Z"},
                         {"verification", {{"level", "full"}, {"ok", false}, {"error", "broken"}}}});
    }
    auto r = backup_now(dir.path(), src, {"--verify", "none"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(parse_json(r.out).at("pruned_failed").as_array().size(), 2u) << r.out;
    for (int day = 1; day <= 5; ++day)
        EXPECT_EQ(fs::exists(dir.path() / (name + "-2020010" + std::to_string(day) + "T000000Z.failed")),
                  day >= 3)
            << day;
    auto all = run_steward({"backup", "list", "--all", "--json", "--dir", dir.path().string()});
    int failed = 0, published = 0;
    auto listing = parse_json(all.out);
    for (const auto& b : listing.at("backups").as_array())
        (b.at("status").as_string() == "failed" ? failed : published)++;
    EXPECT_EQ(failed, 3) << all.out;
    EXPECT_EQ(published, 1) << all.out;
    EXPECT_EQ(listed(dir.path()).size(), 1u);  // without --all only published ones
}

// Item 3: pg_dump, pg_dumpall and pg_restore got steward's whole environment (its secrets with it); and
// PGPASSWORD showed the password to anyone who may read /proc/<pid>/environ.
TEST(BackupHardening, ToolsSeeOnlyLibpqVariablesAndAPasswordFile) {
    auto src = fresh_database("bk_env");
    query_value(src, "CREATE TABLE t (x int)");
    TempDir dir("bk-env");
    auto bin = dir.path() / "bin";
    fs::create_directories(bin);
    for (const std::string tool : {"pg_dump", "pg_dumpall", "pg_restore"}) {
        auto real = "/usr/bin/" + tool;
        // Records the environment of every real run (not `--version`), then runs the real tool.
        dir.write("bin/" + tool, "#!/bin/sh\ncase \"$*\" in --version) ;; *--dbname*) env > " +
                                     (dir.path() / "env").string() + ".$$.db." + tool + " ;; *) env > " +
                                     (dir.path() / "env").string() + ".$$.file." + tool + " ;; esac\nexec " +
                                     real + " \"$@\"\n");
        fs::permissions(bin / tool, fs::perms::owner_all);
    }
    std::map<std::string, std::string> env{{"PATH", bin.string() + ":" + std::getenv("PATH")},
                                           {"JWT_SECRET_KEY", "canary-jwt-0e5b7c1d9a"},
                                           {"DATABASE_URL", src}};
    auto r = run_steward({"backup", "now", "--json", "--dir", (dir.path() / "b").string()}, env);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    std::string id(parse_json(r.out).at("id").as_string());
    auto dst = fresh_database("bk_env_dst");
    env["DATABASE_URL"] = dst;
    auto rr = run_steward({"backup", "restore", id, "--yes", "--dir", (dir.path() / "b").string()}, env);
    ASSERT_EQ(rr.status, 0) << rr.err;
    std::set<std::string> tools_seen;
    const std::set<std::string> shell_own{"PWD", "SHLVL", "_", "OLDPWD"};
    for (const auto& e : fs::directory_iterator(dir.path())) {
        auto name = e.path().filename().string();
        if (name.rfind("env.", 0) != 0) continue;
        std::string tool = name.substr(name.rfind('.') + 1);
        tools_seen.insert(tool);
        std::string text = read_file(e.path());
        EXPECT_EQ(text.find("canary"), std::string::npos) << tool << " saw steward's secrets:\n" << text;
        // The password reaches a tool in a file it inherits, never in its environment (/proc/<pid>/environ).
        for (const auto& url : {src, dst})
            EXPECT_EQ(text.find(pg::parse_conninfo(url).params.at("password")), std::string::npos)
                << tool << " has the password in its environment:\n" << text;
        std::istringstream lines(text);
        bool passfile = false;
        for (std::string line; std::getline(lines, line);) {
            std::string key = line.substr(0, line.find('='));
            EXPECT_NE(key, "PGPASSWORD") << tool;
            passfile = passfile || line.rfind("PGPASSFILE=/proc/self/fd/", 0) == 0;
            EXPECT_TRUE(key == "PATH" || key == "LANG" || key.rfind("PG", 0) == 0 || shell_own.count(key))
                << tool << " got " << key;
        }
        bool connects = name.find(".db.") != std::string::npos;  // a read of a file needs no password
        EXPECT_EQ(passfile, connects) << tool << ":\n" << text;
    }
    EXPECT_EQ(tools_seen, (std::set<std::string>{"pg_dump", "pg_dumpall", "pg_restore"}));
}
