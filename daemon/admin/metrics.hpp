// Prometheus metrics: the one table of families, the daemon's scrape, and the textfile series of the CLI.
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace steward::run {
class Daemon;
}

namespace prometheus {
class Registry;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace steward::admin {

struct MetricInfo {
    std::string name;
    prometheus::MetricType type;
    std::string help;
    std::vector<std::string> labels;
};

// Every family steward exports, in the order of /metrics (the docs' list is checked against it).
const std::vector<MetricInfo>& metric_table();

// The backup and migration figures that both the daemon and `--metrics-textfile` export.
struct BackupFigures {
    std::optional<double> last_success_timestamp;
    std::optional<double> last_duration_seconds;
    std::optional<double> last_size_bytes;
    double failures_total = 0;
    std::optional<double> offsite_last_success_timestamp;
    std::optional<double> last_drill_success_timestamp;
    double drill_failures_total = 0;
    std::optional<double> schedule_max_gap_seconds;
};
struct MigrationFigures {
    double pending = 0;
    double failed = 0;
};
std::vector<prometheus::MetricFamily> backup_families(const BackupFigures& f);
std::vector<prometheus::MetricFamily> migration_families(const MigrationFigures& f);

// Text format 0.0.4.
std::string serialize(std::vector<prometheus::MetricFamily> families);

// Writes `text` to `path` atomically (temporary file, fsync, rename), for node_exporter's textfile collector.
void write_textfile(const std::filesystem::path& path, const std::string& text);

class DaemonMetrics {
  public:
    explicit DaemonMetrics(run::Daemon& daemon);
    ~DaemonMetrics();
    void observe_probe(const std::string& probe, double seconds);
    std::string scrape() const;

  private:
    run::Daemon& daemon_;
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Histogram>* durations_;
    std::map<std::string, prometheus::Histogram*> histograms_;
};

}  // namespace steward::admin
