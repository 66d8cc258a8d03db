// A supervised service's life: spawn in its own group, readiness, exits, backoff, crash loops, stop.
#include "daemon/run/service.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cmath>

#include "core/log.hpp"

namespace steward::run {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kMaxLine = 16 * 1024;
constexpr auto kReadinessRetry = std::chrono::milliseconds(200);

std::string describe_status(int status) {
    if (status > 128) return fmt::format("killed by signal {}", status - 128);
    return fmt::format("exit code {}", status);
}

int dup_cloexec(int fd) { return fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 3); }

}  // namespace

RestartDecision decide_restart(const RestartSpec& spec, RestartHistory& h, int exit_status, Duration uptime,
                               SteadyClock::time_point now, double jitter) {
    RestartDecision d;
    switch (spec.policy) {
        case RestartSpec::Policy::never:
            d.restart = false;
            break;
        case RestartSpec::Policy::on_failure:
            d.restart = exit_status != 0;
            break;
        case RestartSpec::Policy::always:
            d.restart = true;
            break;
    }
    if (uptime >= spec.backoff_max) {  // it ran stably: a fresh start, at once
        h.quick_failures = 0;
        h.starts.clear();
        h.crashloop = false;
    } else {
        ++h.quick_failures;
    }
    if (!d.restart) {
        d.crashloop = h.crashloop;
        return d;
    }
    h.starts.push_back(now);
    while (!h.starts.empty() && now - h.starts.front() > spec.window) h.starts.pop_front();
    if (static_cast<int>(h.starts.size()) > spec.max_restarts) h.crashloop = true;
    d.crashloop = h.crashloop;
    if (h.crashloop) {
        d.delay = spec.backoff_max;
    } else if (h.quick_failures > 1) {
        // Exponential from backoff_initial, capped, with equal jitter (half fixed, half random).
        double base = static_cast<double>(spec.backoff_initial.count()) * std::pow(2.0, h.quick_failures - 2);
        base = std::min(base, static_cast<double>(spec.backoff_max.count()));
        d.delay = Duration(static_cast<Duration::rep>(base / 2 + jitter * base / 2));
    }
    return d;
}

ServiceRunner::ServiceRunner(boost::asio::io_context& io, ServiceLaunch launch,
                             probes::CheckEnvironment readiness_env)
    : io_(io),
      launch_(std::move(launch)),
      readiness_env_(readiness_env),
      timer_(io),
      ready_timer_(io),
      deadline_timer_(io) {
    status_.name = launch_.spec.name;
}

ServiceRunner::~ServiceRunner() {
    *alive_ = false;
    timer_.cancel();
    ready_timer_.cancel();
    deadline_timer_.cancel();
    exit_watch_.reset();
    if (out_) out_->stop();
    if (err_) err_->stop();
    // Child's destructor kills the group and reaps.
}

void ServiceRunner::update(ServiceLaunch launch) {
    launch_ = std::move(launch);
    readiness_.reset();
}

void ServiceRunner::start(std::function<void(bool, std::string)> on_ready) {
    on_ready_ = std::move(on_ready);
    want_running_ = true;
    if (status_.state == ServiceState::running || status_.state == ServiceState::starting) {
        if (status_.ready) report_ready(true, {});
        return;
    }
    if (status_.state == ServiceState::stopping) return;  // starts again once the old process is gone
    history_ = RestartHistory{};
    status_.crashloop = false;
    timer_.cancel();
    ready_deadline_ = SteadyClock::now() + launch_.spec.readiness_timeout;
    if (on_ready_) {  // bounded even when it keeps exiting before any readiness check could pass
        deadline_timer_.expires_at(ready_deadline_);
        std::weak_ptr<bool> alive = alive_;
        deadline_timer_.async_wait([this, alive](boost::system::error_code ec) {
            if (ec || alive.expired()) return;
            report_ready(false,
                         fmt::format("not ready within {}", format_duration(launch_.spec.readiness_timeout)));
        });
    }
    spawn_now();
}

void ServiceRunner::restart() {
    ++status_.restarts;
    if (status_.state == ServiceState::running || status_.state == ServiceState::starting) {
        stop();
        want_running_ = true;  // on_exit starts it again
        restart_requested_ = true;
        return;
    }
    start();
}

