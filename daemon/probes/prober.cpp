// Probe scheduling and thresholds; the pure threshold logic is apply_result().
#include "daemon/probes/prober.hpp"

#include "core/log.hpp"

namespace steward::probes {

std::string to_string(Health h) {
    switch (h) {
        case Health::unknown:
            return "unknown";
        case Health::up:
            return "up";
        case Health::down:
            return "down";
    }
    return "unknown";
}

bool apply_result(ProbeStatus& s, const CheckResult& r, int failure_threshold, int success_threshold,
                  std::chrono::system_clock::time_point now) {
    s.last = r;
    s.last_run = now;
    ++s.runs_total;
    Health before = s.health;
    if (r.ok) {
        ++s.consecutive_successes;
        s.consecutive_failures = 0;
        if (s.consecutive_successes >= success_threshold) s.health = Health::up;
    } else {
        ++s.failures_total;
        ++s.consecutive_failures;
        s.consecutive_successes = 0;
        if (s.consecutive_failures >= failure_threshold) s.health = Health::down;
    }
    if (s.health == before) return false;
    s.since = now;
    return true;
}

Probe::Probe(boost::asio::io_context& io, ProbeSpec spec, std::unique_ptr<Check> check,
             ProbeObserver observer)
    : spec_(std::move(spec)), check_(std::move(check)), observer_(std::move(observer)), timer_(io) {
    status_.since = std::chrono::system_clock::now();
}

Probe::~Probe() {
    *alive_ = false;
    stop();
}

void Probe::start() {
    started_ = true;
    next_ = std::chrono::steady_clock::now();
    run();
}

void Probe::stop() {
    started_ = false;
    timer_.cancel();
    if (check_) check_->cancel();
    status_.running = false;
}

bool Probe::run_now() {
    if (status_.running) return false;
    timer_.cancel();
    next_ = std::chrono::steady_clock::now();
    run();
    return true;
}

void Probe::schedule() {
    if (!started_) return;
    auto now = std::chrono::steady_clock::now();
    next_ += spec_.interval;
    if (next_ < now) next_ = now;  // a check that took longer than the interval: run again right away
    timer_.expires_at(next_);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive](boost::system::error_code ec) {
        if (ec || alive.expired()) return;
        run();
    });
}

void Probe::run() {
    status_.running = true;
    std::weak_ptr<bool> alive = alive_;
    check_->run(spec_.timeout, [this, alive](CheckResult r) {
        if (alive.expired()) return;
        status_.running = false;
        on_result(r);
        schedule();
    });
}

void Probe::on_result(const CheckResult& r) {
    bool changed = apply_result(status_, r, spec_.failure_threshold, spec_.success_threshold,
                                std::chrono::system_clock::now());
    if (changed) {
        if (status_.health == Health::down)
            log::warn("probe", "probe down",
                      {{"probe", spec_.name}, {"target", describe(spec_.target)}, {"reason", r.error}});
        else
            log::info("probe", "probe up", {{"probe", spec_.name}, {"target", describe(spec_.target)}});
    }
    if (observer_) observer_(spec_.name, status_, r, changed);
}

}  // namespace steward::probes
