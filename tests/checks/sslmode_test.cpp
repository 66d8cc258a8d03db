// database.sslmode judges the address libpq really connects to: hostaddr wins over host, entry by entry.
#include <gtest/gtest.h>

#include "checks/gate.hpp"
#include "tests/checks/fixtures.hpp"

namespace steward::checks::test {
namespace {

std::vector<Finding> sslmode_findings(const std::string& url, std::optional<std::string> pghost = {},
                                      std::optional<std::string> pghostaddr = {}) {
    World w = good_world(Environment::production);
    w.spec.database.url = url;
    w.facts.pghost = std::move(pghost);
    w.facts.pghostaddr = std::move(pghostaddr);
    std::vector<Finding> out;
    for (auto& f : w.run())
        if (f.id == "database.sslmode") out.push_back(f);
    return out;
}

TEST(Sslmode, HostaddrOfARemoteServerBehindALocalHostName) {
    // The review's bypass: libpq connects to 203.0.113.7, "localhost" only names it.
    auto f = sslmode_findings("postgresql://app@localhost/chat?hostaddr=203.0.113.7&sslmode=disable");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].severity, Severity::error);
    EXPECT_NE(f[0].message.find("203.0.113.7"), std::string::npos) << f[0].message;
    EXPECT_EQ(sslmode_findings("host=localhost hostaddr=203.0.113.7 dbname=chat sslmode=prefer").size(), 1u);
    EXPECT_EQ(sslmode_findings("postgresql://app@127.0.0.1/chat?hostaddr=2001:db8::7").size(), 1u);
}

TEST(Sslmode, EveryEntryOfAHostaddrListCounts) {
    auto f = sslmode_findings(
        "host=localhost,localhost hostaddr=127.0.0.1,203.0.113.7 dbname=chat sslmode=disable");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_NE(f[0].message.find("203.0.113.7"), std::string::npos) << f[0].message;
    // An empty hostaddr entry falls back to that entry's host name.
    EXPECT_EQ(
        sslmode_findings("host=127.0.0.1,db.internal hostaddr=127.0.0.1, dbname=chat sslmode=disable").size(),
        1u);
}

TEST(Sslmode, LoopbackHostaddrIsLocalWhateverTheHostName) {
    // An SSH tunnel: the certificate name is db.internal, the connection goes to 127.0.0.1.
    EXPECT_TRUE(
        sslmode_findings("postgresql://app@db.internal/chat?hostaddr=127.0.0.1&sslmode=disable").empty());
    EXPECT_TRUE(sslmode_findings("host=a,b hostaddr=127.0.0.1,::1 dbname=chat sslmode=disable").empty());
}

TEST(Sslmode, PghostaddrFromTheEnvironmentCounts) {
    EXPECT_EQ(sslmode_findings("postgresql:///chat?user=app", std::nullopt, "203.0.113.7").size(), 1u);
    EXPECT_EQ(sslmode_findings("postgresql:///chat?user=app", "localhost", "203.0.113.7").size(), 1u);
    EXPECT_TRUE(sslmode_findings("postgresql:///chat?user=app", "db.internal", "127.0.0.1").empty());
    // The URL's own hostaddr wins over the environment's.
    EXPECT_TRUE(
        sslmode_findings("postgresql://app@localhost/chat?hostaddr=127.0.0.1", std::nullopt, "203.0.113.7")
            .empty());
}

}  // namespace
}  // namespace steward::checks::test
