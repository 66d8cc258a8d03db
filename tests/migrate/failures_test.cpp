// Failing migrations: rollback, error positions, non-transactional files, CONCURRENTLY, late servers.
#include <pqxx/pqxx>

#include "core/embedded_postgres.hpp"
#include "core/pg.hpp"
#include "tests/migrate/migrate_harness.hpp"

using namespace steward;
using namespace steward::test;

TEST(MigrateFailures, FailingStatementMidFileRollsBackFileAndHistoryRow) {
    MigrateWorld w;
    w.write("V1__ok.sql", "CREATE TABLE a (x int);\n");
    w.write("V2__bad.sql",
            "CREATE TABLE b (x int);\n"
            "INSERT INTO b VALUES (1);\n"
            "INSERT INTO a VALUES ('not a number');\n"
            "CREATE TABLE c (x int);\n");
    auto up = w.run({"up"});
    EXPECT_EQ(up.status, 1);
    EXPECT_NE(up.out.find("applied 1 ok"), std::string::npos) << up.out;
    EXPECT_NE(up.err.find("V2__bad.sql:3:23: error 22P02: invalid input syntax for type integer"),
              std::string::npos)
        << up.err;
    EXPECT_NE(up.err.find("rolled back"), std::string::npos) << up.err;
    EXPECT_EQ(w.value("SELECT to_regclass('b') IS NULL"), "t");
    EXPECT_EQ(w.value("SELECT string_agg(version, ',') FROM steward_migrations"), "1");

    auto json = w.json({"up"}, 1);
    EXPECT_FALSE(json["ok"].as_bool());
    auto err = json["error"].as_object();
    EXPECT_EQ(err["line"].as_int64(), 3);
    EXPECT_EQ(err["column"].as_int64(), 23);
    EXPECT_EQ(str(err["sqlstate"]), "22P02");
    EXPECT_EQ(str(err["migration"].as_object()["version"]), "2");
    EXPECT_FALSE(err["needs_repair"].as_bool());

    // Fixing the file is enough: nothing was recorded.
    w.write("V2__bad.sql", "CREATE TABLE b (x int);\n");
    ASSERT_EQ(w.run({"up"}).status, 0);
}

TEST(MigrateFailures, ErrorPositionsMapToFileLinesWithDetailAndHint) {
    MigrateWorld w;
    w.write("V1__syntax.sql",
            "-- a comment line\n"
            "CREATE TABLE a (\n"
            "  x int,\n"
            "  y tekst\n"
            ");\n");
    auto up = w.run({"up"});
    EXPECT_EQ(up.status, 1);
    EXPECT_NE(up.err.find("V1__syntax.sql:4:5: error 42704: type \"tekst\" does not exist"),
              std::string::npos)
        << up.err;

    // Statement by statement: positions are relative to each statement, mapped back to the file.
    w.write("V1__syntax.sql",
            "-- steward:no-transaction\n"
            "CREATE TABLE a (x int PRIMARY KEY);\n"
            "INSERT INTO a VALUES (1);\n"
            "\n"
            "  INSERT INTO a VALUES (1);\n");
    auto dup = w.json({"up"}, 1);
    auto err = dup["error"].as_object();
    EXPECT_EQ(str(err["sqlstate"]), "23505");
    EXPECT_EQ(err["line"].as_int64(), 5);
    EXPECT_EQ(err["column"].as_int64(), 3);
    EXPECT_EQ(str(err["detail"]), "Key (x)=(1) already exists.");
    EXPECT_EQ(err["statements_completed"].as_int64(), 2);
    EXPECT_TRUE(err["needs_repair"].as_bool());

    MigrateWorld h;
    h.write("V1__hint.sql", "SELECT 1;\nSELECT nosuchfunction(1);\n");
    auto hint = h.json({"up"}, 1);
    EXPECT_EQ(hint["error"].as_object()["line"].as_int64(), 2);
    EXPECT_EQ(hint["error"].as_object()["column"].as_int64(), 8);
    EXPECT_NE(str(hint["error"].as_object()["hint"]).find("No function matches"), std::string::npos);
}

