// Unit tests of the JSON documents and terminal text the migrate commands print.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "migrate/migrator.hpp"

using namespace steward::migrate;

namespace {
Failure sample_failure() {
    Failure f;
    f.file = "migrations/V2__bad.sql";
    f.line = 3;
    f.column = 23;
    f.sqlstate = "22P02";
    f.message = "invalid input syntax for type integer: \"x\"";
    f.hint = "check the value";
    f.mode = "no-transaction";
    f.statements_completed = 1;
    f.statements_total = 3;
    f.recorded = true;
    return f;
}
}  // namespace

TEST(Report, FailureTextNamesFileLineColumnAndState) {
    auto text = to_text(sample_failure());
    EXPECT_EQ(
        text.rfind("migrations/V2__bad.sql:3:23: error 22P02: invalid input syntax for type integer: \"x\"\n",
                   0),
        0u)
        << text;
    EXPECT_NE(text.find("  hint: check the value\n"), std::string::npos);
    EXPECT_NE(text.find("1 of 3 statements"), std::string::npos);
    EXPECT_NE(text.find("repair --yes"), std::string::npos);
    auto no_position = sample_failure();
    no_position.line = 0;
    EXPECT_EQ(to_text(no_position).rfind("migrations/V2__bad.sql: error 22P02", 0), 0u);
}

TEST(Report, RunResultJsonShape) {
    RunResult r;
    r.done.push_back({"versioned", "1", "init", "m/V1__init.sql", "transaction", false, 12});
    r.failure = sample_failure();
    r.failed = MigrationRef{"versioned", "2", "bad", "m/V2__bad.sql", "no-transaction", false, 0};
    r.current_version = "1";
    auto doc = to_json(r).as_object();
    EXPECT_FALSE(doc["ok"].as_bool());
    EXPECT_EQ(doc["done"].as_array()[0].as_object()["duration_ms"].as_int64(), 12);
    auto err = doc["error"].as_object();
    EXPECT_EQ(err["line"].as_int64(), 3);
    EXPECT_EQ(err["sqlstate"].as_string(), "22P02");
    EXPECT_TRUE(err["needs_repair"].as_bool());
    EXPECT_EQ(err["migration"].as_object()["version"].as_string(), "2");
    RunResult ok;
    EXPECT_TRUE(to_json(ok).as_object()["error"].is_null());
    EXPECT_NE(to_text(ok, "applied").find("nothing to do"), std::string::npos);
}

TEST(Report, StatusAndRepairJsonShapes) {
    StatusResult s;
    s.current_version = "3";
    s.applied = 2;
    s.entries.push_back({{"versioned", "3", "c", "m/V3__c.sql", "transaction", false, 4},
                         "drifted",
                         "aa",
                         "bb",
                         "2026-01-01T00:00:00Z",
                         "changed"});
    auto doc = to_json(s).as_object();
    EXPECT_EQ(doc["counts"].as_object()["applied"].as_int64(), 2);
    auto e = doc["migrations"].as_array()[0].as_object();
    EXPECT_EQ(e["state"].as_string(), "drifted");
    EXPECT_EQ(e["recorded_checksum"].as_string(), "bb");
    auto rep =
        to_json(std::vector<RepairChange>{{"remove_failed", "2", "b", "removed the failed row of 2 b"}}, true)
            .as_object();
    EXPECT_TRUE(rep["applied"].as_bool());
    EXPECT_EQ(rep["changes"].as_array()[0].as_object()["action"].as_string(), "remove_failed");
}
