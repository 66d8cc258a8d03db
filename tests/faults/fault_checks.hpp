// What every fault case checks afterwards: no child of the killed steward alive, advisory locks free, and
// a schema fingerprint to compare against a clean run's.
#pragma once

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "tests/support/daemon_process.hpp"
#include "tests/support/pg_cluster.hpp"

namespace steward::test {

// Advisory locks held in `url`'s database by any session (steward's backup and migration locks).
inline int advisory_locks(const std::string& url) {
    return std::stoi(
        query_value(cluster_url(),
                    "SELECT count(*)::text FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND d.datname = '" +
                        database_name(url) + "'"));
}

// Sessions steward's tools opened on `url`'s database (pg_dump, pg_restore, psql, steward itself).
inline int sessions_on(const std::string& url) {
    return std::stoi(
        query_value(cluster_url(), "SELECT count(*)::text FROM pg_stat_activity WHERE datname = '" +
                                       database_name(url) + "' AND pid <> pg_backend_pid()"));
}

// Every process in `pids` has exited (zombies count as gone: PID 1 reaps them late here).
inline bool all_gone(const std::vector<pid_t>& pids) {
    for (pid_t p : pids)
        if (process_alive(p)) return false;
    return true;
}

// Tables, columns, indexes (with validity), constraints and the migration history of the public schema.
inline std::string schema_fingerprint(const std::string& url) {
    return query_value(
        url,
        "SELECT coalesce((SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER "
        "BY "
        "table_name, column_name) FROM information_schema.columns WHERE table_schema = 'public'), '') || ' | "
        "' || "
        "coalesce((SELECT string_agg(c.relname || ':' || i.indisvalid, ',' ORDER BY c.relname) FROM pg_index "
        "i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
        "n.nspname "
        "= 'public'), '') || ' | ' || coalesce((SELECT string_agg(conname, ',' ORDER BY conname) FROM "
        "pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'), '')");
}

// Kill points spread over [0, span): seeded, so a failing run can be repeated.
inline std::vector<std::chrono::milliseconds> kill_points(int count, std::chrono::milliseconds span,
                                                          unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<long> pick(0, std::max<long>(1, span.count()));
    std::vector<std::chrono::milliseconds> out;
    for (int i = 0; i < count; ++i) out.emplace_back(pick(rng));
    return out;
}

}  // namespace steward::test
