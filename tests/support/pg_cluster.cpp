// One real PostgreSQL 15 per test binary, started lazily and stopped at exit.
#include "tests/support/pg_cluster.hpp"

#include <fmt/format.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>

#include "core/pg.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {
namespace {

struct Cluster {
    TempDir dir{"steward-pg"};
    std::unique_ptr<EmbeddedPostgres> pg;
};

Cluster* the_cluster = nullptr;

void stop_cluster() {
    delete the_cluster;  // stops the server, then removes its folder
    the_cluster = nullptr;
}

Cluster& instance() {
    static std::once_flag once;
    std::call_once(once, [] {
        auto* cl = new Cluster();
        EmbeddedPostgres::Options o;
        o.dir = cl->dir.path() / "data";
        o.port = free_loopback_port();
        o.durable = false;
        cl->pg = std::make_unique<EmbeddedPostgres>(o);
        cl->pg->start();
        the_cluster = cl;
        std::atexit(stop_cluster);
    });
    return *the_cluster;
}

}  // namespace

EmbeddedPostgres& cluster() { return *instance().pg; }

std::string cluster_url(const std::string& database) { return cluster().url(database); }

std::string fresh_database(const std::string& prefix) {
    static std::atomic<int> counter{0};
    std::string name = fmt::format("{}_{}_{}", prefix, ::getpid(), counter++);
    auto c = pg::connect(cluster_url());
    pqxx::nontransaction tx(*c);
    tx.exec("CREATE DATABASE " + pg::quote_ident(name));
    return cluster_url(name);
}

std::string database_name(const std::string& url) { return url.substr(url.rfind('/') + 1); }

std::string query_value(const std::string& url, const std::string& sql) {
    auto c = pg::connect(url);
    pqxx::nontransaction tx(*c);
    auto r = tx.exec(sql);
    if (r.empty() || r[0].empty() || r[0][0].is_null()) return "";
    return r[0][0].c_str();
}

}  // namespace steward::test
