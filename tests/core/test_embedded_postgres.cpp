// The embedded PostgreSQL: starts, answers, creates databases, stops with its owner; admits only its
// password, runs with a minimal environment, secures clusters made by older stewards.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "core/pg.hpp"
#include "core/process.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

TEST(EmbeddedPostgres, ClusterAnswersQueries) {
    EXPECT_EQ(test::query_value(test::cluster_url(), "SELECT 40 + 2"), "42");
    EXPECT_EQ(test::query_value(test::cluster_url(), "SHOW server_version_num").substr(0, 2), "15");
}

TEST(EmbeddedPostgres, FreshDatabasesAreDistinctAndEmpty) {
    auto a = test::fresh_database("emb");
    auto b = test::fresh_database("emb");
    EXPECT_NE(a, b);
    EXPECT_EQ(test::query_value(a, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
    EXPECT_EQ(test::query_value(a, "SELECT current_database()"), test::database_name(a));
}

TEST(EmbeddedPostgres, StopEndsServerAndRestartKeepsData) {
    test::TempDir dir("steward-emb");
    EmbeddedPostgres::Options o;
    o.dir = dir / "data";
    o.port = free_loopback_port();
    o.durable = false;
    {
        EmbeddedPostgres pg(o);
        pg.start();
        ASSERT_TRUE(pg.running());
        auto c = pg::connect(pg.url());
        pqxx::nontransaction(*c).exec("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)");
        c.reset();
        pg.stop();
        EXPECT_FALSE(pg.running());
        EXPECT_FALSE(pg::ping(pg.url()));
    }
    EmbeddedPostgres again(o);
    again.start();
    EXPECT_EQ(test::query_value(again.url(), "SELECT x FROM kept"), "7");
}

TEST(EmbeddedPostgres, UnreachableFolderIsRefusedWithAdvice) {
    if (::geteuid() != 0) GTEST_FAIL() << "this test needs root (it checks the postgres OS user's access)";
    test::TempDir dir("steward-emb");
    std::filesystem::create_directories(dir / "private");
    std::filesystem::permissions(dir / "private", std::filesystem::perms::owner_all);
    EmbeddedPostgres::Options o;
    o.dir = dir / "private" / "data";
    o.port = free_loopback_port();
    EmbeddedPostgres pg(o);
    try {
        pg.start();
        FAIL() << "start() should refuse a folder the postgres user cannot reach";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot reach"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("/tmp"), std::string::npos) << e.what();
    }
}

namespace {

// Connecting must fail with an authentication error (not succeed, not time out).
void expect_login_refused(const std::string& url) {
    try {
        pg::connect(url, std::chrono::seconds(5));
        ADD_FAILURE() << "connected to the embedded server without its password: " << pg::redact_url(url);
    } catch (const std::exception& e) {
        std::string what = e.what();
        EXPECT_TRUE(what.find("password") != std::string::npos) << what;
    }
}

std::string without_password(const EmbeddedPostgres& pg, const std::string& db = "postgres") {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(pg.port()) + "/" + db;
}

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

pid_t postmaster_pid(const std::filesystem::path& dir) {
    std::ifstream in(dir / "postmaster.pid");
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
}

}  // namespace

TEST(EmbeddedPostgres, AdmitsOnlyItsPasswordOverTcp) {
    auto& pg = test::cluster();
    expect_login_refused(without_password(pg));
    expect_login_refused("postgresql://postgres:not-the-password@127.0.0.1:" + std::to_string(pg.port()) +
                         "/postgres");
    EXPECT_EQ(test::query_value(pg.url(), "SELECT 1"), "1");
    // No rule of pg_hba.conf trusts anyone; the password file is the owner's alone.
    EXPECT_EQ(
        test::query_value(pg.url(), "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'"),
        "0");
    EXPECT_EQ(test::query_value(
                  pg.url(), "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method <> 'scram-sha-256'"),
              "0");
    auto st = std::filesystem::status(EmbeddedPostgres::password_file(pg.dir()));
    EXPECT_EQ(st.permissions() & std::filesystem::perms::mask,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    // The unix socket is off: nothing but TCP with a password reaches it.
    EXPECT_EQ(test::query_value(pg.url(), "SHOW unix_socket_directories"), "");
}

TEST(EmbeddedPostgres, ServerGetsAMinimalEnvironment) {
    ::setenv("JWT_SECRET_KEY", "canary-jwt-4f1d9e7c2b8a6053", 1);
    ::setenv("STEWARD_ADMIN_TOKEN", "canary-admin-77c0e1a9d3f2", 1);
    test::TempDir dir("steward-emb-env");
    EmbeddedPostgres::Options o;
    o.dir = dir / "data";
    o.port = free_loopback_port();
    o.durable = false;
    EmbeddedPostgres pg(o);
    pg.start();
    std::string env = read_all("/proc/" + std::to_string(postmaster_pid(o.dir)) + "/environ");
    ::unsetenv("JWT_SECRET_KEY");
    ::unsetenv("STEWARD_ADMIN_TOKEN");
    std::set<std::string> keys;
    for (std::size_t start = 0; start < env.size();) {
        auto end = env.find('\0', start);
        std::string kv = env.substr(start, end - start);
        keys.insert(kv.substr(0, kv.find('=')));
        start = end == std::string::npos ? env.size() : end + 1;
    }
    EXPECT_EQ(keys, (std::set<std::string>{"LANG", "PATH", "PGDATA"})) << env;
    EXPECT_EQ(env.find("canary"), std::string::npos) << env;
}

TEST(EmbeddedPostgres, ClusterOfAnOlderStewardWithTrustIsSecuredAndKeepsItsData) {
    if (::geteuid() != 0) GTEST_FAIL() << "this test needs root (it runs initdb as the postgres OS user)";
    test::TempDir dir("steward-emb-old");
    std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
    auto data = dir / "data";
    std::filesystem::create_directories(data);
    std::filesystem::permissions(data, std::filesystem::perms::owner_all);
    ASSERT_EQ(::chown(data.c_str(), ::getpwnam("postgres")->pw_uid, ::getpwnam("postgres")->pw_gid), 0);
    int port = free_loopback_port();
    // What steward made before: initdb -A trust, and a server started on it.
    ProcessOptions init;
    init.argv = {"/usr/lib/postgresql/15/bin/initdb",
                 "-D",
                 data.string(),
                 "-U",
                 "postgres",
                 "-A",
                 "trust",
                 "--no-sync",
                 "-E",
                 "UTF8",
                 "--locale=C"};
    init.user = "postgres";
    init.cwd = data;
    auto r = run_process(init, std::chrono::minutes(2));
    ASSERT_TRUE(r.ok()) << r.err;
    ProcessOptions old;
    old.argv = {"/usr/lib/postgresql/15/bin/postgres",
                "-D",
                data.string(),
                "-p",
                std::to_string(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "fsync=off"};
    old.user = "postgres";
    old.stdout_fd = ProcessOptions::kDevNull;
    old.stderr_fd = ProcessOptions::kDevNull;
    old.parent_death_signal = SIGINT;
    {
        Child server = spawn(old);
        std::string trusted = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!pg::ping(trusted) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        test::query_value(trusted, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
        server.signal(SIGINT, false);
        ASSERT_TRUE(server.wait_for(std::chrono::seconds(30)).has_value());
    }
    EmbeddedPostgres::Options o;
    o.dir = data;
    o.port = port;
    o.durable = false;
    EmbeddedPostgres pg(o);
    pg.start();
    expect_login_refused(without_password(pg));
    EXPECT_EQ(test::query_value(pg.url(), "SELECT x FROM kept"), "42");
    EXPECT_TRUE(std::filesystem::exists(EmbeddedPostgres::password_file(data)));
}

TEST(EmbeddedPostgres, GivenPasswordIsUsedAndKept) {
    test::TempDir dir("steward-emb-pw");
    EmbeddedPostgres::Options o;
    o.dir = dir / "data";
    o.port = free_loopback_port();
    o.durable = false;
    o.password = "given-Password-with:@/?#&%-chars";
    {
        EmbeddedPostgres pg(o);
        pg.start();
        EXPECT_EQ(test::query_value(pg.url(), "SELECT 1"), "1");
        EXPECT_EQ(pg::parse_conninfo(pg.url()).get("password"), o.password);
    }
    o.password.clear();  // the folder keeps it
    EmbeddedPostgres again(o);
    again.start();
    EXPECT_EQ(pg::parse_conninfo(again.url()).get("password"), "given-Password-with:@/?#&%-chars");
}
