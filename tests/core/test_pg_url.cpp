// Connection strings: parsing, loopback detection, redaction, lock keys.
#include <gtest/gtest.h>

#include "core/pg.hpp"

using namespace steward::pg;

TEST(PgUrl, ParsesUrisAndKeywordStrings) {
    auto i = parse_conninfo("postgresql://app:pw@db.internal:6543/chat?sslmode=require");
    EXPECT_EQ(i.host(), "db.internal");
    EXPECT_EQ(i.get("port"), "6543");
    EXPECT_EQ(i.get("user"), "app");
    EXPECT_EQ(i.get("password"), "pw");
    EXPECT_EQ(i.dbname(), "chat");
    EXPECT_EQ(i.get("sslmode"), "require");
    EXPECT_FALSE(i.is_loopback());
    auto k = parse_conninfo("host=127.0.0.1 user=postgres");
    EXPECT_TRUE(k.is_loopback());
    EXPECT_EQ(k.dbname(), "postgres");
    EXPECT_TRUE(parse_conninfo("postgresql:///x").is_loopback());
    EXPECT_TRUE(parse_conninfo("postgresql://localhost/x").is_loopback());
    EXPECT_FALSE(parse_conninfo("host=127.0.0.1,10.0.0.2").is_loopback());
    EXPECT_THROW(parse_conninfo("postgresql://a:b@host:notaport/x?bogus=1"), std::invalid_argument);
    try {
        parse_conninfo("postgresql://app:S3cr%ZZetPw@db/x");
        FAIL() << "a bad percent-encoding must not parse";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).find("ZZetPw"), std::string::npos) << e.what();
    }
}

TEST(PgUrl, ToConninfoRoundTripsWithOverrides) {
    auto i = parse_conninfo("postgresql://app:p'w@db/chat");
    auto s = to_conninfo(i, {{"dbname", "other"}});
    auto j = parse_conninfo(s);
    EXPECT_EQ(j.get("password"), "p'w");
    EXPECT_EQ(j.dbname(), "other");
}

TEST(PgUrl, RedactsPasswords) {
    EXPECT_EQ(redact_url("postgresql://app:s3cret@db:5432/chat"), "postgresql://app:***@db:5432/chat");
    EXPECT_EQ(redact_url("postgres://app@db/chat"), "postgres://app@db/chat");
    // Unencoded '@' or '/' in a password: nothing of it remains.
    EXPECT_EQ(redact_url("postgresql://app:p@ss/w0rd@db/chat"), "postgresql://app:***@db/chat");
    EXPECT_EQ(redact_url("postgresql://db:5432/chat"), "postgresql://db:5432/chat");
    EXPECT_EQ(redact_url("postgresql://db/chat?user=a&password=s3cret&sslmode=require"),
              "postgresql://db/chat?user=a&password=***&sslmode=require");
    EXPECT_EQ(redact_url("host=db password=s3cret"), "host=db password=***");
}

TEST(PgUrl, LockKeysAreStableAndDistinct) {
    EXPECT_EQ(migration_lock_key("chat", "steward_migrations"),
              migration_lock_key("chat", "steward_migrations"));
    EXPECT_NE(migration_lock_key("chat", "steward_migrations"),
              migration_lock_key("chat2", "steward_migrations"));
    EXPECT_NE(migration_lock_key("chat", "a"), migration_lock_key("chat", "b"));
    // A schema-qualified name and the bare one may be the same table: they must share the lock.
    EXPECT_EQ(migration_lock_key("chat", "public.steward_migrations"), migration_lock_key("chat", "steward_migrations"));
    EXPECT_NE(migration_lock_key("chat", "steward_migrations"), backup_lock_key("chat"));
}

TEST(PgUrl, QuotesIdentifiers) { EXPECT_EQ(quote_ident("we\"ird"), "\"we\"\"ird\""); }
