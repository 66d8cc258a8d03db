// Connection strings: parsing, loopback detection, redaction (a property test across URL shapes), lock keys.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cctype>
#include <cstdio>
#include <random>

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
    // Unencoded '@' or '/' in a password: libpq splits it into other fields, so nothing is printed.
    EXPECT_EQ(redact_url("postgresql://app:p@ss/w0rd@db/chat"), "postgresql://***");
    EXPECT_EQ(redact_url("postgresql://db:5432/chat"), "postgresql://db:5432/chat");
    EXPECT_EQ(redact_url("postgresql://db/chat?user=a&password=s3cret&sslmode=require"),
              "postgresql://a:***@db/chat?sslmode=require");
    EXPECT_EQ(redact_url("host=db password=s3cret"), "password=*** host=db");
    // The shapes the review found: '?' in the password, password= twice, sslpassword.
    EXPECT_EQ(redact_url("postgresql://app:pa?ss1234@db/chat"), "postgresql://app:***@db/chat");
    EXPECT_EQ(redact_url("postgresql://app@db/chat?password=first111&password=second22"),
              "postgresql://app:***@db/chat");
    EXPECT_EQ(redact_url("postgresql://app@db/chat?sslpassword=keypass9"),
              "postgresql://app@db/chat?sslpassword=***");
    EXPECT_EQ(redact_url("postgresql://app:pw@[::1]:5432,h2:5433/chat"),
              "postgresql://app:***@[::1]:5432,h2:5433/chat");
    EXPECT_EQ(redact_url("postgresql://app:pw@%2Fvar%2Frun/chat"),
              "postgresql://app:***@/chat?host=%2Fvar%2Frun");
    // Not parseable: nothing after the scheme.
    EXPECT_EQ(redact_url("postgresql://app:S3cr%ZZet@db/chat"), "postgresql://***");
    EXPECT_EQ(redact_url("host=db password='unterminated"), "***");
    EXPECT_EQ(redact_url(""), "");
}

namespace {

// Every run of `n` characters of `secret` (and of its percent-encoded form) that shows in `text`.
std::string leaked_fragment(const std::string& text, const std::string& secret, std::size_t n = 6) {
    std::string encoded;
    for (unsigned char c : secret) {
        if (std::isalnum(c)) {
            encoded += static_cast<char>(c);
        } else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", c);
            encoded += b;
        }
    }
    for (const std::string* s : {&secret, static_cast<const std::string*>(&encoded)})
        for (std::size_t i = 0; s->size() >= n && i + n <= s->size(); ++i)
            if (text.find(s->substr(i, n)) != std::string::npos) return s->substr(i, n);
    return {};
}

std::string encode_all(const std::string& v) {
    std::string out;
    for (unsigned char c : v) {
        char b[4];
        std::snprintf(b, sizeof b, "%%%02X", c);
        out += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : std::string(b);
    }
    return out;
}

std::string kv_quote(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

}  // namespace

