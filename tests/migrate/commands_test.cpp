// Every file format and command of `steward migrate` against a real PostgreSQL, via the real binary.
#include <fstream>

#include "migrate/migration_files.hpp"
#include "migrate/migrator.hpp"
#include "tests/migrate/migrate_harness.hpp"

using namespace steward;
using namespace steward::test;

TEST(MigrateCommands, GolangStyleUpStatusDown) {
    MigrateWorld w;
    w.write("0001_users.up.sql", "CREATE TABLE users (id serial PRIMARY KEY, name text);\n");
    w.write("0001_users.down.sql", "DROP TABLE users;\n");
    w.write("0002_posts.up.sql",
            "CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users);\n");
    w.write("0002_posts.down.sql", "DROP TABLE posts;\n");
    w.write("README.md", "not a migration");

    auto up = w.run({"up"});
    ASSERT_EQ(up.status, 0) << up.out << up.err;
    EXPECT_NE(up.out.find("applied 1 users"), std::string::npos) << up.out;
    EXPECT_NE(up.out.find("current version: 2"), std::string::npos) << up.out;
    EXPECT_EQ(w.value("SELECT to_regclass('posts') IS NOT NULL"), "t");
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations WHERE state = 'applied'"), 2);
    EXPECT_EQ(w.value("SELECT checksum FROM steward_migrations WHERE version = '1'"),
              migrate::sha256_hex("CREATE TABLE users (id serial PRIMARY KEY, name text);\n"));
    EXPECT_NE(w.value("SELECT applied_by FROM steward_migrations WHERE version = '1'").find('@'),
              std::string::npos);

    auto st = w.json({"status"});
    EXPECT_EQ(str(st["command"]), "status");
    EXPECT_EQ(str(st["current_version"]), "2");
    EXPECT_EQ(st["counts"].as_object()["applied"].as_int64(), 2);
    ASSERT_EQ(st["migrations"].as_array().size(), 2u);
    EXPECT_EQ(str(st["migrations"].as_array()[0].as_object()["state"]), "applied");

    auto again = w.run({"up"});
    EXPECT_EQ(again.status, 0);
    EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;

    // A down file has not run yet: editing it is not drift, and down runs it as it is now.
    w.write("0002_posts.down.sql", "DROP TABLE posts;\nCREATE TABLE posts_gone (x int);\n");
    EXPECT_EQ(w.run({"validate", "--no-pending"}).status, 0);
    auto down = w.json({"down"});
    ASSERT_EQ(down["done"].as_array().size(), 1u);
    EXPECT_EQ(w.value("SELECT to_regclass('posts_gone') IS NOT NULL"), "t");
    EXPECT_EQ(str(down["done"].as_array()[0].as_object()["version"]), "2");
    EXPECT_EQ(w.value("SELECT to_regclass('posts') IS NULL"), "t");
    EXPECT_EQ(str(down["current_version"]), "1");
    auto down_all = w.run({"down", "--to", "0"});
    ASSERT_EQ(down_all.status, 0) << down_all.err;
    EXPECT_EQ(w.value("SELECT to_regclass('users') IS NULL"), "t");
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations"), 0);
    EXPECT_EQ(w.json({"status"})["counts"].as_object()["pending"].as_int64(), 2);
}

