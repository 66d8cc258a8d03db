// Backup configuration from a spec or flags, listing, retention, off-site copy and the figures for /metrics.
#include "backup/backup_job.hpp"

#include <date/tz.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <pqxx/pqxx>

#include "backup/catalog.hpp"
#include "backup/internal.hpp"
#include "backup/lock.hpp"
#include "backup/manifest.hpp"
#include "backup/retention.hpp"
#include "backup/sftp.hpp"
#include "backup/stream.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"

namespace steward::backup {
namespace fs = std::filesystem;

BackupConfig config_from_spec(const Spec& spec, const std::string& url) {
    BackupConfig c;
    c.deployment = spec.name;
    c.database_url = url;
    c.timezone = spec.timezone;
    if (spec.backups) c.settings = *spec.backups;
    auto resolved = resolve_secrets(spec);
    if (!c.settings.encryption_key.empty()) {
        c.encryption_configured = true;
        c.encryption_key = secret_value(c.settings.encryption_key, resolved);
    }
    if (c.settings.sftp) c.sftp_key = secret_value(c.settings.sftp->key, resolved);
    return c;
}

BackupConfig config_without_spec(const std::string& url, const fs::path& dir) {
    BackupConfig c;
    c.database_url = url;
    c.deployment = url.empty() ? "backup" : pg::parse_conninfo(url).dbname();
    c.settings.dir = dir;
    return c;
}

std::string iso_utc_text(std::chrono::system_clock::time_point t) { return iso_utc(t); }

std::string safe_id_prefix(const std::string& name) {
    std::string out;
    for (unsigned char ch : name)
        out += std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-' ? static_cast<char>(ch) : '_';
    if (out.empty()) out = "backup";
    if (out[0] == '.') out[0] = '_';  // no hidden folders, no "." or ".."
    return out;
}

std::string id_prefix(const BackupConfig& c) { return safe_id_prefix(c.deployment); }

std::string config_host(const BackupConfig& c) { return c.host.empty() ? host_name() : c.host; }

std::vector<BackupInfo> list_backups(const fs::path& dir, bool include_failed) {
    std::vector<BackupInfo> list;
    std::error_code ec;
    auto now = std::chrono::system_clock::now();
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        auto kind = classify_entry(name);
        if (!e.is_directory() || e.is_symlink() ||
            !(kind == EntryKind::published || (include_failed && kind == EntryKind::failed)))
            continue;
        std::string id = kind == EntryKind::failed ? name.substr(0, name.size() - 7) : name;
        BackupManifest m;
        try {
            m = read_manifest(e.path());
        } catch (const std::exception&) {
            continue;  // not a steward backup (or a broken one): never listed, never pruned
        }
        if (m.id != id) continue;
        BackupInfo b;
        b.id = id;
        b.path = e.path();
        b.failed = kind == EntryKind::failed;
        b.host = m.host;
        b.finished = parse_iso_utc(m.finished).value_or(*parse_backup_id(id));
        b.in_future = b.finished > now + kClockSkewTolerance;
        b.bytes = m.bytes();
        b.verified = b.failed                                                         ? "failed"
                     : m.verification.level == "none" || m.verification.level.empty() ? "none"
                     : m.verification.ok                                              ? m.verification.level
                                                                                      : "failed";
        b.format = m.format;
        b.compression = m.compression;
        b.encrypted = m.encryption != "none";
        list.push_back(std::move(b));
    }
    std::sort(list.begin(), list.end(), [](const BackupInfo& a, const BackupInfo& b) {
        return a.finished != b.finished ? a.finished < b.finished : a.id < b.id;
    });
    return list;
}

namespace {
const date::time_zone* zone(const std::string& name) {
    try {
        return date::locate_zone(name);
    } catch (const std::exception& e) {
        log::warn("backup", "unknown time zone, using UTC", {{"timezone", name}});
        return nullptr;
    }
}
}  // namespace

