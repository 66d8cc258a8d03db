// The daemon's in-memory state model: what the loop changes and the admin API, /metrics and the console read.
// Services and probes keep their own status (ServiceStatus, probes::ProbeStatus); the rest is here.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace steward::run {

using TimePoint = std::chrono::system_clock::time_point;

enum class Phase { starting, ready, stopping };
std::string to_string(Phase);

enum class ServiceState { stopped, starting, running, stopping, backoff, exited };
std::string to_string(ServiceState);
inline constexpr ServiceState kServiceStates[] = {ServiceState::stopped, ServiceState::starting,
                                                  ServiceState::running, ServiceState::stopping,
                                                  ServiceState::backoff, ServiceState::exited};

struct ExitInfo {
    int status = 0;  // exit code, or 128+signal
    TimePoint at{};
    std::string description;  // "exit code 1", "killed by signal 9"
};

struct ServiceStatus {
    std::string name;
    ServiceState state = ServiceState::stopped;
    pid_t pid = 0;
    std::uint64_t restarts = 0;           // automatic and requested restarts
    std::optional<TimePoint> started_at;  // of the current process
    std::optional<ExitInfo> last_exit;
    bool ready = false;      // passed its readiness check since it last started
    bool crashloop = false;  // more than max_restarts within window; retries go on at the maximum backoff
    std::optional<TimePoint> next_start;  // in backoff: when it starts again
    std::string last_error;               // why it could not be started, if it could not
};

struct BackupRecord {
    std::string id;
    TimePoint at{};
    std::uint64_t bytes = 0;
    double duration_seconds = 0;
    std::string error;
};

// One published backup as `backup list` shows it.
struct BackupListing {
    std::string id;
    TimePoint finished{};
    std::uint64_t bytes = 0;
    std::string verified;  // full | restore | none | failed
    std::string format;
    std::string compression;
    bool encrypted = false;
};

struct BackupState {
    bool configured = false;
    bool running = false;
    std::string running_kind;  // scheduled | manual | drill | retry
    std::string running_id;
    std::optional<TimePoint> next_run;
    std::optional<TimePoint> next_drill;
    std::optional<BackupRecord> last_success;
    std::optional<BackupRecord> last_failure;
    std::optional<TimePoint> last_drill;  // last drill, successful or not
    std::optional<BackupRecord> last_drill_success;
    std::optional<BackupRecord> last_drill_failure;
    std::optional<TimePoint> offsite_last_success;
    std::uint64_t failures_total = 0;
    std::uint64_t drill_failures_total = 0;
    std::uint64_t skipped_total = 0;  // another host took the slot, or one was running
    std::optional<double> schedule_max_gap_seconds;
    std::vector<BackupListing>
        published;  // this host's backups folder, oldest first (refreshed after each job)
    std::optional<TimePoint> listed_at;
};

struct MigrationEntry {
    std::string version;  // "" for repeatables
    std::string name;
    std::string
        state;  // applied | pending | failed | running | drifted | missing | baseline | below_baseline
    std::string applied_at;
};

struct MigrationState {
    bool known = false;  // refreshed at least once
    bool running = false;
    std::string current_version;
    int applied = 0;
    int pending = 0;
    int failed = 0;
    std::string error;  // the last refresh or apply failed
    std::optional<TimePoint> checked_at;
    std::string last_apply;  // one line about the last apply
    std::vector<MigrationEntry> entries;
};

struct GateCounts {
    int errors = 0;
    int warnings = 0;
    int infos = 0;
};

struct DaemonState {
    Phase phase = Phase::starting;
    TimePoint started_at = std::chrono::system_clock::now();
    std::string status_line;  // what STATUS= said last
    BackupState backups;
    MigrationState migrations;
    GateCounts gate;
    std::uint64_t reloads_total = 0;
    std::uint64_t reload_failures_total = 0;
};

}  // namespace steward::run
