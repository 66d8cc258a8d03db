// Backups and restore drills on their schedules (and on request), run on the worker pool one at a time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/spec.hpp"
#include "daemon/run/cron_timer.hpp"
#include "daemon/run/state.hpp"
#include "daemon/run/worker_pool.hpp"

namespace steward::run {

class BackupJobs {
  public:
    BackupJobs(boost::asio::io_context& io, WorkerPool& pool, BackupState& state);
    ~BackupJobs();

    // The spec and database to back up; re-arms the schedules when they changed (a reload).
    void configure(std::shared_ptr<const Spec> spec, std::string database_url);
    // Arms the schedules and runs a missed backup (backups.catch_up).
    void start();
    // Disarms the schedules and asks a running job to stop.
    void stop();

    struct Started {
        bool ok = false;
        std::string id;   // the backup id it will publish under
        std::string why;  // not started: another one runs, or no backups section
    };
    Started backup_now();  // POST /api/v1/backups
    bool busy() const { return state_.running; }

    // Told when a job ends (shutdown waits for it) and about events worth a history entry.
    std::function<void()> on_idle;
    std::function<void(const std::string& kind, const std::string& text, bool ok)> on_event;

  private:
    enum class Kind { scheduled, manual, retry, catch_up, drill };
    Started launch(Kind kind, std::optional<TimePoint> slot);
    void launch_drill();
    void refresh();  // last success/failure and drills from the catalog (other hosts' backups too)
    void finished();
    void update_next_runs();

    boost::asio::io_context& io_;
    WorkerPool& pool_;
    BackupState& state_;
    std::shared_ptr<const Spec> spec_;
    std::string database_url_;
    std::unique_ptr<CronTimer> backup_timer_;
    std::unique_ptr<CronTimer> drill_timer_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer refresh_timer_;
    std::shared_ptr<std::atomic<bool>> cancel_;
    bool started_ = false;
    bool refreshed_once_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::run