// The rule, across shapes: whatever the password holds and however the string is written, neither
// redact_url nor scrub_error (on libpq's own messages about it) prints a piece of it.
TEST(PgUrl, NoPasswordPieceSurvivesInAnyShape) {
    std::mt19937 rng(20261201);  // fixed: a failure is reproducible
    const std::string specials = ":/?#[]@!$&'()*+,;=% \"\\<>{}|^`~";
    const std::string plain = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // no lowercase: the rest of the URL is
    int checked = 0;
    for (int round = 0; round < 300; ++round) {
        std::string pw;
        std::size_t len = 10 + rng() % 15;
        for (std::size_t i = 0; i < len; ++i)
            pw += rng() % 3 == 0 ? specials[rng() % specials.size()] : plain[rng() % plain.size()];
        std::string other = "SECOND" + std::to_string(rng() % 100000) + "PW";
        std::vector<std::string> shapes{
            "postgresql://app:" + pw + "@db.example.com:5432/chat?sslmode=require",
            "postgresql://app:" + encode_all(pw) + "@db.example.com:5432/chat?sslmode=require",
            "postgres://app:" + pw + "@db.example.com/chat",
            "postgresql://app@db.example.com/chat?password=" + pw,
            "postgresql://app@db.example.com/chat?password=" + encode_all(pw) + "&sslmode=require",
            "postgresql://app@db.example.com/chat?password=" + other + "&password=" + encode_all(pw),
            "postgresql://app@db.example.com/chat?password=" + encode_all(pw) + "&password=" + other,
            "postgresql://app:" + encode_all(other) + "@db.example.com/chat?sslpassword=" + encode_all(pw),
            "postgresql://app:" + pw + "@h1.example.com:5432,h2.example.com:5433/chat",
            "host=db.example.com user=app password=" + kv_quote(pw) + " dbname=chat",
            "host=db.example.com user=app password=" + pw + " dbname=chat",
            "host=db.example.com password=" + kv_quote(other) + " sslpassword=" + kv_quote(pw),
        };
        for (const auto& url : shapes) {
            auto shown = redact_url(url);
            for (const auto& secret : {pw, other}) {
                ASSERT_EQ(leaked_fragment(shown, secret), "") << "redact_url(" << url << ") = " << shown;
            }
            // libpq's own complaints: its parse error, or any parsed field quoted back (a host name it
            // cannot resolve, a port it cannot read).
            char* err = nullptr;
            PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
            std::string message = err ? err : "";
            if (err) PQfreemem(err);
            if (opts) {
                for (auto* o = opts; o->keyword; ++o)
                    if (o->val)
                        message +=
                            std::string(" could not translate host name \"") + o->val + "\" to address;";
                PQconninfoFree(opts);
            }
            auto scrubbed = scrub_error(url, message);
            for (const auto& secret : {pw, other})
                ASSERT_EQ(leaked_fragment(scrubbed, secret), "") << url << "\n"
                                                                 << message << "\n"
                                                                 << scrubbed;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 300 * 12);
}

// A URL libpq reads as written: only the password itself goes, so libpq's message stays readable even when
// the password holds ordinary words. A malformed one: every run of 4 characters shared with it goes.
TEST(PgUrl, ScrubbingIsExactForWellFormedUrlsAndThoroughForMalformedOnes) {
    const std::string msg = "FATAL:  password authentication failed for user \"app\"";
    EXPECT_EQ(scrub_error("postgresql://app:my-password-is-long@db/x", msg), msg);
    EXPECT_EQ(scrub_error("postgresql://app:my-password-is-long@db/x", "echo my-password-is-long"), "echo ***");
    EXPECT_EQ(scrub_error("host=db user=app password=my-password-is-long", msg), msg);
    EXPECT_EQ(scrub_error("postgresql://app:my%2Dpassword@db/x", "got my-password and my%2Dpassword"),
              "got *** and ***");
    // An unencoded '@' splits it: libpq tries to resolve a piece of it as a host.
    EXPECT_EQ(scrub_error("postgresql://app:pa@ss-word-tail@db/x",
                          "could not translate host name \"ss-word-tail\" to address: word"),
              "could not translate host name \"***\" to address: ***");
}

TEST(PgUrl, LockKeysAreStableAndDistinct) {
    EXPECT_EQ(migration_lock_key("chat", "steward_migrations"),
              migration_lock_key("chat", "steward_migrations"));
    EXPECT_NE(migration_lock_key("chat", "steward_migrations"),
              migration_lock_key("chat2", "steward_migrations"));
    EXPECT_NE(migration_lock_key("chat", "a"), migration_lock_key("chat", "b"));
    // A schema-qualified name and the bare one may be the same table: they must share the lock.
    EXPECT_EQ(migration_lock_key("chat", "public.steward_migrations"),
              migration_lock_key("chat", "steward_migrations"));
    EXPECT_NE(migration_lock_key("chat", "steward_migrations"), backup_lock_key("chat"));
}

TEST(PgUrl, QuotesIdentifiers) { EXPECT_EQ(quote_ident("we\"ird"), "\"we\"\"ird\""); }
