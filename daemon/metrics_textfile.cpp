// `--metrics-textfile`: the figures of one CLI run as Prometheus text, written atomically.
#include "daemon/metrics_textfile.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "backup/schedule.hpp"
#include "daemon/admin/metrics.hpp"

namespace steward::cli {
namespace {

bool write(const std::string& path, const std::vector<prometheus::MetricFamily>& families) {
    try {
        admin::write_textfile(path, admin::serialize(families));
        return true;
    } catch (const std::exception& e) {
        std::cerr << "steward: metrics textfile not written: " << e.what() << std::endl;
        return false;
    }
}

}  // namespace

void check_textfile_path(const std::string& path) {
    if (path.empty()) return;
    namespace fs = std::filesystem;
    fs::path p(path);
    if (p.filename().empty() || fs::is_directory(p))
        throw std::invalid_argument("--metrics-textfile: " + path +
                                    " is a folder; name a file (e.g. steward.prom)");
    auto parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (!fs::is_directory(parent))
        throw std::invalid_argument("--metrics-textfile: folder " + parent.string() + " does not exist");
    if (::access(parent.c_str(), W_OK) != 0)
        throw std::invalid_argument("--metrics-textfile: folder " + parent.string() + " is not writable");
}

bool write_backup_textfile(const std::string& path, const backup::BackupConfig& config) {
    auto m = backup::backup_metrics(config);
    admin::BackupFigures f;
    f.last_success_timestamp = m.last_success_timestamp;
    f.last_duration_seconds = m.last_duration_seconds;
    f.last_size_bytes = m.last_size_bytes;
    f.failures_total = static_cast<double>(m.failures_total);
    f.offsite_last_success_timestamp = m.offsite_last_success_timestamp;
    f.last_drill_success_timestamp = m.last_drill_success_timestamp;
    f.drill_failures_total = static_cast<double>(m.drill_failures_total);
    if (config.settings.schedule) {
        auto cron = backup::CronSchedule::parse(*config.settings.schedule);
        f.schedule_max_gap_seconds = static_cast<double>(
            cron.max_gap(std::chrono::system_clock::now(), backup::find_time_zone(config.timezone)).count());
    }
    return write(path, admin::backup_families(f));
}

bool write_migration_textfile(const std::string& path, int pending, int failed) {
    return write(path,
                 admin::migration_families({static_cast<double>(pending), static_cast<double>(failed)}));
}

}  // namespace steward::cli
