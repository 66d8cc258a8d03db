// The steward_backups catalog table: every steward of a deployment reports the same backups.
#include "backup/catalog.hpp"

#include <unistd.h>

#include <pqxx/pqxx>

namespace steward::backup {

std::string host_name() {
    char b[256] = {};
    if (::gethostname(b, sizeof b - 1) != 0) return "unknown";
    return b;
}

void ensure_catalog(pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS steward_backups ("
        " id text PRIMARY KEY,"
        " database text NOT NULL,"
        " host text NOT NULL,"
        " status text NOT NULL,"  // published | failed | verify_failed | pruned
        " started_at timestamptz,"
        " finished_at timestamptz,"
        " duration_seconds double precision,"
        " bytes bigint,"
        " verified text,"
        " error text,"
        " offsite_ok boolean,"
        " offsite_at timestamptz,"
        " offsite_error text,"
        " pruned_at timestamptz)");
}

void record_published(pqxx::connection& c, const BackupManifest& m, std::uint64_t bytes) {
    ensure_catalog(c);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO steward_backups (id, database, host, status, started_at, finished_at, duration_seconds, "
        "bytes, verified)"
        " VALUES ($1, $2, $3, 'published', $4::timestamptz, $5::timestamptz, $6, $7, $8)"
        " ON CONFLICT (id) DO UPDATE SET status = 'published', finished_at = EXCLUDED.finished_at,"
        " duration_seconds = EXCLUDED.duration_seconds, bytes = EXCLUDED.bytes, verified = EXCLUDED.verified",
        m.id, m.database, m.host, m.started, m.finished, m.duration_seconds, static_cast<std::int64_t>(bytes),
        m.verification.level);
    tx.commit();
}

void record_failure(pqxx::connection& c, const std::string& id, const std::string& database,
                    const std::string& started, double duration_seconds, const std::string& status,
                    const std::string& error) {
    ensure_catalog(c);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO steward_backups (id, database, host, status, started_at, finished_at, duration_seconds, "
        "error)"
        " VALUES ($1, $2, $3, $4, $5::timestamptz, now(), $6, $7) ON CONFLICT (id) DO UPDATE SET status = "
        "EXCLUDED.status,"
        " error = EXCLUDED.error",
        id, database, host_name(), status, started, duration_seconds, error);
    tx.commit();
}

void record_offsite(pqxx::connection& c, const std::string& id, bool ok, const std::string& error) {
    pqxx::work tx(c);
    tx.exec_params(
        "UPDATE steward_backups SET offsite_ok = $2, offsite_at = now(), offsite_error = $3 WHERE id = $1",
        id, ok, error);
    tx.commit();
}

void record_pruned(pqxx::connection& c, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    ensure_catalog(c);
    pqxx::work tx(c);
    for (const auto& id : ids)
        tx.exec_params("UPDATE steward_backups SET status = 'pruned', pruned_at = now() WHERE id = $1", id);
    tx.commit();
}

BackupMetrics catalog_metrics(pqxx::connection& c, const std::string& database) {
    ensure_catalog(c);
    pqxx::nontransaction tx(c);
    auto r = tx.exec_params(
        "SELECT"
        " (SELECT extract(epoch FROM finished_at)::float8 FROM steward_backups WHERE database = $1 AND "
        "status IN ('published','pruned') ORDER BY finished_at DESC LIMIT 1),"
        " (SELECT duration_seconds FROM steward_backups WHERE database = $1 AND status IN "
        "('published','pruned') ORDER BY finished_at DESC LIMIT 1),"
        " (SELECT bytes::float8 FROM steward_backups WHERE database = $1 AND status IN "
        "('published','pruned') ORDER BY finished_at DESC LIMIT 1),"
        " (SELECT count(*) FROM steward_backups WHERE database = $1 AND status IN "
        "('failed','verify_failed')),"
        " (SELECT count(*) FROM steward_backups WHERE database = $1 AND status = 'published'),"
        " (SELECT extract(epoch FROM now() - max(finished_at))::float8 FROM steward_backups WHERE database = "
        "$1 AND status = 'published'),"
        " (SELECT extract(epoch FROM now() - min(finished_at))::float8 FROM steward_backups WHERE database = "
        "$1 AND status = 'published'),"
        " (SELECT extract(epoch FROM max(offsite_at))::float8 FROM steward_backups WHERE database = $1 AND "
        "offsite_ok)",
        database);
    BackupMetrics m;
    m.from_catalog = true;
    auto opt = [](const pqxx::field& f) -> std::optional<double> {
        if (f.is_null()) return std::nullopt;
        return f.as<double>();
    };
    const auto& row = r[0];
    m.last_success_timestamp = opt(row[0]);
    m.last_duration_seconds = opt(row[1]);
    m.last_size_bytes = opt(row[2]);
    m.failures_total = row[3].as<std::int64_t>();
    m.backup_count = row[4].as<std::int64_t>();
    m.newest_age_seconds = opt(row[5]);
    m.oldest_age_seconds = opt(row[6]);
    m.offsite_last_success_timestamp = opt(row[7]);
    return m;
}

}  // namespace steward::backup