TEST(MigrateFailures, NonTransactionalFailureBlocksUpUntilRepair) {
    MigrateWorld w;
    w.write("V1__nontx.sql",
            "-- steward:no-transaction\n"
            "CREATE TABLE a (x int);\n"
            "CREATE INDEX CONCURRENTLY a_x ON a (x);\n"
            "CREATE INDEX CONCURRENTLY a_y ON a (y);\n");
    auto up = w.run({"up"});
    EXPECT_EQ(up.status, 1);
    EXPECT_NE(up.err.find("2 of 3 statements of this file completed"), std::string::npos) << up.err;
    EXPECT_EQ(w.value("SELECT state || ' ' || statements_done FROM steward_migrations"), "failed 2");

    auto again = w.run({"up"});
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(again.err.find("1 nontx is failed"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("2 of 3 statements completed (1-2)"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("repair --yes"), std::string::npos) << again.err;
    EXPECT_EQ(w.run({"validate"}).status, 1);

    auto repair = w.run({"repair", "--yes"});
    ASSERT_EQ(repair.status, 0) << repair.err;
    EXPECT_NE(repair.out.find("removed the failed row of 1 nontx"), std::string::npos) << repair.out;
    w.write("V1__nontx.sql",
            "-- steward:no-transaction\n"
            "CREATE TABLE IF NOT EXISTS a (x int);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_x ON a (x);\n");
    ASSERT_EQ(w.run({"up"}).status, 0);
    EXPECT_EQ(w.value("SELECT state FROM steward_migrations"), "applied");
}

TEST(MigrateFailures, CreateIndexConcurrentlyMarkedAndUnmarked) {
    MigrateWorld w;
    w.write("V1__t.sql",
            "CREATE TABLE t (x int, y int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;\n");
    w.write("V2__marked.sql", "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n");
    w.write("V3__unmarked.sql",
            "/* detected */\nCREATE UNIQUE INDEX CONCURRENTLY t_y ON t (y);\nDROP INDEX CONCURRENTLY t_x;\n");
    auto up = w.json({"up"});
    auto done = up["done"].as_array();
    ASSERT_EQ(done.size(), 3u) << boost::json::serialize(up);
    EXPECT_EQ(str(done[1].as_object()["mode"]), "no-transaction");
    EXPECT_EQ(str(done[2].as_object()["mode"]), "no-transaction");
    EXPECT_EQ(w.value("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_y'::regclass"), "t");
    EXPECT_EQ(w.value("SELECT to_regclass('t_x') IS NULL"), "t");
}

TEST(MigrateFailures, LockHeldElsewhereFailsNamingTheHolder) {
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    TempDir specdir("steward-mig-spec");
    auto spec = specdir.write("steward.yaml",
                              "version: 1\nname: chat\nenvironment: development\ndatabase:\n  url: " + w.url +
                                  "\nmigrations:\n  dir: " + w.dir.path().string() + "\n  lock_wait: 1s\n");
    auto holder = pg::connect(w.url);
    pqxx::nontransaction tx(*holder);
    tx.exec("SELECT pg_advisory_lock(" +
            std::to_string(pg::migration_lock_key(database_name(w.url), "steward_migrations")) + ")");
    auto r = run_steward({"migrate", "up", "--spec", spec.string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("holds the migration lock"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("pid " + tx.exec("SELECT pg_backend_pid()")[0][0].as<std::string>()),
              std::string::npos)
        << r.err;
    EXPECT_EQ(w.value("SELECT to_regclass('a') IS NULL"), "t");
}

TEST(MigrateFailures, WaitForAServerThatStartsLate) {
    const int port = free_loopback_port();
    TempDir pgdir("steward-mig-late");
    std::filesystem::permissions(pgdir.path(), std::filesystem::perms::all);
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    // The server does not exist yet: its password is chosen here (it admits no one without one).
    const std::string password = "late-start-password-4c1e";
    const std::string url =
        "postgresql://postgres:" + password + "@127.0.0.1:" + std::to_string(port) + "/postgres";
    ProcessOptions o;
    o.argv = {steward_binary(),      "migrate",        "up", "--wait", "90s", "--dir",
              w.dir.path().string(), "--database-url", url};
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = ProcessOptions::kDevNull;
    auto child = spawn(o);
    EmbeddedPostgres::Options po;
    po.dir = pgdir.path() / "data";
    po.port = port;
    po.durable = false;
    po.password = password;
    EmbeddedPostgres late(po);
    late.start();  // initdb and start take a few seconds: steward is waiting meanwhile
    auto status = child.wait_for(std::chrono::seconds(60));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 0);
    EXPECT_EQ(query_value(url, "SELECT to_regclass('a') IS NOT NULL"), "t");
    late.stop();

    auto quick =
        run_steward({"migrate", "up", "--wait", "1s", "--dir", w.dir.path().string(), "--database-url", url});
    EXPECT_EQ(quick.status, 1);
    EXPECT_NE(quick.err.find("did not accept connections within"), std::string::npos) << quick.err;
}

TEST(MigrateFailures, LockTimeoutAndStatementTimeoutBoundEachMigration) {
    MigrateWorld w;
    w.value("CREATE TABLE busy (x int)");
    w.write("V1__alter.sql", "ALTER TABLE busy ADD COLUMN y int;\n");
    TempDir specdir("steward-mig-spec");
    auto spec = specdir.write("steward.yaml",
                              "version: 1\nname: chat\nenvironment: development\ndatabase:\n  url: " + w.url +
                                  "\nmigrations:\n  dir: " + w.dir.path().string() +
                                  "\n  lock_timeout: 500ms\n  statement_timeout: 1s\n");
    {
        // The application holds a lock on the table: the ALTER gives up instead of queueing traffic.
        auto app = pg::connect(w.url);
        pqxx::work tx(*app);
        tx.exec("LOCK TABLE busy IN ACCESS SHARE MODE");
        auto r = run_steward({"migrate", "up", "--spec", spec.string(), "--json"});
        EXPECT_EQ(r.status, 1);
        auto doc = boost::json::parse(r.out).as_object();
        EXPECT_EQ(str(doc["error"].as_object()["sqlstate"]), "55P03") << r.out;
    }
    w.write("V1__alter.sql", "ALTER TABLE busy ADD COLUMN y int;\nSELECT pg_sleep(5);\n");
    auto slow = run_steward({"migrate", "up", "--spec", spec.string(), "--json"});
    EXPECT_EQ(slow.status, 1);
    auto doc = boost::json::parse(slow.out).as_object();
    EXPECT_EQ(str(doc["error"].as_object()["sqlstate"]), "57014") << slow.out;
    EXPECT_EQ(w.value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy'"), "1");
}

TEST(MigrateFailures, ErrorsWithoutAPositionNameTheStatementThatFailed) {
    // Constraint violations and errors raised at run time carry no position: the line is the
    // start of the statement that failed, found from how many statements completed.
    MigrateWorld w;
    w.write("V1__dup.sql",
            "CREATE TABLE a (x int PRIMARY KEY);\n"
            "INSERT INTO a VALUES (1);\n"
            "-- the same key again; a semicolon in a comment\n"
            "\n"
            "  INSERT INTO a VALUES (1);\n"
            "CREATE TABLE b (x int);\n");
    auto up = w.run({"up"});
    EXPECT_EQ(up.status, 1);
    EXPECT_NE(up.err.find("V1__dup.sql:5:3: error 23505: duplicate key value"), std::string::npos) << up.err;
    EXPECT_NE(up.err.find("detail: Key (x)=(1) already exists."), std::string::npos) << up.err;
    EXPECT_EQ(w.value("SELECT to_regclass('a') IS NULL"), "t");

    w.write("V1__dup.sql",
            "CREATE TABLE a (x int);\n"
            "DO $$ BEGIN RAISE EXCEPTION 'boom; no position' USING HINT = 'try again'; END $$;\n");
    auto raised = w.json({"up"}, 1);
    auto err = raised["error"].as_object();
    EXPECT_EQ(str(err["sqlstate"]), "P0001");
    EXPECT_EQ(err["line"].as_int64(), 2);
    EXPECT_EQ(err["column"].as_int64(), 1);
    EXPECT_EQ(str(err["hint"]), "try again");

    // COPY ... FROM STDIN has no data in a file: an error on its line, not a hung session.
    w.write("V1__dup.sql", "CREATE TABLE a (x int);\nCOPY a FROM STDIN;\n");
    auto copy = w.json({"up"}, 1);
    EXPECT_EQ(copy["error"].as_object()["line"].as_int64(), 2) << boost::json::serialize(copy);
    EXPECT_NE(str(copy["error"].as_object()["message"]).find("COPY FROM STDIN is not supported"),
              std::string::npos);
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations"), 0);
    w.write("V1__dup.sql", "CREATE TABLE a (x int);\n");
    EXPECT_EQ(w.run({"up"}).status, 0);
}

TEST(MigrateFailures, MalformedDatabaseUrlNeverPrintsThePassword) {
    // libpq quotes the part of a URL it cannot parse, which may be the password.
    TempDir dir("steward-mig-url");
    dir.write("V1__a.sql", "SELECT 1;\n");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"postgresql://app:Se%zzcretPassw0rd@127.0.0.1:1/chat", "Se%zzcretPassw0rd"},
        {"postgresql://app:hunter2hunter2@[::1/chat", "hunter2hunter2"},
        {"postgresql://app@127.0.0.1:1/chat?password=Tr%0gsecret", "Tr%0gsecret"},
    };
    for (const auto& [url, password] : cases) {
        for (std::vector<std::string> args :
             {std::vector<std::string>{"status"}, {"status", "--json"}, {"up", "--wait", "30s"}}) {
            args.insert(args.begin(), "migrate");
            args.insert(args.end(), {"--dir", dir.path().string()});
            const auto start = std::chrono::steady_clock::now();
            auto r = run_steward(args, {{"DATABASE_URL", url}});
            EXPECT_EQ(r.status, 1) << url << r.out << r.err;
            EXPECT_EQ((r.out + r.err).find(password.substr(3)), std::string::npos) << r.out << r.err;
            EXPECT_NE((r.out + r.err).find("cannot connect"), std::string::npos) << r.out << r.err;
            // A URL that cannot be parsed fails at once even with --wait.
            EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15)) << url;
        }
    }
}