PruneOutcome prune_locked(const BackupConfig& c, bool dry_run, const std::string& just_published) {
    PruneOutcome out;
    try {
        auto list = list_backups(c.settings.dir);
        // Only this deployment's backups: another deployment's in a shared folder (spec-less mode names
        // them after their database) have their own newest backup and retention, as off-site.
        if (!c.deployment.empty())
            std::erase_if(list, [&](const BackupInfo& b) { return !is_backup_id(b.id, id_prefix(c)); });
        std::vector<BackupEntry> entries;
        for (const auto& b : list) entries.push_back({b.id, b.finished});
        auto plan = plan_retention(entries, c.settings.retention, zone(c.timezone));
        std::string newest = list.empty() ? std::string() : list.back().id;
        for (const auto& d : plan) {
            PruneDecision p{d.id, d.keep || d.id == newest, d.keep || d.id != newest ? d.rule : "newest"};
            if (!p.keep && d.id == just_published) p = {d.id, true, "just_published"};
            auto path = c.settings.dir / p.id;
            int held = -1;
            if (!p.keep) {
                held = lock_backup_for_delete(path);
                if (held < 0) p = {d.id, true, "in_use"};  // a restore or verify is reading it
            }
            out.decisions.push_back(p);
            if (p.keep || dry_run || classify_entry(p.id) != EntryKind::published ||
                !fs::exists(path / "manifest.json")) {
                if (held >= 0) ::close(held);
                continue;
            }
            std::error_code ec;
            fs::remove_all(path, ec);
            ::close(held);
            if (ec) throw fs::filesystem_error("delete backup", path, ec);
            out.deleted.push_back(p.id);
            log::info("backup", "backup pruned", {{"id", p.id}});
        }
        if (!out.deleted.empty()) fsync_path(c.settings.dir);
        out.ok = true;
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

std::vector<PruneDecision> prune_failed_locked(const BackupConfig& c, bool dry_run) {
    std::vector<PruneDecision> out;
    std::vector<std::pair<TimePoint, std::string>> failed;  // by the time in the id, newest first
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(c.settings.dir, ec)) {
        std::string name = e.path().filename().string();
        if (classify_entry(name) != EntryKind::failed || e.is_symlink() || !e.is_directory()) continue;
        std::string id = name.substr(0, name.size() - 7);
        if (!c.deployment.empty() && !is_backup_id(id, id_prefix(c))) continue;
        failed.emplace_back(*parse_backup_id(id), name);
    }
    std::sort(failed.begin(), failed.end(), std::greater<>());
    for (std::size_t i = 0; i < failed.size(); ++i) {
        const auto& name = failed[i].second;
        bool keep = static_cast<int>(i) < c.settings.retention.keep_failed;
        out.push_back({name, keep, keep ? "keep_failed" : "expired_failed"});
        if (keep || dry_run) continue;
        fs::remove_all(c.settings.dir / name, ec);
        if (ec) {
            log::warn("backup", "cannot delete failed backup", {{"path", name}, {"error", ec.message()}});
            out.back() = {name, true, "keep_failed"};
            continue;
        }
        log::info("backup", "failed backup deleted (beyond retention.keep_failed)", {{"path", name}});
    }
    return out;
}

PruneOutcome prune_backups(const BackupConfig& c, bool dry_run) {
    PruneOutcome out;
    if (c.settings.dir.empty() || !fs::is_directory(c.settings.dir)) {
        out.error = "no backups folder " + c.settings.dir.string();
        return out;
    }
    try {
        FolderLock lock(c.settings.dir);
        if (!lock.acquired()) {
            out.busy = true;
            out.error = "a backup is running in " + c.settings.dir.string() + ": nothing pruned";
            return out;
        }
        out = prune_locked(c, dry_run);
        for (auto& d : prune_failed_locked(c, dry_run)) {
            if (!d.keep && !dry_run) out.deleted.push_back(d.id);
            out.decisions.push_back(std::move(d));
        }
    } catch (const std::exception& e) {
        out.error = e.what();
        return out;
    }
    std::vector<std::string> published;  // the catalog tracks published backups, not .failed folders
    for (const auto& id : out.deleted)
        if (classify_entry(id) == EntryKind::published) published.push_back(id);
    if (!published.empty() && !c.database_url.empty()) {
        try {
            auto conn = pg::connect(c.database_url, std::chrono::seconds(5));
            record_pruned(*conn, published);
        } catch (const std::exception& e) {
            log::warn("backup", "catalog update failed", {{"error", redact(e.what())}});
        }
    }
    return out;
}

OffsiteReport copy_offsite(const BackupConfig& c, const fs::path& published) {
    OffsiteReport r;
    if (!c.settings.sftp) return r;
    if (!c.sftp_key) {
        r.error = "backups.offsite.sftp.key did not resolve";
        return r;
    }
    auto up = upload_backup(*c.settings.sftp, *c.sftp_key, id_prefix(c), published);
    r.ok = up.ok;
    r.error = up.error;
    r.attempts = up.attempts;
    r.remote_path = up.remote_path;
    if (up.ok) {
        auto pr =
            prune_remote(*c.settings.sftp, *c.sftp_key, id_prefix(c), c.settings.retention, zone(c.timezone));
        if (!pr.ok) log::warn("backup", "remote retention failed", {{"error", pr.error}});
    } else {
        log::error("backup", "off-site copy failed", {{"error", up.error}, {"attempts", up.attempts}});
    }
    return r;
}

BackupMetrics backup_metrics(const BackupConfig& c) {
    if (!c.database_url.empty()) {
        try {
            auto conn = pg::connect(c.database_url, std::chrono::seconds(5));
            return catalog_metrics(*conn, pg::parse_conninfo(c.database_url).dbname());
        } catch (const std::exception& e) {
            log::warn("backup", "catalog unavailable, using local manifests", {{"error", redact(e.what())}});
        }
    }
    BackupMetrics m;
    auto list = list_backups(c.settings.dir);
    auto now = std::chrono::system_clock::now();
    auto age =
        [&](std::chrono::system_clock::time_point t) {  // never negative: a future time is a wrong clock
            return std::max(0.0, std::chrono::duration<double>(now - t).count());
        };
    m.backup_count = static_cast<std::int64_t>(list.size());
    if (!list.empty()) {
        const auto& newest = list.back();
        m.last_success_timestamp = std::chrono::duration<double>(newest.finished.time_since_epoch()).count();
        m.last_size_bytes = static_cast<double>(newest.bytes);
        try {
            m.last_duration_seconds = read_manifest(newest.path).duration_seconds;
        } catch (const std::exception&) {
        }
        m.newest_age_seconds = age(newest.finished);
        m.oldest_age_seconds = age(list.front().finished);
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(c.settings.dir, ec))
        if (classify_entry(e.path().filename().string()) == EntryKind::failed) ++m.failures_total;
    return m;
}

}  // namespace steward::backup
