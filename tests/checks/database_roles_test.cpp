// Least-privilege deployments on a real server: the app's role runs the app, migrations.database_url
// runs the migrations, and --connect says when the role cannot make the scratch database a verify needs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/checks/cli_support.hpp"
#include "tests/support/pg_cluster.hpp"

namespace steward::checks::test {
namespace {

using ::steward::test::cluster;
using ::steward::test::database_name;
using ::steward::test::fresh_database;
using ::steward::test::query_value;
using ::steward::test::run_steward;

constexpr const char* kAppPassword = "Qw3eR6tY9uI2oP5aS8dF1gH4";

// A database owned by postgres, and a login role `role` that may connect but owns nothing. The URL has
// no password: the spec takes it from database.password.
std::string app_url(const std::string& admin_url, const std::string& role) {
    std::string db = database_name(admin_url);
    query_value(admin_url, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + role +
                               "') THEN CREATE ROLE " + role + " LOGIN NOCREATEDB; END IF; END $$");
    query_value(admin_url, "ALTER ROLE " + role + " PASSWORD '" + kAppPassword + "'");
    query_value(admin_url, "GRANT CONNECT ON DATABASE " + db + " TO " + role);
    return "postgresql://" + role + "@127.0.0.1:" + std::to_string(cluster().port()) + "/" + db;
}

// A spec in `dir` whose database password comes from a secret file, as database.password allows.
std::string spec_for(::steward::test::TempDir& dir, const std::string& url, const std::string& extra,
                     const std::string& migrations = "migrations: { dir: migrations }\n") {
    auto pw = dir.write("db.pw", std::string(kAppPassword) + "\n");
    ::chmod(pw.c_str(), 0600);
    bool has_password = url.find(":", url.find("://") + 3) < url.find('@');
    return "version: 1\nname: chat\nenvironment: development\n"
           "database:\n  url: \"" +
           url + "\"\n" +
           (has_password || url.find('@') == std::string::npos ? ""
                                                               : "  password: \"secret:db_password\"\n") +
           "secrets:\n  db_password: { file: db.pw, kind: password }\n" + migrations + extra;
}

TEST(DatabaseRoles, MigrationsRunWithTheirOwnUrlWhileTheAppRoleOwnsNothing) {
    std::string admin = fresh_database("roles");
    std::string app = app_url(admin, "steward_app_role");
    ::steward::test::TempDir dir;
    dir.write("migrations/V1__t.sql", "CREATE TABLE notes (id int);\n");
    // PostgreSQL 15: the app's role may not create tables in public, so migrating as it fails...
    auto spec = dir.write("plain.yaml", spec_for(dir, app, ""));
    auto r = run_steward({"--spec", spec.string(), "migrate", "up"});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
    // ...and migrations.database_url (a privileged role from the environment) applies them.
    spec = dir.write(
        "split.yaml",
        spec_for(dir, app, "", "migrations: { dir: migrations, database_url: \"${MIGRATE_URL}\" }\n"));
    r = run_steward({"--spec", spec.string(), "migrate", "up"}, {{"MIGRATE_URL", admin}});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(query_value(admin, "SELECT count(*) FROM steward_migrations WHERE state = 'applied'"), "1");
    EXPECT_EQ(query_value(admin, "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"), "postgres");
}

TEST(DatabaseRoles, ConnectWarnsWhenVerifyRestoreCannotCreateItsScratchDatabase) {
    std::string admin = fresh_database("createdb");
    std::string app = app_url(admin, "steward_nocreatedb");
    ::steward::test::TempDir dir;
    std::filesystem::create_directories(dir / "migrations");
    std::filesystem::create_directories(dir / "backups");
    auto spec = dir.write("s.yaml", spec_for(dir, app, "backups: { dir: backups, verify: restore }\n"));
    auto r = run_steward({"--spec", spec.string(), "check", "--connect", "--json"});
    auto doc = parse_json(r.out);
    EXPECT_TRUE(has(finding_ids(doc), "connect.cannot_create_database")) << r.out << r.err;
    // The superuser may, and verify: full needs no scratch database.
    spec = dir.write("t.yaml", spec_for(dir, admin, "backups: { dir: backups, verify: restore }\n"));
    EXPECT_FALSE(has(
        finding_ids(parse_json(run_steward({"--spec", spec.string(), "check", "--connect", "--json"}).out)),
        "connect.cannot_create_database"));
    spec = dir.write("u.yaml", spec_for(dir, app, "backups: { dir: backups, verify: full }\n"));
    EXPECT_FALSE(has(
        finding_ids(parse_json(run_steward({"--spec", spec.string(), "check", "--connect", "--json"}).out)),
        "connect.cannot_create_database"));
    spec = dir.write(
        "v.yaml",
        spec_for(dir, app, "backups: { dir: backups, verify: full, drill: { schedule: \"@weekly\" } }\n"));
    r = run_steward({"--spec", spec.string(), "check", "--connect", "--json"});
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "connect.cannot_create_database")) << r.out;
}

}  // namespace
}  // namespace steward::checks::test
