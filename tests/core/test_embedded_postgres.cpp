// The embedded PostgreSQL: starts, answers, creates databases, stops with its owner.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "core/pg.hpp"
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
