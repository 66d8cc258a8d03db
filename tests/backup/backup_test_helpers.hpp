// Helpers shared by the backup integration tests: running steward backup commands and fingerprinting data.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "core/pg.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"

namespace steward::test::backup_helpers {

namespace fs = std::filesystem;
namespace json = boost::json;

inline json::object parse_json(const std::string& out) {
    boost::system::error_code ec;
    auto v = json::parse(out, ec);
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << out;
        return {};
    }
    return v.as_object();
}

inline StewardRun backup_now(const fs::path& dir, const std::string& url,
                             std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"backup", "now", "--json", "--dir", dir.string(), "--database-url", url};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_steward(args);
}

inline std::vector<std::string> listed(const fs::path& dir) {
    auto r = run_steward({"backup", "list", "--json", "--dir", dir.string()});
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<std::string> ids;
    auto doc = parse_json(r.out);
    if (auto* b = doc.if_contains("backups"))
        for (const auto& e : b->as_array()) ids.emplace_back(e.as_object().at("id").as_string());
    return ids;
}

inline std::vector<std::string> entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

inline bool has_suffix(const std::vector<std::string>& names, const std::string& suffix) {
    for (const auto& n : names)
        if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
            return true;
    return false;
}

inline void seed_app(const std::string& url) {
    query_value(
        url,
        "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL, email text UNIQUE, meta jsonb, "
        "avatar bytea, created timestamptz DEFAULT now());"
        "CREATE TABLE messages (id bigserial PRIMARY KEY, user_id bigint REFERENCES users(id), body text, "
        "sent_at timestamptz);"
        "CREATE SCHEMA audit; CREATE TABLE audit.events (id int, payload text);"
        "INSERT INTO users (name, email, meta, avatar) SELECT 'user ' || g, 'u' || g || '@example.com', "
        "jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)), decode(md5(g::text), 'hex') "
        "FROM generate_series(1, 2000) g;"
        "INSERT INTO messages (user_id, body, sent_at) SELECT 1 + g % 2000, repeat('héllo ', g % 17) || g, "
        "'2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20000) g;"
        "INSERT INTO audit.events SELECT g, md5(g::text) FROM generate_series(1, 500) g;");
}

// "count|md5" of every table, in a stable order.
inline std::map<std::string, std::string> fingerprint(const std::string& url) {
    std::map<std::string, std::string> out;
    auto c = pg::connect(url);
    pqxx::work tx(*c);
    auto tables = tx.exec(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
        "c.relkind = 'r' "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relname <> 'steward_backups'");
    for (const auto& t : tables) {
        std::string q = pg::quote_ident(t[0].c_str()) + "." + pg::quote_ident(t[1].c_str());
        auto r = tx.exec(
            "SELECT count(*)::text || '|' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') "
            "FROM " +
            q + " x");
        out[q] = r[0][0].c_str();
    }
    return out;
}

// Polls `cond` until it holds or `limit` passes.
template <typename F>
inline bool eventually(F cond, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
}

}  // namespace steward::test::backup_helpers
