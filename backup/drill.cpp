// Restore drills: a scratch restore of the newest published backup, its result kept in the catalog.
#include <chrono>
#include <pqxx/pqxx>

#include "backup/backup_job.hpp"
#include "backup/catalog.hpp"
#include "backup/internal.hpp"
#include "backup/retention.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"

namespace steward::backup {

DrillOutcome run_drill(const BackupConfig& c) {
    DrillOutcome out;
    auto list = list_backups(c.settings.dir);
    if (!c.deployment.empty())
        std::erase_if(list, [&](const BackupInfo& b) { return !is_backup_id(b.id, id_prefix(c)); });
    if (list.empty()) {
        out.error = "no published backup in " + c.settings.dir.string() + " to drill";
        return out;
    }
    out.id = list.back().id;  // newest by its finished time
    out.ran = true;
    log::info("backup", "restore drill started", {{"id", out.id}});
    auto v = verify_backup(c, out.id, BackupsSpec::Verify::restore);
    out.ok = v.ok;
    out.duration_seconds = v.duration_seconds;
    out.warnings = v.warnings;
    if (v.cancelled) {  // not a drill result: the daemon is stopping
        out.ok = false;
        out.error = "cancelled";
        return out;
    }
    for (const auto& p : v.problems) out.error += (out.error.empty() ? "" : "; ") + p;
    if (out.ok)
        log::info("backup", "restore drill passed",
                  {{"id", out.id}, {"duration_seconds", out.duration_seconds}});
    else
        log::error("backup", "restore drill failed", {{"id", out.id}, {"error", redact(out.error)}});
    try {
        auto conn = pg::connect(c.database_url, std::chrono::seconds(10));
        record_drill(*conn, {out.id, pg::parse_conninfo(c.database_url).dbname(), config_host(c),
                             redact(out.error), out.ok, out.duration_seconds});
        out.recorded = true;
    } catch (const std::exception& e) {
        log::warn("backup", "catalog update failed", {{"error", redact(e.what())}});
    }
    return out;
}

}  // namespace steward::backup
