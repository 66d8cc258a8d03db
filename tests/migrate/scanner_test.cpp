// Unit tests of the SQL scanner: splitting, quoting, transaction-mode detection, positions.
#include <gtest/gtest.h>

#include "migrate/tx_mode.hpp"

using namespace steward::migrate;

namespace {
std::vector<std::string> texts(std::string_view sql) {
    std::vector<std::string> out;
    for (const auto& s : scan_sql(sql).statements) out.emplace_back(sql.substr(s.begin, s.end - s.begin));
    return out;
}
}  // namespace

TEST(Scanner, SplitsOnTopLevelSemicolons) {
    auto t = texts("CREATE TABLE a (x int);\n  INSERT INTO a VALUES (1);SELECT 1");
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[0], "CREATE TABLE a (x int);");
    EXPECT_EQ(t[1], "INSERT INTO a VALUES (1);");
    EXPECT_EQ(t[2], "SELECT 1");
}

TEST(Scanner, IgnoresSemicolonsInCommentsStringsAndIdentifiers) {
    auto t = texts("-- a; b\nSELECT 'x;y', \"we;ird\" /* c; /* nested; */ d; */ FROM t; SELECT E'it\\';s';");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1], "SELECT E'it\\';s';");
}

TEST(Scanner, DoubledQuotesStayInsideStrings) {
    auto t = texts("SELECT 'it''s; fine'; SELECT \"a\"\";b\";");
    ASSERT_EQ(t.size(), 2u);
}

TEST(Scanner, DollarQuotedBodiesAreNeverSplit) {
    const char* sql =
        R"(CREATE FUNCTION f() RETURNS int AS $$ BEGIN PERFORM 1; RETURN 2; END $$ LANGUAGE plpgsql;
CREATE FUNCTION g() RETURNS int AS $fn$ SELECT 1; SELECT $$;$$::int; $fn$ LANGUAGE sql;
DO $do$ BEGIN RAISE NOTICE 'x;'; END $do$;
SELECT $1;)";
    auto t = texts(sql);
    ASSERT_EQ(t.size(), 4u);
    EXPECT_EQ(t[3], "SELECT $1;");
}

TEST(Scanner, BeginAtomicBodiesAreNeverSplit) {
    auto t = texts(
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 2 "
        "END; "
        "SELECT 3; END; SELECT 4;");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1], "SELECT 4;");
    EXPECT_FALSE(
        scan_sql("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;").own_transaction);
    // "begin" may be a parameter name: it opens nothing, so the next statement stays separate.
    auto p = scan_sql(
        "CREATE FUNCTION span(begin date, finish date) RETURNS int LANGUAGE sql AS $$ SELECT finish - begin "
        "$$;\n"
        "CREATE INDEX CONCURRENTLY i ON t (x);\n");
    ASSERT_EQ(p.statements.size(), 2u);
    EXPECT_EQ(tx_mode(p), TxMode::no_transaction);
    EXPECT_EQ(
        texts(
            "CREATE PROCEDURE p() LANGUAGE sql BEGIN /* c */ ATOMIC INSERT INTO t VALUES (1); END; SELECT 2;")
            .size(),
        2u);
}

TEST(Scanner, CommentOnlyTextHasNoStatements) {
    auto r = scan_sql("-- nothing here\n/* at all; */\n  ;\n");
    EXPECT_TRUE(r.statements.empty());
    EXPECT_FALSE(r.unterminated);
    EXPECT_EQ(tx_mode(r), TxMode::transaction);
}

TEST(Scanner, DetectsUnterminatedText) {
    EXPECT_TRUE(scan_sql("SELECT 'abc").unterminated);
    EXPECT_TRUE(scan_sql("SELECT 1 /* x").unterminated);
    EXPECT_TRUE(scan_sql("SELECT $$ x").unterminated);
    EXPECT_TRUE(scan_sql("SELECT \"x").unterminated);
    EXPECT_FALSE(scan_sql("SELECT 'a''b'").unterminated);
}