void ServiceRunner::stop(std::function<void()> on_stopped) {
    want_running_ = false;
    restart_requested_ = false;
    timer_.cancel();
    ready_timer_.cancel();
    if (readiness_) readiness_->cancel();
    report_ready(false, "stopped");
    if (status_.state != ServiceState::running && status_.state != ServiceState::starting &&
        status_.state != ServiceState::stopping) {
        status_.state = ServiceState::stopped;
        status_.next_start.reset();
        if (on_stopped) on_stopped();
        return;
    }
    if (on_stopped) on_stopped_ = std::move(on_stopped);
    if (status_.state == ServiceState::stopping) return;
    status_.state = ServiceState::stopping;
    log::info("supervisor", "stopping service",
              {{"service", status_.name}, {"pid", status_.pid}, {"signal", launch_.spec.stop.signal}});
    child_.signal(launch_.spec.stop.signal);  // the whole process group
    timer_.expires_after(launch_.spec.stop.timeout);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive](boost::system::error_code ec) {
        if (ec || alive.expired() || status_.state != ServiceState::stopping) return;
        log::warn("supervisor", "service did not stop in time; killing its process group",
                  {{"service", status_.name}, {"timeout", format_duration(launch_.spec.stop.timeout)}});
        child_.signal(SIGKILL);
    });
}

void ServiceRunner::spawn_now() {
    status_.next_start.reset();
    status_.ready = false;
    status_.last_error.clear();
    ProcessOptions o;
    o.argv = launch_.spec.command;
    o.cwd = launch_.workdir;
    o.env = launch_.env;
    o.inherit_env = false;
    o.user = launch_.spec.user;
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = ProcessOptions::kPipe;
    o.new_process_group = true;
    o.parent_death_signal = SIGKILL;  // spawned on the loop thread, which lives as long as steward
    started_steady_ = SteadyClock::now();
    try {
        child_ = spawn(o);
        exit_watch_ = std::make_unique<probes::ExitWatch>(io_, child_.pid());
    } catch (const std::exception& e) {
        // Not startable (program missing, unknown user, bad workdir): an exit like any other.
        status_.last_error = e.what();
        log::error("supervisor", "cannot start service", {{"service", status_.name}, {"error", e.what()}});
        child_ = Child();
        status_.pid = 0;
        status_.state = ServiceState::starting;
        boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
            if (!alive.expired()) on_exit();
        });
        return;
    }
    status_.pid = child_.pid();
    status_.started_at = std::chrono::system_clock::now();
    status_.state = ServiceState::starting;
    std::weak_ptr<bool> alive = alive_;
    auto reader = [this, alive](bool from_stderr) {
        return [this, alive, from_stderr](std::string_view line, bool truncated) {
            if (!alive.expired()) log_line(line, truncated, from_stderr);
        };
    };
    if (out_) out_->stop();
    if (err_) err_->stop();
    out_ = probes::LineReader::start(io_, dup_cloexec(child_.stdout_fd()), kMaxLine, reader(false));
    err_ = probes::LineReader::start(io_, dup_cloexec(child_.stderr_fd()), kMaxLine, reader(true));
    exit_watch_->async_wait([this, alive] {
        if (!alive.expired()) on_exit();
    });
    log::info("supervisor", "service started", {{"service", status_.name}, {"pid", status_.pid}});
    begin_readiness();
}

void ServiceRunner::begin_readiness() {
    if (!launch_.spec.readiness) return became_ready();
    if (!readiness_) {
        try {
            readiness_ = probes::make_check(*launch_.spec.readiness, readiness_env_);
        } catch (const std::exception& e) {
            log::error("supervisor", "readiness check unusable",
                       {{"service", status_.name}, {"error", e.what()}});
            return;
        }
    }
    check_readiness();
}

void ServiceRunner::check_readiness() {
    if (status_.state != ServiceState::starting || !readiness_) return;
    auto left = std::chrono::duration_cast<Duration>(ready_deadline_ - SteadyClock::now());
    auto timeout = std::clamp(left, Duration(100), Duration(5000));
    std::weak_ptr<bool> alive = alive_;
    pid_t pid = status_.pid;
    readiness_->run(timeout, [this, alive, pid](probes::CheckResult r) {
        if (alive.expired() || status_.state != ServiceState::starting || status_.pid != pid) return;
        if (r.ok) return became_ready();
        if (SteadyClock::now() >= ready_deadline_) {
            std::string why = fmt::format("not ready within {} ({})",
                                          format_duration(launch_.spec.readiness_timeout), r.error);
            log::error("supervisor", "service did not become ready; killing it",
                       {{"service", status_.name}, {"reason", r.error}});
            status_.last_error = why;
            report_ready(false, why);
            child_.signal(SIGKILL);  // the exit path applies the restart policy
            return;
        }
        ready_timer_.expires_after(kReadinessRetry);
        ready_timer_.async_wait([this, alive, pid](boost::system::error_code ec) {
            if (!ec && !alive.expired() && status_.pid == pid) check_readiness();
        });
    });
}

