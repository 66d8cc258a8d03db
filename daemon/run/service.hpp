// One supervised service: spawn, readiness, restart policy with backoff and crash loops, stop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "core/process.hpp"
#include "core/spec.hpp"
#include "daemon/probes/check.hpp"
#include "daemon/probes/child_watch.hpp"
#include "daemon/run/state.hpp"

namespace steward::run {

// Decides the delay before the next start after an exit (pure; unit-tested).
struct RestartDecision {
    bool restart = false;
    Duration delay{0};
    bool crashloop = false;  // the service is (still) in a crash loop
};
struct RestartHistory {
    int quick_failures = 0;                                    // consecutive runs shorter than backoff_max
    std::deque<std::chrono::steady_clock::time_point> starts;  // restarts inside the window
    bool crashloop = false;
};
// `uptime` is how long the process ran; `jitter` in [0, 1) picks the delay inside its band.
RestartDecision decide_restart(const RestartSpec& spec, RestartHistory& history, int exit_status,
                               Duration uptime, std::chrono::steady_clock::time_point now, double jitter);

// The environment and folder a service runs with (resolved by the supervisor from the spec).
struct ServiceLaunch {
    ServiceSpec spec;
    std::map<std::string, std::string> env;  // complete: the service gets nothing else
    std::filesystem::path workdir;
};

class ServiceRunner {
  public:
    // `readiness_env` serves the readiness check (its own checks, same code as probes).
    ServiceRunner(boost::asio::io_context& io, ServiceLaunch launch, probes::CheckEnvironment readiness_env);
    ~ServiceRunner();
    ServiceRunner(const ServiceRunner&) = delete;
    ServiceRunner& operator=(const ServiceRunner&) = delete;

    // Starts it; `on_ready(true, "")` once its readiness check passed, or `(false, why)` when it did not
    // within readiness.timeout (restarts in between count), or it exited for good.
    void start(std::function<void(bool, std::string)> on_ready = {});
    // Stops it (stop.signal to its group, SIGKILL after stop.timeout); `on_stopped` once no process is left.
    void stop(std::function<void()> on_stopped = {});
    // Stops, then starts; counts as a restart.
    void restart();
    // A new definition or environment, used from the next start on.
    void update(ServiceLaunch launch);

    const ServiceStatus& status() const { return status_; }
    const ServiceLaunch& launch() const { return launch_; }
    bool wants_running() const { return want_running_; }

  private:
    void spawn_now();
    void on_exit();
    void begin_readiness();
    void check_readiness();
    void became_ready();
    void schedule_start(Duration delay);
    void report_ready(bool ok, const std::string& why);
    void log_line(std::string_view line, bool truncated, bool from_stderr);

    boost::asio::io_context& io_;
    ServiceLaunch launch_;
    probes::CheckEnvironment readiness_env_;
    ServiceStatus status_;
    RestartHistory history_;
    Child child_;
    std::unique_ptr<probes::ExitWatch> exit_watch_;
    std::shared_ptr<probes::LineReader> out_, err_;
    std::unique_ptr<probes::Check> readiness_;
    boost::asio::steady_timer timer_;           // backoff and stop timeout
    boost::asio::steady_timer ready_timer_;     // readiness retries
    boost::asio::steady_timer deadline_timer_;  // readiness.timeout for the caller of start()
    std::chrono::steady_clock::time_point started_steady_;
    std::chrono::steady_clock::time_point ready_deadline_;
    std::function<void(bool, std::string)> on_ready_;
    std::function<void()> on_stopped_;
    bool want_running_ = false;
    bool restart_requested_ = false;
    std::mt19937 rng_{std::random_device{}()};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::run
