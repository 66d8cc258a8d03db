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
    // Drill results live here, not in the manifests: those are authenticated and written once.
    tx.exec(
        "CREATE TABLE IF NOT EXISTS steward_backup_drills ("
        " id bigserial PRIMARY KEY,"
        " backup_id text NOT NULL,"
        " database text NOT NULL,"
        " host text NOT NULL,"
        " ok boolean NOT NULL,"
        " duration_seconds double precision,"
        " error text,"
        " at timestamptz NOT NULL DEFAULT now())");
}

void record_started(pqxx::connection& c, const BackupManifest& m) {
    ensure_catalog(c);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO steward_backups (id, database, host, status, started_at) VALUES ($1, $2, $3, 'running', "
        "$4::timestamptz) ON CONFLICT (id) DO NOTHING",
        m.id, m.database, m.host, m.started);
    tx.commit();
}

void mark_interrupted(pqxx::connection& c, const std::string& database) {
    ensure_catalog(c);
    pqxx::work tx(c);
    tx.exec_params(
        "UPDATE steward_backups SET status = 'failed', finished_at = now(),"
        " error = 'interrupted: the steward running it stopped' WHERE database = $1 AND status = 'running'",
        database);
    tx.commit();
}

std::optional<SlotTaken> slot_taken(pqxx::connection& c, const std::string& database,
                                    const std::string& slot) {
    ensure_catalog(c);
    pqxx::nontransaction tx(c);
    auto r = tx.exec_params(
        "SELECT id, host, status FROM steward_backups WHERE database = $1 AND started_at >= $2::timestamptz"
        " AND status IN ('published', 'running') ORDER BY started_at LIMIT 1",
        database, slot);
    if (r.empty()) return std::nullopt;
    return SlotTaken{r[0][0].c_str(), r[0][1].c_str(), r[0][2].c_str()};
}

std::optional<std::string> running_host(pqxx::connection& c, const std::string& database) {
    pqxx::nontransaction tx(c);
    auto exists = tx.exec("SELECT to_regclass('steward_backups') IS NOT NULL")[0][0].as<bool>();
    if (!exists) return std::nullopt;
    auto r = tx.exec_params(
        "SELECT host FROM steward_backups WHERE database = $1 AND status = 'running' ORDER BY started_at "
        "DESC "
        "LIMIT 1",
        database);
    if (r.empty()) return std::nullopt;
    return std::string(r[0][0].c_str());
}

void record_drill(pqxx::connection& c, const DrillRecord& d) {
    ensure_catalog(c);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO steward_backup_drills (backup_id, database, host, ok, duration_seconds, error)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        d.backup_id, d.database, d.host, d.ok, d.duration_seconds, d.error);
    tx.commit();
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
                    const std::string& host, const std::string& started, double duration_seconds,
                    const std::string& status, const std::string& error) {
    ensure_catalog(c);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO steward_backups (id, database, host, status, started_at, finished_at, duration_seconds, "
        "error)"
        " VALUES ($1, $2, $3, $4, $5::timestamptz, now(), $6, $7) ON CONFLICT (id) DO UPDATE SET status = "
        "EXCLUDED.status,"
        " error = EXCLUDED.error, finished_at = EXCLUDED.finished_at, duration_seconds = "
        "EXCLUDED.duration_seconds",
        id, database, host, status, started, duration_seconds, error);
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
        " (SELECT greatest(0, extract(epoch FROM now() - max(finished_at)))::float8 FROM steward_backups"
        " WHERE database = $1 AND status = 'published'),"
        " (SELECT greatest(0, extract(epoch FROM now() - min(finished_at)))::float8 FROM steward_backups"
        " WHERE database = $1 AND status = 'published'),"
        " (SELECT extract(epoch FROM max(offsite_at))::float8 FROM steward_backups WHERE database = $1 AND "
        "offsite_ok),"
        " (SELECT extract(epoch FROM max(at))::float8 FROM steward_backup_drills WHERE database = $1 AND ok),"
        " (SELECT count(*) FROM steward_backup_drills WHERE database = $1 AND NOT ok)",
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
    m.last_drill_success_timestamp = opt(row[8]);
    m.drill_failures_total = row[9].as<std::int64_t>();
    return m;
}

}  // namespace steward::backup