void ServiceRunner::became_ready() {
    status_.state = ServiceState::running;
    status_.ready = true;
    log::info("supervisor", "service ready", {{"service", status_.name}, {"pid", status_.pid}});
    report_ready(true, {});
    // Leaving a crash loop does not wait for the next exit: a run of backoff_max is stable.
    timer_.expires_after(launch_.spec.restart.backoff_max);
    std::weak_ptr<bool> alive = alive_;
    pid_t pid = status_.pid;
    timer_.async_wait([this, alive, pid](boost::system::error_code ec) {
        if (ec || alive.expired() || status_.pid != pid || status_.state != ServiceState::running) return;
        history_.quick_failures = 0;
        history_.starts.clear();
        if (history_.crashloop) {
            history_.crashloop = false;
            status_.crashloop = false;
            log::info("supervisor", "service left its crash loop", {{"service", status_.name}});
        }
    });
}

void ServiceRunner::report_ready(bool ok, const std::string& why) {
    deadline_timer_.cancel();
    if (!on_ready_) return;
    auto cb = std::move(on_ready_);
    on_ready_ = nullptr;
    cb(ok, why);
}

void ServiceRunner::on_exit() {
    int status = 127;  // could not be started
    if (child_.pid() > 0) {
        child_.signal(SIGKILL);  // grandchildren left in its group, before the reap frees the group id
        status = child_.try_wait().value_or(255);
    }
    exit_watch_.reset();
    ready_timer_.cancel();
    timer_.cancel();
    if (readiness_) readiness_->cancel();
    auto uptime = std::chrono::duration_cast<Duration>(SteadyClock::now() - started_steady_);
    status_.last_exit = ExitInfo{status, std::chrono::system_clock::now(), describe_status(status)};
    status_.pid = 0;
    status_.ready = false;
    bool was_stopping = status_.state == ServiceState::stopping;
    child_ = Child();
    if (was_stopping || !want_running_) {
        log::info("supervisor", "service stopped",
                  {{"service", status_.name}, {"exit", status_.last_exit->description}});
        status_.state = ServiceState::stopped;
        if (on_stopped_) {
            auto cb = std::move(on_stopped_);
            on_stopped_ = nullptr;
            cb();
        }
        if (want_running_ && restart_requested_) {  // a requested restart: up again at once
            restart_requested_ = false;
            history_ = RestartHistory{};
            status_.crashloop = false;
            ready_deadline_ = SteadyClock::now() + launch_.spec.readiness_timeout;
            spawn_now();
        }
        return;
    }
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    auto d = decide_restart(launch_.spec.restart, history_, status, uptime, SteadyClock::now(), jitter(rng_));
    if (d.crashloop && !status_.crashloop)
        log::error("supervisor", "service is crash looping; retrying at the maximum backoff",
                   {{"service", status_.name},
                    {"max_restarts", launch_.spec.restart.max_restarts},
                    {"window", format_duration(launch_.spec.restart.window)}});
    status_.crashloop = d.crashloop;
    if (!d.restart) {
        log::warn("supervisor", "service exited; not restarting (restart policy)",
                  {{"service", status_.name}, {"exit", status_.last_exit->description}});
        status_.state = ServiceState::exited;
        want_running_ = false;
        report_ready(false, "exited with " + status_.last_exit->description);
        return;
    }
    ++status_.restarts;
    log::warn("supervisor", "service exited; restarting",
              {{"service", status_.name},
               {"exit", status_.last_exit->description},
               {"delay", format_duration(d.delay)},
               {"restarts", status_.restarts}});
    schedule_start(d.delay);
}

void ServiceRunner::schedule_start(Duration delay) {
    if (delay.count() <= 0) return spawn_now();
    status_.state = ServiceState::backoff;
    status_.next_start = std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(delay);
    timer_.expires_after(delay);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive](boost::system::error_code ec) {
        if (ec || alive.expired() || status_.state != ServiceState::backoff || !want_running_) return;
        spawn_now();
    });
}

void ServiceRunner::log_line(std::string_view line, bool truncated, bool /*from_stderr*/) {
    // sd-daemon(3) priority prefixes ("<3>...") keep their priority, as journald would.
    // Without one, stderr is info too: most programs write their ordinary log there.
    int prio = 6;
    if (line.size() >= 3 && line[0] == '<' && line[2] == '>' && line[1] >= '0' && line[1] <= '7') {
        prio = line[1] - '0';
        line.remove_prefix(3);
    }
    std::string text(line);
    if (truncated) text += " [line cut at 16 KiB]";
    // The logger is the service's name: `[chat-api] GET /health 200`.
    if (prio <= 3)
        log::error(status_.name, text);
    else if (prio == 4)
        log::warn(status_.name, text);
    else if (prio == 7)
        log::debug(status_.name, text);
    else
        log::info(status_.name, text);
}

}  // namespace steward::run