TEST(MigrateCommands, FlywayDottedVersionsAndRepeatables) {
    MigrateWorld w;
    w.write("V1__log.sql", "CREATE TABLE log (n serial, v text);\n");
    w.write("V1.2.10__ten.sql", "INSERT INTO log (v) VALUES ('1.2.10');\n");
    w.write("V1.2.9__nine.sql", "INSERT INTO log (v) VALUES ('1.2.9');\n");
    w.write("V01.10__later.sql", "INSERT INTO log (v) VALUES ('1.10');\n");
    w.write("R__view.sql", "CREATE OR REPLACE VIEW log_view AS SELECT v FROM log;\n");
    auto up = w.run({"up"});
    ASSERT_EQ(up.status, 0) << up.out << up.err;
    EXPECT_EQ(w.value("SELECT string_agg(v, ',' ORDER BY n) FROM log"), "1.2.9,1.2.10,1.10");
    EXPECT_EQ(w.count("SELECT count(*) FROM log_view"), 3);
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations WHERE kind = 'repeatable'"), 1);

    // A changed repeatable is re-applied after versioned ones; an unchanged one is not.
    w.write("R__view.sql", "CREATE OR REPLACE VIEW log_view AS SELECT v, n FROM log;\n");
    auto plan = w.json({"plan"});
    ASSERT_EQ(plan["steps"].as_array().size(), 1u);
    EXPECT_TRUE(plan["steps"].as_array()[0].as_object()["reapply"].as_bool());
    ASSERT_EQ(w.run({"up"}).status, 0);
    EXPECT_EQ(w.value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'log_view'"), "2");
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations WHERE kind = 'repeatable'"), 1);
    EXPECT_TRUE(w.json({"plan"})["steps"].as_array().empty());
    EXPECT_EQ(w.run({"validate", "--no-pending"}).status, 0);
}

TEST(MigrateCommands, PlanIsADryRunShowingModes) {
    MigrateWorld w;
    w.write("1_t.up.sql", "CREATE TABLE t (x int);\n");
    w.write("2_idx.up.sql", "CREATE INDEX CONCURRENTLY t_x ON t (x);\n");
    w.write("3_own.up.sql", "BEGIN;\nCREATE TABLE u (x int);\nCOMMIT;\n");
    w.write("4_marked.up.sql", "-- steward:no-transaction\nCREATE TABLE v (x int);\n");
    auto plan = w.json({"plan"});
    auto steps = plan["steps"].as_array();
    ASSERT_EQ(steps.size(), 4u);
    EXPECT_EQ(str(steps[0].as_object()["mode"]), "transaction");
    EXPECT_EQ(str(steps[1].as_object()["mode"]), "no-transaction");
    EXPECT_EQ(str(steps[2].as_object()["mode"]), "as-written");
    EXPECT_EQ(str(steps[3].as_object()["mode"]), "no-transaction");
    EXPECT_EQ(w.value("SELECT to_regclass('steward_migrations') IS NULL"), "t");
    auto to = w.json({"plan", "--to", "2"});
    EXPECT_EQ(to["steps"].as_array().size(), 2u);
    ASSERT_EQ(w.run({"up", "--to", "2"}).status, 0);
    EXPECT_EQ(w.value("SELECT to_regclass('u') IS NULL"), "t");
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations"), 2);
    ASSERT_EQ(w.run({"up"}).status, 0);
    EXPECT_EQ(w.value("SELECT to_regclass('v') IS NOT NULL"), "t");
}

TEST(MigrateCommands, ValidateReportsPendingAndFailsOnlyWithNoPending) {
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    auto v = w.json({"validate"});
    EXPECT_TRUE(v["ok"].as_bool());
    EXPECT_EQ(v["counts"].as_object()["pending"].as_int64(), 1);
    auto strict = w.json({"validate", "--no-pending"}, 1);
    EXPECT_FALSE(strict["ok"].as_bool());
    EXPECT_EQ(strict["problems"].as_array().size(), 1u);
}

TEST(MigrateCommands, DriftAndMissingFilesAreDetectedAndRepaired) {
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    w.write("V2__b.sql", "CREATE TABLE b (x int);\n");
    w.write("V3__c.sql", "CREATE TABLE c (x int);\n");
    ASSERT_EQ(w.run({"up"}).status, 0);
    w.write("V2__b.sql", "CREATE TABLE b (x int, y int);\n");
    std::filesystem::remove(w.dir / "V3__c.sql");

    auto st = w.json({"status"});
    auto entries = st["migrations"].as_array();
    EXPECT_EQ(str(entries[1].as_object()["state"]), "drifted");
    EXPECT_EQ(str(entries[2].as_object()["state"]), "missing");
    EXPECT_EQ(st["counts"].as_object()["drifted"].as_int64(), 2);
    auto v = w.run({"validate"});
    EXPECT_EQ(v.status, 1);
    EXPECT_NE(v.out.find("2 b is drifted"), std::string::npos) << v.out;

    w.write("V4__d.sql", "CREATE TABLE d (x int);\n");
    auto up = w.run({"up"});
    EXPECT_EQ(up.status, 1);
    EXPECT_NE(up.err.find("repair --yes"), std::string::npos) << up.err;
    EXPECT_EQ(w.value("SELECT to_regclass('d') IS NULL"), "t");

    auto dry = w.run({"repair"});
    EXPECT_EQ(dry.status, 1);
    EXPECT_NE(dry.out.find("would have realigned the checksum of 2 b"), std::string::npos) << dry.out;
    auto fixed = w.json({"repair", "--yes"});
    EXPECT_EQ(fixed["changes"].as_array().size(), 2u);
    EXPECT_EQ(w.run({"validate"}).status, 0);
    ASSERT_EQ(w.run({"up"}).status, 0);
    EXPECT_EQ(w.value("SELECT to_regclass('d') IS NOT NULL"), "t");
}

TEST(MigrateCommands, BaselineAdoptsAnExistingDatabase) {
    MigrateWorld w;
    w.value("CREATE TABLE legacy (x int)");
    w.write("1_legacy.up.sql", "CREATE TABLE legacy (x int);\n");
    w.write("2_more.up.sql", "ALTER TABLE legacy ADD COLUMN y int;\n");
    w.write("3_new.up.sql", "CREATE TABLE fresh (x int);\n");
    auto b = w.json({"baseline", "--version", "2"});
    EXPECT_TRUE(b["ok"].as_bool());
    auto st = w.json({"status"});
    EXPECT_EQ(str(st["current_version"]), "2");
    EXPECT_EQ(str(st["migrations"].as_array()[0].as_object()["state"]), "below_baseline");
    auto up = w.json({"up"});
    ASSERT_EQ(up["done"].as_array().size(), 1u);
    EXPECT_EQ(str(up["done"].as_array()[0].as_object()["version"]), "3");
    EXPECT_EQ(w.run({"baseline", "--version", "3"}).status, 1);
    EXPECT_EQ(w.run({"down", "--to", "0"}).status, 1);  // 3 has no down file
}

TEST(MigrateCommands, CommentOnlyFileIsAnAppliedEmptyMigration) {
    MigrateWorld w;
    w.write("V1__nothing.sql", "-- reserved for later\n/* still nothing; */\n");
    auto up = w.json({"up"});
    ASSERT_EQ(up["done"].as_array().size(), 1u);
    EXPECT_EQ(w.value("SELECT state FROM steward_migrations WHERE version = '1'"), "applied");
}

TEST(MigrateCommands, DollarQuotedBodiesWithSemicolons) {
    MigrateWorld w;
    w.write("V1__functions.sql", R"(-- functions; with semicolons everywhere
CREATE TABLE counter (n int);
CREATE FUNCTION bump() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO counter VALUES (1);
  RETURN (SELECT count(*) FROM counter);
END;
$$;
CREATE FUNCTION tag() RETURNS text LANGUAGE sql AS $fn$ SELECT 'a;b' || $$;$$ $fn$;
CREATE FUNCTION twice(a int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN a > 0 THEN a * 2 ELSE 0 END;
END;
)");
    w.write("V2__nontx.sql", R"(-- steward:no-transaction
CREATE FUNCTION three() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 3; END; $body$;
SELECT bump();
)");
    auto up = w.run({"up"});
    ASSERT_EQ(up.status, 0) << up.err;
    EXPECT_EQ(w.value("SELECT bump()"), "2");
    EXPECT_EQ(w.value("SELECT tag()"), "a;b;");
    EXPECT_EQ(w.value("SELECT twice(4)"), "8");
    EXPECT_EQ(w.value("SELECT three()"), "3");
    EXPECT_EQ(w.value("SELECT statements_total FROM steward_migrations WHERE version = '2'"), "2");
}

TEST(MigrateCommands, FileWithItsOwnBeginCommitRunsAsWritten) {
    MigrateWorld w;
    w.write("V1__own.sql",
            "BEGIN;\nCREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nCOMMIT;\n"
            "BEGIN;\nINSERT INTO a VALUES (2);\nROLLBACK;\n");
    auto up = w.run({"up"});
    ASSERT_EQ(up.status, 0) << up.err;
    EXPECT_EQ(w.value("SELECT string_agg(x::text, ',') FROM a"), "1");
    EXPECT_EQ(w.value("SELECT state FROM steward_migrations"), "applied");

    // Failing inside its own transaction leaves no trace: no repair needed.
    w.write("V2__own_bad.sql", "BEGIN;\nCREATE TABLE b (x int);\nINSERT INTO b VALUES ('x');\nCOMMIT;\n");
    auto bad = w.json({"up"}, 1);
    EXPECT_FALSE(bad["error"].as_object()["needs_repair"].as_bool());
    EXPECT_EQ(bad["error"].as_object()["line"].as_int64(), 3);
    EXPECT_EQ(w.value("SELECT to_regclass('b') IS NULL"), "t");
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations"), 1);
    w.write("V2__own_bad.sql", "BEGIN;\nCREATE TABLE b (x int);\nCOMMIT;\n");
    EXPECT_EQ(w.run({"up"}).status, 0);
}

TEST(MigrateCommands, BadNamesAndDuplicateVersionsNameTheFile) {
    MigrateWorld w;
    w.write("1_a.up.sql", "SELECT 1;");
    w.write("01_b.up.sql", "SELECT 1;");
    auto dup = w.run({"status"});
    EXPECT_EQ(dup.status, 1);
    EXPECT_NE(dup.err.find("1_a.up.sql: version 1 is also used by 01_b.up.sql"), std::string::npos)
        << dup.err;
    std::filesystem::remove(w.dir / "01_b.up.sql");
    w.write("init.sql", "SELECT 1;");
    auto bad = w.run({"up"});
    EXPECT_EQ(bad.status, 1);
    EXPECT_NE(bad.err.find("init.sql: not a migration file name"), std::string::npos) << bad.err;
    EXPECT_EQ(w.value("SELECT to_regclass('steward_migrations') IS NULL"), "t");
}

TEST(MigrateCommands, SpecAndEnvironmentSelectDatabaseAndTable) {
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    TempDir specdir("steward-mig-spec");
    auto spec = specdir.write("steward.yaml",
                              "version: 1\nname: chat\nenvironment: development\ndatabase:\n  url: "
                              "${MIG_URL}\nmigrations:\n  dir: " +
                                  w.dir.path().string() + "\n  table: ops_history\n");
    auto r = run_steward({"migrate", "up", "--spec", spec.string()}, {{"MIG_URL", w.url}});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(w.count("SELECT count(*) FROM ops_history"), 1);
    // DATABASE_URL from the environment with --dir: no spec needed.
    auto env = run_steward({"migrate", "status", "--dir", w.dir.path().string(), "--json"},
                           {{"DATABASE_URL", w.url}});
    ASSERT_EQ(env.status, 0) << env.err;
    EXPECT_NE(env.out.find("\"pending\":1"), std::string::npos)
        << env.out;  // other table: steward_migrations
    auto usage = run_steward({"migrate", "up", "--dir", w.dir.path().string()}, {{"DATABASE_URL", ""}});
    EXPECT_EQ(usage.status, 2) << usage.err;
}

TEST(MigrateStartup, ApplyValidateAndSkip) {
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    MigrationsSpec spec;
    spec.dir = w.dir.path();
    std::string summary;
    spec.on_start = MigrationsSpec::OnStart::validate;
    EXPECT_EQ(migrate::run_startup_migrations(spec, w.url, &summary), 1);
    EXPECT_NE(summary.find("1 a is pending"), std::string::npos) << summary;
    spec.on_start = MigrationsSpec::OnStart::skip;
    EXPECT_EQ(migrate::run_startup_migrations(spec, w.url, &summary), 0);
    EXPECT_EQ(w.value("SELECT to_regclass('a') IS NULL"), "t");
    spec.on_start = MigrationsSpec::OnStart::apply;
    EXPECT_EQ(migrate::run_startup_migrations(spec, w.url, &summary), 0) << summary;
    EXPECT_EQ(w.value("SELECT to_regclass('a') IS NOT NULL"), "t");
    spec.on_start = MigrationsSpec::OnStart::validate;
    EXPECT_EQ(migrate::run_startup_migrations(spec, w.url, &summary), 0) << summary;
    w.write("V1__a.sql", "CREATE TABLE a (x int, y int);\n");
    EXPECT_EQ(migrate::run_startup_migrations(spec, w.url, &summary), 1);
    EXPECT_NE(summary.find("drifted"), std::string::npos) << summary;
    spec.on_start = MigrationsSpec::OnStart::apply;
    EXPECT_EQ(migrate::run_startup_migrations(spec, w.url, &summary), 1);
    spec.dir = w.dir / "missing";
    EXPECT_EQ(migrate::run_startup_migrations(spec, w.url, &summary), 1);
    EXPECT_NE(summary.find("does not exist"), std::string::npos) << summary;
}

TEST(MigrateCommands, FlywayUndoFilesAndNonTransactionalDown) {
    MigrateWorld w;
    w.write("V1__t.sql", "CREATE TABLE t (x int);\n");
    w.write("U1__t.sql", "DROP TABLE t;\n");
    w.write("V2__idx.sql", "CREATE INDEX CONCURRENTLY t_x ON t (x);\n");
    w.write("U2__idx.sql", "DROP INDEX CONCURRENTLY t_x;\n");
    ASSERT_EQ(w.run({"up"}).status, 0);
    auto down = w.json({"down", "2"});
    auto done = down["done"].as_array();
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(str(done[0].as_object()["mode"]), "no-transaction");
    EXPECT_EQ(str(done[0].as_object()["file"]), (w.dir / "U2__idx.sql").string());
    EXPECT_EQ(w.value("SELECT to_regclass('t') IS NULL"), "t");
    EXPECT_EQ(w.count("SELECT count(*) FROM steward_migrations"), 0);
    EXPECT_EQ(w.run({"down", "1", "--to", "0"}).status, 2);
}

TEST(MigrateCommands, SessionSettingsDoNotLeakIntoTheNextFile) {
    MigrateWorld w;
    w.write("V1__schema.sql",
            "CREATE SCHEMA other;\nSET search_path = other;\nCREATE TABLE inside (x int);\n");
    w.write("V2__plain.sql", "CREATE TABLE outside (x int);\n");
    ASSERT_EQ(w.run({"up"}).status, 0);
    EXPECT_EQ(w.value("SELECT to_regclass('other.inside') IS NOT NULL"), "t");
    EXPECT_EQ(w.value("SELECT to_regclass('public.outside') IS NOT NULL"), "t");
    EXPECT_EQ(w.count("SELECT count(*) FROM public.steward_migrations"), 2);
}