TEST(Scanner, DetectsStatementsThatCannotRunInATransaction) {
    EXPECT_EQ(scan_sql("SELECT 1; create index concurrently i on t(x);")
                  .needs_no_transaction.rfind("CREATE INDEX CONCURRENTLY", 0),
              0u);
    for (const char* sql :
         {"CREATE UNIQUE INDEX CONCURRENTLY i ON t(x)", "DROP INDEX CONCURRENTLY i", "VACUUM t",
          "REINDEX TABLE CONCURRENTLY t", "REINDEX (VERBOSE) INDEX CONCURRENTLY i", "CREATE DATABASE x",
          "DROP DATABASE x", "ALTER SYSTEM SET work_mem = '8MB'", "REINDEX SCHEMA app",
          "REINDEX (VERBOSE) DATABASE chat", "REINDEX SYSTEM", "CLUSTER", "CLUSTER VERBOSE",
          "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY",
          "ALTER TABLE IF EXISTS ONLY app.events DETACH PARTITION app.events_2020 CONCURRENTLY"}) {
        auto r = scan_sql(sql);
        EXPECT_FALSE(r.needs_no_transaction.empty()) << sql;
        EXPECT_EQ(tx_mode(r), TxMode::no_transaction) << sql;
    }
    for (const char* sql :
         {"CREATE INDEX i ON t(concurrently)", "SELECT 'CREATE INDEX CONCURRENTLY'", "-- VACUUM\nSELECT 1",
          "CREATE TABLE vacuum_log (x int)", "REINDEX TABLE t", "REINDEX TABLE schema",
          "CLUSTER t USING t_pkey", "ALTER TABLE events DETACH PARTITION events_2020",
          "ALTER TABLE t ADD COLUMN concurrently int"}) {
        EXPECT_TRUE(scan_sql(sql).needs_no_transaction.empty()) << sql;
    }
}

TEST(Scanner, HonoursNoTransactionMarkers) {
    EXPECT_TRUE(scan_sql("-- steward:no-transaction\nCREATE TABLE t (x int);").marked_no_transaction);
    EXPECT_TRUE(scan_sql("--morph:nontransactional\nSELECT 1;").marked_no_transaction);
    EXPECT_FALSE(scan_sql("SELECT 1;\n-- steward:no-transaction\n").marked_no_transaction);
    EXPECT_FALSE(scan_sql("-- steward:no-transactions\nSELECT 1;").marked_no_transaction);
}

TEST(Scanner, DetectsOwnTransactionControl) {
    auto r = scan_sql("BEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\n");
    EXPECT_TRUE(r.own_transaction);
    EXPECT_EQ(tx_mode(r), TxMode::as_written);
    EXPECT_TRUE(scan_sql("START TRANSACTION; SELECT 1; END;").own_transaction);
    EXPECT_FALSE(scan_sql("DO $$ BEGIN NULL; END $$;").own_transaction);
    EXPECT_FALSE(scan_sql("SELECT 'BEGIN;'").own_transaction);
    auto sp = scan_sql("SAVEPOINT a; INSERT INTO t VALUES (1); ROLLBACK TO SAVEPOINT a; RELEASE a;");
    EXPECT_FALSE(sp.own_transaction);
    EXPECT_EQ(tx_mode(sp), TxMode::transaction);
    EXPECT_EQ(tx_mode(scan_sql("COMMIT PREPARED 'x';")), TxMode::no_transaction);
}

TEST(Scanner, PositionsCountLinesAndCharacters) {
    std::string text = "ab\ncd\u00e9f\n";
    EXPECT_EQ(position_of(text, 0).line, 1);
    EXPECT_EQ(position_of(text, 3).line, 2);
    EXPECT_EQ(position_of(text, 3).column, 1);
    auto p = position_of(text, text.find('f'));
    EXPECT_EQ(p.line, 2);
    EXPECT_EQ(p.column, 4);  // c d é f: é is one character of two bytes
}

TEST(Scanner, CharacterPositionsBecomeByteOffsets) {
    std::string text = "\u00e9\u00e9X";
    EXPECT_EQ(byte_offset_of_char(text, 1), 0u);
    EXPECT_EQ(byte_offset_of_char(text, 3), 4u);
    EXPECT_EQ(byte_offset_of_char(text, 99), text.size());
}

TEST(Scanner, RuleActionsInParenthesesStayTogether) {
    auto t = texts(
        "CREATE RULE r AS ON INSERT TO t DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)); "
        "SELECT 1;");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1], "SELECT 1;");
}

TEST(Scanner, EveryPrefixOfTrickyTextScansWithinBounds) {
    const std::string sql =
        "-- c\nSELECT E'\\'', 'a''b', \"x\"\"y\", $$;$$, $t$ $$ $t$, $1 /* /* n */ */;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\xC3\xA9";
    for (std::size_t n = 0; n <= sql.size(); ++n) {
        const std::string_view prefix(sql.data(), n);
        for (const auto& st : scan_sql(prefix).statements) {
            EXPECT_LE(st.begin, st.end);
            EXPECT_LE(st.end, n);
        }
        EXPECT_LE(byte_offset_of_char(prefix, static_cast<long>(n)), n);
        EXPECT_GE(position_of(prefix, n).line, 1);
    }
}
