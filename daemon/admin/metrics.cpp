// Metric families from the table, filled from the daemon's state at scrape time; process_* from /proc/self.
#include "daemon/admin/metrics.hpp"

#include <fcntl.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <sstream>

#include "daemon/run/daemon.hpp"

namespace steward::admin {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

const std::vector<double> kProbeBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

const MetricInfo& info(const std::string& name) {
    for (const auto& m : metric_table())
        if (m.name == name) return m;
    throw std::logic_error("metric not in the table: " + name);
}

MetricFamily family(const std::string& name) {
    const auto& m = info(name);
    return MetricFamily{m.name, m.help, m.type, {}};
}

ClientMetric sample(double value, std::vector<ClientMetric::Label> labels = {},
                    MetricType type = MetricType::Gauge) {
    ClientMetric c;
    c.label = std::move(labels);
    if (type == MetricType::Counter)
        c.counter.value = value;
    else
        c.gauge.value = value;
    return c;
}

void add(std::vector<MetricFamily>& out, const std::string& name, std::optional<double> value) {
    auto f = family(name);
    if (value) f.metric.push_back(sample(*value, {}, f.type));
    out.push_back(std::move(f));
}

double unix_seconds(run::TimePoint t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

// The whole of a small /proc file ("" when unreadable).
std::string read_proc(const char* path) {
    std::string text;
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return text;
}

// Boot time (btime of /proc/stat): constant, so read once rather than on every scrape.
double boot_time() {
    static const double boot = [] {
        std::istringstream st(read_proc("/proc/stat"));
        for (std::string line; std::getline(st, line);)
            if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
        return 0.0;
    }();
    return boot;
}

// Open descriptors: Linux 6.2+ reports their count as the size of /proc/self/fd, in one call; listing
// the folder costs a dentry per descriptor (hundreds with many services) on every scrape.
std::size_t open_fds() {
    struct stat st {};
    if (::stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return static_cast<std::size_t>(st.st_size);
    std::size_t fds = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++fds;
    return fds;
}

// /proc/self: resident memory, CPU seconds, start time, open and maximum file descriptors.
void process_families(std::vector<MetricFamily>& out) {
    std::string stat = read_proc("/proc/self/stat");
    auto close = stat.rfind(')');
    std::istringstream fields(close == std::string::npos ? "" : stat.substr(close + 2));
    std::vector<std::string> f;
    std::string x;
    while (fields >> x) f.push_back(x);
    // After the command: state is field 3 of stat(5); utime 14, stime 15, starttime 22, vsize 23, rss 24.
    auto at = [&](int field) {
        return field - 3 < static_cast<int>(f.size()) ? std::stod(f[field - 3]) : 0.0;
    };
    double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    double boot = boot_time();
    std::size_t fds = open_fds();
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    add(out, "process_cpu_seconds_total", (at(14) + at(15)) / ticks);
    add(out, "process_resident_memory_bytes", at(24) * page);
    add(out, "process_virtual_memory_bytes", at(23));
    add(out, "process_start_time_seconds", boot + at(22) / ticks);
    add(out, "process_open_fds", static_cast<double>(fds));
    add(out, "process_max_fds", static_cast<double>(rl.rlim_cur));
}

}  // namespace

const std::vector<MetricInfo>& metric_table() {
    using T = MetricType;
    static const std::vector<MetricInfo> table = {
        {"steward_build_info", T::Gauge, "steward's version; always 1", {"version"}},
        {"steward_up", T::Gauge, "1 once the startup sequence finished, 0 while starting or stopping", {}},
        {"steward_service_up",
         T::Gauge,
         "1 when the service runs and passed its readiness check",
         {"service"}},
        {"steward_service_restarts_total",
         T::Counter,
         "restarts of the service, automatic and requested",
         {"service"}},
        {"steward_service_state",
         T::Gauge,
         "1 for the service's current state (stopped, starting, running, stopping, backoff, exited) and for "
         "crashloop",
         {"service", "state"}},
        {"steward_probe_success",
         T::Gauge,
         "1 while the probe is up (after its thresholds), else 0",
         {"probe"}},
        {"steward_probe_duration_seconds", T::Histogram, "how long each probe check took", {"probe"}},
        {"steward_probe_failures_total", T::Counter, "failed probe checks", {"probe"}},
        {"steward_backup_last_success_timestamp_seconds",
         T::Gauge,
         "when the newest successful backup finished",
         {}},
        {"steward_backup_last_duration_seconds", T::Gauge, "how long the newest successful backup took", {}},
        {"steward_backup_last_size_bytes", T::Gauge, "size of the newest successful backup", {}},
        {"steward_backup_failures_total", T::Counter, "failed backups (including failed verifications)", {}},
        {"steward_backup_offsite_last_success_timestamp_seconds",
         T::Gauge,
         "when a backup was last copied off-site successfully",
         {}},
        {"steward_backup_last_drill_success_timestamp_seconds",
         T::Gauge,
         "when a restore drill last passed",
         {}},
        {"steward_backup_drill_failures_total", T::Counter, "failed restore drills", {}},
        {"steward_backup_schedule_max_gap_seconds",
         T::Gauge,
         "the longest gap between two runs of backups.schedule (the stale-backup alert's threshold)",
         {}},
        {"steward_migrations_pending", T::Gauge, "migrations not applied yet", {}},
        {"steward_migrations_failed", T::Gauge, "migrations recorded as failed", {}},
        {"steward_gate_findings", T::Gauge, "findings of the startup gate by severity", {"severity"}},
        {"process_cpu_seconds_total", T::Counter, "user and system CPU time spent in seconds", {}},
        {"process_resident_memory_bytes", T::Gauge, "resident memory size in bytes", {}},
        {"process_virtual_memory_bytes", T::Gauge, "virtual memory size in bytes", {}},
        {"process_start_time_seconds",
         T::Gauge,
         "start time of the process since the unix epoch in seconds",
         {}},
        {"process_open_fds", T::Gauge, "number of open file descriptors", {}},
        {"process_max_fds", T::Gauge, "maximum number of open file descriptors", {}},
    };
    return table;
}

std::vector<MetricFamily> backup_families(const BackupFigures& b) {
    std::vector<MetricFamily> out;
    add(out, "steward_backup_last_success_timestamp_seconds", b.last_success_timestamp);
    add(out, "steward_backup_last_duration_seconds", b.last_duration_seconds);
    add(out, "steward_backup_last_size_bytes", b.last_size_bytes);
    add(out, "steward_backup_failures_total", b.failures_total);
    add(out, "steward_backup_offsite_last_success_timestamp_seconds", b.offsite_last_success_timestamp);
    add(out, "steward_backup_last_drill_success_timestamp_seconds", b.last_drill_success_timestamp);
    add(out, "steward_backup_drill_failures_total", b.drill_failures_total);
    add(out, "steward_backup_schedule_max_gap_seconds", b.schedule_max_gap_seconds);
    return out;
}

std::vector<MetricFamily> migration_families(const MigrationFigures& m) {
    std::vector<MetricFamily> out;
    add(out, "steward_migrations_pending", m.pending);
    add(out, "steward_migrations_failed", m.failed);
    return out;
}

std::string serialize(std::vector<MetricFamily> families) {
    // Families without a sample would be announced empty: leave them out.
    std::erase_if(families, [](const MetricFamily& f) { return f.metric.empty(); });
    // Written into one buffer sized up front: a scrape with a few thousand series would otherwise
    // regrow (and copy) the stream's buffer about ten times, then copy it once more out of the stream.
    std::size_t estimate = 0;
    for (const auto& f : families) {
        estimate += f.name.size() + f.help.size() + 32;
        for (const auto& m : f.metric) estimate += (f.name.size() + 64) * (3 + m.histogram.bucket.size());
    }
    std::string buffer;
    buffer.reserve(estimate);
    std::ostringstream out(std::move(buffer));
    prometheus::TextSerializer().Serialize(out, families);
    return std::move(out).str();
}

void write_textfile(const std::filesystem::path& path, const std::string& text) {
    auto tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
    }
}

DaemonMetrics::DaemonMetrics(run::Daemon& daemon)
    : daemon_(daemon), registry_(std::make_shared<prometheus::Registry>()) {
    const auto& m = info("steward_probe_duration_seconds");
    durations_ = &prometheus::BuildHistogram().Name(m.name).Help(m.help).Register(*registry_);
}

DaemonMetrics::~DaemonMetrics() = default;

void DaemonMetrics::observe_probe(const std::string& probe, double seconds) {
    auto it = histograms_.find(probe);
    if (it == histograms_.end())
        it = histograms_.emplace(probe, &durations_->Add({{"probe", probe}}, kProbeBuckets)).first;
    it->second->Observe(seconds);
}

std::string DaemonMetrics::scrape() const {
    const auto& st = daemon_.state();
    std::vector<MetricFamily> out;
    auto build = family("steward_build_info");
    build.metric.push_back(sample(1, {{"version", daemon_.version()}}));
    out.push_back(std::move(build));
    add(out, "steward_up", st.phase == run::Phase::ready ? 1 : 0);

    auto up = family("steward_service_up"), restarts = family("steward_service_restarts_total"),
         states = family("steward_service_state");
    for (const auto& s : daemon_.services()) {
        up.metric.push_back(
            sample(s.state == run::ServiceState::running && s.ready ? 1 : 0, {{"service", s.name}}));
        restarts.metric.push_back(
            sample(static_cast<double>(s.restarts), {{"service", s.name}}, MetricType::Counter));
        for (auto state : run::kServiceStates)
            states.metric.push_back(
                sample(s.state == state ? 1 : 0, {{"service", s.name}, {"state", run::to_string(state)}}));
        states.metric.push_back(sample(s.crashloop ? 1 : 0, {{"service", s.name}, {"state", "crashloop"}}));
    }
    out.push_back(std::move(up));
    out.push_back(std::move(restarts));
    out.push_back(std::move(states));

    auto success = family("steward_probe_success"), failures = family("steward_probe_failures_total");
    for (const auto& p : daemon_.probes()) {
        const auto& ps = p->status();
        success.metric.push_back(
            sample(ps.health == probes::Health::up ? 1 : 0, {{"probe", p->spec().name}}));
        failures.metric.push_back(
            sample(static_cast<double>(ps.failures_total), {{"probe", p->spec().name}}, MetricType::Counter));
    }
    out.push_back(std::move(success));
    for (auto& f : registry_->Collect()) out.push_back(std::move(f));
    out.push_back(std::move(failures));

    const auto& b = st.backups;
    BackupFigures fig;
    if (b.last_success) {
        fig.last_success_timestamp = unix_seconds(b.last_success->at);
        fig.last_duration_seconds = b.last_success->duration_seconds;
        fig.last_size_bytes = static_cast<double>(b.last_success->bytes);
    }
    fig.failures_total = static_cast<double>(b.failures_total);
    if (b.offsite_last_success) fig.offsite_last_success_timestamp = unix_seconds(*b.offsite_last_success);
    if (b.last_drill_success) fig.last_drill_success_timestamp = unix_seconds(b.last_drill_success->at);
    fig.drill_failures_total = static_cast<double>(b.drill_failures_total);
    fig.schedule_max_gap_seconds = b.schedule_max_gap_seconds;
    if (b.configured)
        for (auto& f : backup_families(fig)) out.push_back(std::move(f));
    if (st.migrations.known)
        for (auto& f : migration_families(
                 {static_cast<double>(st.migrations.pending), static_cast<double>(st.migrations.failed)}))
            out.push_back(std::move(f));

    auto gate = family("steward_gate_findings");
    gate.metric.push_back(sample(st.gate.errors, {{"severity", "error"}}));
    gate.metric.push_back(sample(st.gate.warnings, {{"severity", "warning"}}));
    gate.metric.push_back(sample(st.gate.infos, {{"severity", "info"}}));
    out.push_back(std::move(gate));
    process_families(out);
    return serialize(std::move(out));
}

}  // namespace steward::admin
