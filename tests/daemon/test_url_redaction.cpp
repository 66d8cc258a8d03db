// The rule, through the real binary: a database password never prints, whatever characters it holds and
// however the URL is written, on every command path that prints a target (text, --json, restore's
// "restored into" line, and the errors of malformed URLs).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <random>

#include "core/pg.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace steward::test;

namespace {

std::string percent_encoded(const std::string& v) {
    std::string out;
    for (unsigned char c : v) {
        char b[4];
        std::snprintf(b, sizeof b, "%%%02X", c);
        out += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : std::string(b);
    }
    return out;
}

// The first run of 6 characters of the password, as written or percent-encoded, that shows in `text`.
std::string leak(const std::string& text, const std::string& pw) {
    for (const auto& form : {pw, percent_encoded(pw)})
        for (std::size_t i = 0; i + 6 <= form.size(); ++i)
            if (text.find(form.substr(i, 6)) != std::string::npos) return form.substr(i, 6);
    return {};
}

std::string sql_literal(const std::string& v) {
    std::string out = "'";
    for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

std::string kv_literal(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

}  // namespace

TEST(UrlRedaction, NoCommandPrintsAPieceOfThePasswordInAnyUrlShape) {
    const std::string role = "redact_" + std::to_string(::getpid());
    query_value(cluster_url(), "CREATE ROLE " + role + " LOGIN SUPERUSER");
    auto src_url = fresh_database("redact_src");
    const std::string src = database_name(src_url);
    query_value(src_url, "CREATE TABLE notes (id int, body text); INSERT INTO notes VALUES (1, 'kept')");
    TempDir dir("steward-redact");
    dir.write("migrations/V1__t.sql", "CREATE TABLE t (x int);\n");
    const std::string port = std::to_string(cluster().port());
    const std::string specials = ":/?#[]@!$&'()*+,;=% \"\\<>{}|^`~";
    const std::string plain = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::mt19937 rng(1201);  // fixed: a failure is reproducible
    int successes = 0, runs = 0;
    for (int round = 0; round < 2; ++round) {
        std::string pw;
        for (int i = 0; i < 20; ++i)
            pw += i % 3 == 1 ? specials[rng() % specials.size()] : plain[rng() % plain.size()];
        query_value(cluster_url(), "ALTER ROLE " + role + " PASSWORD " + sql_literal(pw));
        // Every shape names database `db`: the working ones connect, the raw one is malformed as users write
        // it.
        std::vector<std::pair<std::string, std::function<std::string(const std::string&)>>> shapes{
            {"encoded",
             [&](const std::string& db) {
                 return "postgresql://" + role + ":" + percent_encoded(pw) + "@127.0.0.1:" + port + "/" + db;
             }},
            {"keyword",
             [&](const std::string& db) {
                 return "host=127.0.0.1 port=" + port + " user=" + role + " password=" + kv_literal(pw) +
                        " dbname=" + db;
             }},
            {"query",
             [&](const std::string& db) {
                 return "postgresql://" + role + "@127.0.0.1:" + port + "/" + db +
                        "?sslmode=disable&password=" + percent_encoded(pw);
             }},
            {"twice",
             [&](const std::string& db) {
                 return "postgres://" + role + "@127.0.0.1:" + port + "/" + db +
                        "?password=" + percent_encoded(pw) + "x&password=" + percent_encoded(pw);
             }},
            {"raw",
             [&](const std::string& db) {
                 return "postgresql://" + role + ":" + pw + "@127.0.0.1:" + port + "/" + db;
             }},
        };
        for (const auto& [shape, url_for] : shapes) {
            auto backups = dir / ("b-" + std::to_string(round) + "-" + shape);
            auto check = [&](const StewardRun& r, const std::string& what) {
                ++runs;
                EXPECT_EQ(leak(r.out + r.err, pw), "") << shape << " " << what << " shows the password:\n"
                                                       << r.out << r.err;
            };
            std::string url = url_for(src);
            auto common = [&](std::vector<std::string> args) {
                args.insert(args.end(), {"--database-url", url});
                return args;
            };
            check(
                run_steward(common({"--json", "migrate", "status", "--dir", (dir / "migrations").string()})),
                "migrate status --json");
            check(run_steward(common({"migrate", "status", "--dir", (dir / "migrations").string()})),
                  "migrate status");
            auto now = run_steward(common({"--json", "backup", "now", "--dir", backups.string()}));
            check(now, "backup now --json");
            check(run_steward(common({"backup", "now", "--dir", backups.string()})), "backup now");
            std::string id = "x-20260101T000000Z";
            boost::system::error_code ec;
            auto doc = boost::json::parse(now.out, ec);
            if (!ec && doc.is_object() && doc.as_object().contains("id") && doc.at("id").is_string())
                id = std::string(doc.at("id").as_string());
            check(run_steward(common(
                      {"--json", "backup", "verify", id, "--level", "restore", "--dir", backups.string()})),
                  "backup verify --level restore");
            for (bool json : {false, true}) {
                std::string target = database_name(fresh_database("redact_dst"));
                std::vector<std::string> args{"backup",         "restore",      id,
                                              "--yes",          "--dir",        backups.string(),
                                              "--database-url", url_for(target)};
                if (json) args.insert(args.begin(), "--json");
                auto r = run_steward(args);
                check(r, json ? "backup restore --json" : "backup restore");
                if (shape != "raw") {
                    EXPECT_EQ(r.status, 0) << shape << ": " << r.out << r.err;  // the success path ran
                    if (!json) {
                        EXPECT_NE(r.out.find(" restored into "), std::string::npos) << r.out;
                    }
                    successes += r.status == 0;
                }
            }
        }
    }
    EXPECT_EQ(successes, 2 * 4 * 2);
    EXPECT_EQ(runs, 2 * 5 * 7);
}
