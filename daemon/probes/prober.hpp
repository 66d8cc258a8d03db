// A probe: runs its check every interval, applies the thresholds, logs state changes once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/spec.hpp"
#include "daemon/probes/check.hpp"

namespace steward::probes {

enum class Health { unknown, up, down };
std::string to_string(Health);

struct ProbeStatus {
    Health health =
        Health::unknown;  // unknown until success_threshold successes or failure_threshold failures
    std::chrono::system_clock::time_point since{};  // when `health` last changed
    int consecutive_successes = 0;
    int consecutive_failures = 0;
    std::optional<CheckResult> last;  // the latest result
    std::optional<std::chrono::system_clock::time_point> last_run;
    std::uint64_t runs_total = 0;
    std::uint64_t failures_total = 0;
    bool running = false;  // a check is in flight
};

// Called on the loop after every result, with whether the health changed.
using ProbeObserver =
    std::function<void(const std::string& probe, const ProbeStatus&, const CheckResult&, bool changed)>;

class Probe {
  public:
    Probe(boost::asio::io_context& io, ProbeSpec spec, std::unique_ptr<Check> check, ProbeObserver observer);
    ~Probe();
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    void start();    // first run now, then every interval
    void stop();     // cancels a run in flight and the schedule
    bool run_now();  // false when a run is already in flight
    const ProbeSpec& spec() const { return spec_; }
    const ProbeStatus& status() const { return status_; }

  private:
    void schedule();
    void run();
    void on_result(const CheckResult& r);

    ProbeSpec spec_;
    std::unique_ptr<Check> check_;
    ProbeObserver observer_;
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point next_;
    ProbeStatus status_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool started_ = false;
};

// Applies one result to a status (pure): counts, thresholds, health changes. Returns true on a change.
bool apply_result(ProbeStatus& status, const CheckResult& r, int failure_threshold, int success_threshold,
                  std::chrono::system_clock::time_point now);

}  // namespace steward::probes
