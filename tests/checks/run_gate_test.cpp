// steward run refuses to start on a failing gate before touching anything; no output ever shows a secret.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/checks/cli_support.hpp"
#include "tests/support/pg_cluster.hpp"

namespace steward::checks::test {
namespace {

using ::steward::test::cluster;
using ::steward::test::run_steward;

// A TCP listener on loopback that only counts: a connection attempt shows up as a readable socket.
class Listener {
  public:
    Listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
            throw std::runtime_error("cannot listen on 127.0.0.1");
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~Listener() { ::close(fd_); }
    int port() const { return port_; }
    // Connections already queued (the client has exited, so anything it did is here by now).
    bool connection_arrived() const {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
    }

  private:
    int fd_ = -1;
    int port_ = 0;
};

TEST(RunGate, FailingGateExitsOneAndStartsNothing) {
    Listener db;
    ::steward::test::TempDir scratch("steward-gate-marker");
    auto marker = scratch / "service-started";
    SpecText t;
    t.database_url = "postgresql://app:" + std::string(kStrongDbPassword) +
                     "@127.0.0.1:" + std::to_string(db.port()) + "/chat";
    t.security = "{ require_auth: false, base_url: https://chat.example.com, rate_limit_per_minute: 60 }";
    t.service_command = "[/bin/sh, -c, \"touch " + marker.string() + "\"]";
    Deployment d(t);
    auto r = run_steward({"run", "--spec", d.spec.string()}, d.env, std::chrono::seconds(60));
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("security.auth_disabled"), std::string::npos)
        << "every finding is logged: " << r.err;
    EXPECT_NE(r.err.find("startup refused"), std::string::npos) << r.err;
    EXPECT_FALSE(db.connection_arrived()) << "steward connected to the database before the gate passed";
    EXPECT_FALSE(std::filesystem::exists(marker)) << "a service was started before the gate passed";
}

TEST(RunGate, LogsWarningsTooAndGoesOnToTheDatabase) {
    Listener db;  // accepts connections but speaks no PostgreSQL: the migrations step fails after it
    SpecText t;
    t.environment = "development";
    t.database_url = "postgresql://app:" + std::string(kStrongDbPassword) +
                     "@127.0.0.1:" + std::to_string(db.port()) + "/chat";
    t.security = "{ require_auth: false }";
    Deployment d(t);
    auto r = run_steward({"run", "--spec", d.spec.string()}, d.env, std::chrono::seconds(60));
    EXPECT_EQ(r.status, 1) << "gate passes, the migrations step cannot talk to the listener: " << r.err;
    EXPECT_NE(r.err.find("security.auth_disabled"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("gate passed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("startup failed"), std::string::npos) << r.err;
    EXPECT_TRUE(db.connection_arrived()) << "after a passing gate, steward goes on to the database";
}

TEST(RunGate, FailingGateStartsNoEmbeddedPostgres) {
    ::steward::test::TempDir scratch("steward-gate-pg");
    auto data = scratch / "pg";
    SpecText t;
    t.database_url = "";
    t.extra = "";
    Deployment d(t);
    // database.embedded in production is an error: steward must refuse before initdb runs.
    std::string yaml = render(t);
    auto at = yaml.find("  url: \"\"\n");
    ASSERT_NE(at, std::string::npos);
    yaml.replace(
        at, std::string("  url: \"\"\n").size(),
        "  embedded: { dir: " + data.string() + ", port: " + std::to_string(free_loopback_port()) + " }\n");
    d.dir.write("steward.yaml", yaml);
    auto r = run_steward({"run", "--spec", d.spec.string()}, d.env, std::chrono::seconds(60));
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("database.embedded_in_production"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(data)) << "initdb ran before the gate passed";
}

TEST(RunGate, InvalidSpecExitsTwo) {
    ::steward::test::TempDir dir("steward-gate");
    auto spec = dir.write("steward.yaml", "version: 1\nname: chat\n");
    auto r = run_steward({"run", "--spec", spec.string()});
    EXPECT_EQ(r.status, 2) << r.err;
}

// Canary values: weak on purpose so that rules fire about them, unique so any leak is found.
constexpr const char* kCanaryJwt = "CanaryJwt4711QxZ";
constexpr const char* kCanaryAdmin = "CanaryAdm0815Pq";
constexpr const char* kCanaryInline = "CanaryInline99Zk";
constexpr const char* kCanaryDb = "CanaryDbPw42";

void expect_no_canary(const ::steward::test::StewardRun& r, const std::string& what) {
    for (const char* canary : {kCanaryJwt, kCanaryAdmin, kCanaryInline, kCanaryDb}) {
        EXPECT_EQ(r.out.find(canary), std::string::npos) << what << " stdout shows " << canary << ":\n"
                                                         << r.out;
        EXPECT_EQ(r.err.find(canary), std::string::npos) << what << " stderr shows " << canary << ":\n"
                                                         << r.err;
    }
}

TEST(Canary, NoSecretValueInAnyOutput) {
    for (bool reachable : {true, false}) {
        SpecText t;
        int port = reachable ? cluster().port() : free_loopback_port();
        t.database_url = "postgresql://postgres:" + std::string(kCanaryDb) +
                         "@127.0.0.1:" + std::to_string(port) + "/postgres";
        t.extra_secrets = "  inline_key: { value: " + std::string(kCanaryInline) +
                          " }\n"
                          "  jwt_copy: { env: GATE_TEST_JWT_COPY }\n";
        Deployment d(t, kCanaryAdmin);
        d.env = {{"GATE_TEST_JWT", kCanaryJwt}, {"GATE_TEST_JWT_COPY", kCanaryJwt}};
        for (const auto& args : std::vector<std::vector<std::string>>{{},
                                                                      {"--json"},
                                                                      {"--connect"},
                                                                      {"--connect", "--json"},
                                                                      {"--no-secrets"},
                                                                      {"--log-level", "debug"}}) {
            auto r = d.check(args);
            std::string what = "check";
            for (const auto& a : args) what += " " + a;
            EXPECT_EQ(r.status, 1) << what << r.out << r.err;
            if (args == std::vector<std::string>{"--json"}) {
                // The rules did look at the canaries: findings about them exist, without their values.
                auto ids = finding_ids(parse_json(r.out));
                for (const char* id :
                     {"secret.too_short", "secret.reused", "secret.inline_value", "database.weak_password"})
                    EXPECT_TRUE(has(ids, id)) << id << " in " << r.out;
            }
            expect_no_canary(r, what + (reachable ? " (database up)" : " (database down)"));
        }
        auto r = run_steward({"run", "--spec", d.spec.string(), "--log-level", "debug"}, d.env);
        EXPECT_EQ(r.status, 1) << r.err;
        expect_no_canary(r, "run");
        r = run_steward({"run", "--spec", d.spec.string(), "--log-format", "json"}, d.env);
        expect_no_canary(r, "run --log-format json");
    }
}

// libpq quotes the part of a URL it cannot parse, and an unencoded '/' or '@' splits a password into
// host, port and database name: the gate reports such URLs without showing any of it, and never connects.
TEST(Canary, UnparseableDatabaseUrlShowsNoPieceOfThePassword) {
    for (const std::string& url :
         {std::string("postgresql://app:") + kCanaryDb + "%ZZ@db.internal/chat?sslmode=require",
          std::string("postgresql://app:") + kCanaryDb + "/x@db.internal/chat?sslmode=require",
          std::string("postgresql://app:") + kCanaryDb + "@x@db.internal/chat?sslmode=require"}) {
        SpecText t;
        t.database_url = url;
        Deployment d(t);
        for (const auto& args :
             std::vector<std::vector<std::string>>{{}, {"--json"}, {"--connect", "--json"}}) {
            auto r = d.check(args);
            EXPECT_EQ(r.status, 1) << url << r.out << r.err;
            EXPECT_NE(r.out.find("database.url_invalid"), std::string::npos) << r.out;
            expect_no_canary(r, "check with " + url);
        }
        auto r = run_steward({"run", "--spec", d.spec.string()}, d.env);
        EXPECT_EQ(r.status, 1) << r.err;
        expect_no_canary(r, "run with " + url);
    }
}

}  // namespace
}  // namespace steward::checks::test
