// Scheduled, caught-up, retried and requested backups, and restore drills, one at a time per process.
#include "daemon/run/backup_jobs.hpp"

#include <fmt/format.h>

#include "backup/backup_job.hpp"
#include "backup/manifest.hpp"
#include "backup/schedule.hpp"
#include "core/log.hpp"

namespace steward::run {
namespace {

constexpr auto kRefreshEvery = std::chrono::minutes(5);

TimePoint from_unix(double seconds) {
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::duration<double>(seconds)));
}

// A failed scheduled backup is retried once, after a tenth of the schedule's gap (1 s to 5 min).
std::chrono::milliseconds retry_delay(const std::optional<double>& gap_seconds) {
    double s = gap_seconds ? *gap_seconds / 10 : 300;
    return std::chrono::milliseconds(static_cast<long long>(std::clamp(s, 1.0, 300.0) * 1000));
}

}  // namespace

BackupJobs::BackupJobs(boost::asio::io_context& io, WorkerPool& pool, BackupState& state)
    : io_(io), pool_(pool), state_(state), retry_timer_(io), refresh_timer_(io) {}

BackupJobs::~BackupJobs() {
    *alive_ = false;
    if (cancel_) *cancel_ = true;
}

void BackupJobs::configure(std::shared_ptr<const Spec> spec, std::string database_url) {
    bool rearm = !spec_ || !(spec_->backups == spec->backups) || spec_->timezone != spec->timezone;
    spec_ = std::move(spec);
    database_url_ = std::move(database_url);
    state_.configured = spec_->backups.has_value();
    if (!rearm) return;
    backup_timer_.reset();
    drill_timer_.reset();
    state_.schedule_max_gap_seconds.reset();
    if (!spec_->backups) return;
    const date::time_zone* tz = backup::find_time_zone(spec_->timezone);
    std::weak_ptr<bool> alive = alive_;
    if (spec_->backups->schedule) {
        auto schedule = backup::CronSchedule::parse(*spec_->backups->schedule);
        state_.schedule_max_gap_seconds =
            static_cast<double>(schedule.max_gap(std::chrono::system_clock::now(), tz).count());
        backup_timer_ = std::make_unique<CronTimer>(io_, schedule, tz, [this, alive](TimePoint slot) {
            if (alive.expired()) return;
            launch(Kind::scheduled, slot);
            update_next_runs();
        });
    }
    if (spec_->backups->drill_schedule) {
        drill_timer_ = std::make_unique<CronTimer>(
            io_, backup::CronSchedule::parse(*spec_->backups->drill_schedule), tz, [this, alive](TimePoint) {
                if (alive.expired()) return;
                launch_drill();
                update_next_runs();
            });
    }
    if (started_) {
        if (backup_timer_) backup_timer_->start();
        if (drill_timer_) drill_timer_->start();
    }
    update_next_runs();
}

void BackupJobs::update_next_runs() {
    state_.next_run = backup_timer_ ? backup_timer_->next() : std::nullopt;
    state_.next_drill = drill_timer_ ? drill_timer_->next() : std::nullopt;
}

void BackupJobs::start() {
    started_ = true;
    if (backup_timer_) backup_timer_->start();
    if (drill_timer_) drill_timer_->start();
    update_next_runs();
    refresh();
}

void BackupJobs::stop() {
    started_ = false;
    if (backup_timer_) backup_timer_->stop();
    if (drill_timer_) drill_timer_->stop();
    retry_timer_.cancel();
    refresh_timer_.cancel();
    if (cancel_) *cancel_ = true;
    update_next_runs();
}

BackupJobs::Started BackupJobs::backup_now() { return launch(Kind::manual, std::nullopt); }

BackupJobs::Started BackupJobs::launch(Kind kind, std::optional<TimePoint> slot) {
    static const char* names[] = {"scheduled", "manual", "retry", "catch_up", "drill"};
    const char* name = names[static_cast<int>(kind)];
    if (!spec_ || !spec_->backups) return {false, {}, "no backups section in the spec"};
    if (state_.running) {
        std::string why =
            fmt::format("a {} is running ({})", state_.running_kind == "drill" ? "restore drill" : "backup",
                        state_.running_id);
        if (kind != Kind::manual) {
            ++state_.skipped_total;
            log::warn("backup", "backup skipped: one is already running",
                      {{"kind", name}, {"running", state_.running_id}});
        }
        return {false, {}, why};
    }
    backup::BackupConfig config;
    try {
        config = backup::config_from_spec(*spec_, database_url_);
    } catch (const std::exception& e) {
        return {false, {}, e.what()};
    }
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    config.cancel = cancel_;
    if (kind == Kind::scheduled) config.slot = slot;  // another host may have taken this slot already
    state_.running = true;
    state_.running_kind = name;
    // The id the request is answered with is the one the backup takes (chosen here, not when it starts).
    config.id = backup::new_backup_id(config, std::chrono::system_clock::now());
    state_.running_id = config.id;
    log::info("backup", "backup job started", {{"kind", name}});
    std::weak_ptr<bool> alive = alive_;
    pool_.submit<backup::BackupOutcome>(
        [config]() { return backup::run_backup(config); },
        [this, alive, kind, name](backup::BackupOutcome out, std::string error) {
            if (alive.expired()) return;
            state_.running = false;
            state_.running_kind.clear();
            state_.running_id.clear();
            auto now = std::chrono::system_clock::now();
            if (!error.empty()) {
                out.status = backup::BackupOutcome::Status::failed;
                out.error = error;
            }
            bool retry = false;
            switch (out.status) {
                case backup::BackupOutcome::Status::published:
                    state_.last_success = BackupRecord{out.id, now, out.bytes, out.duration_seconds, {}};
                    if (out.offsite && out.offsite->ok) state_.offsite_last_success = now;
                    if (on_event)
                        on_event("backup", fmt::format("backup {} published ({} bytes)", out.id, out.bytes),
                                 true);
                    if (out.offsite && !out.offsite->ok && on_event)
                        on_event("backup", "off-site copy failed: " + out.offsite->error, false);
                    break;
                case backup::BackupOutcome::Status::skipped:
                    ++state_.skipped_total;
                    log::info("backup", "backup skipped", {{"kind", name}, {"reason", out.error}});
                    break;
                default:
                    if (out.error == "cancelled") {  // steward is stopping: not a failure of the backup
                        log::info("backup", "backup cancelled", {{"kind", name}});
                        break;
                    }
                    ++state_.failures_total;
                    state_.last_failure = BackupRecord{out.id, now, 0, out.duration_seconds, out.error};
                    if (on_event) on_event("backup", "backup failed: " + out.error, false);
                    retry = kind == Kind::scheduled || kind == Kind::catch_up;
            }
            if (retry && started_) {
                auto delay = retry_delay(state_.schedule_max_gap_seconds);
                log::warn("backup", "backup will be retried once",
                          {{"in_ms", static_cast<std::int64_t>(delay.count())}});
                retry_timer_.expires_after(delay);
                retry_timer_.async_wait([this, alive](boost::system::error_code ec) {
                    if (!ec && !alive.expired() && started_) launch(Kind::retry, std::nullopt);
                });
            }
            finished();
        });
    return {true, state_.running_id, {}};
}

void BackupJobs::launch_drill() {
    if (!spec_ || !spec_->backups) return;
    if (state_.running) {
        ++state_.skipped_total;
        log::warn("backup", "restore drill skipped: a backup job is running",
                  {{"running", state_.running_id}});
        return;
    }
    backup::BackupConfig config;
    try {
        config = backup::config_from_spec(*spec_, database_url_);
    } catch (const std::exception& e) {
        log::error("backup", "restore drill not started", {{"error", e.what()}});
        return;
    }
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    config.cancel = cancel_;
    state_.running = true;
    state_.running_kind = "drill";
    state_.running_id.clear();
    std::weak_ptr<bool> alive = alive_;
    pool_.submit<backup::DrillOutcome>(
        [config]() { return backup::run_drill(config); },
        [this, alive](backup::DrillOutcome r, std::string error) {
            if (alive.expired()) return;
            state_.running = false;
            state_.running_kind.clear();
            auto now = std::chrono::system_clock::now();
            // run_drill logs a drill it ran; what it could not log (no backup to drill, a throw) is logged here.
            bool logged = error.empty() && r.ran;
            if (!error.empty()) r.error = error, r.ok = false;
            state_.last_drill = now;
            if (r.ok) {
                state_.last_drill_success = BackupRecord{r.id, now, 0, r.duration_seconds, {}};
            } else if (r.error == "cancelled") {
                log::info("backup", "restore drill cancelled", {{"id", r.id}});
            } else {
                ++state_.drill_failures_total;
                state_.last_drill_failure = BackupRecord{r.id, now, 0, r.duration_seconds, r.error};
                if (!logged) log::error("backup", "restore drill failed", {{"id", r.id}, {"error", r.error}});
            }
            if (on_event)
                on_event("drill", r.ok ? "restore drill of " + r.id + " passed" : "restore drill failed: " + r.error, r.ok);
            finished();
        });
}

void BackupJobs::finished() {
    update_next_runs();
    if (on_idle) on_idle();
    if (started_) refresh();
}

void BackupJobs::refresh() {
    refresh_timer_.cancel();
    if (!spec_ || !spec_->backups) return;
    backup::BackupConfig config;
    try {
        config = backup::config_from_spec(*spec_, database_url_);
    } catch (const std::exception&) {
        return;
    }
    std::weak_ptr<bool> alive = alive_;
    bool catch_up = spec_->backups->catch_up && spec_->backups->schedule && !refreshed_once_;
    refreshed_once_ = true;
    struct Refresh {
        backup::BackupMetrics metrics;
        std::vector<backup::BackupInfo> list;
    };
    pool_.submit<Refresh>(
        [config]() {
            return Refresh{backup::backup_metrics(config), backup::list_backups(config.settings.dir)};
        },
        [this, alive, catch_up](Refresh fresh, std::string error) {
            if (alive.expired()) return;
            const auto& m = fresh.metrics;
            if (error.empty()) {
                state_.published.clear();
                for (const auto& b : fresh.list)
                    state_.published.push_back(
                        {b.id, b.finished, b.bytes, b.verified, b.format, b.compression, b.encrypted});
                state_.listed_at = std::chrono::system_clock::now();
            }
            if (error.empty() && m.last_success_timestamp) {
                auto at = from_unix(*m.last_success_timestamp);
                if (!state_.last_success || state_.last_success->at < at)
                    state_.last_success =
                        BackupRecord{{},
                                     at,
                                     static_cast<std::uint64_t>(m.last_size_bytes.value_or(0)),
                                     m.last_duration_seconds.value_or(0),
                                     {}};
            }
            if (error.empty() && m.last_drill_success_timestamp) {
                auto at = from_unix(*m.last_drill_success_timestamp);
                if (!state_.last_drill_success || state_.last_drill_success->at < at)
                    state_.last_drill_success = BackupRecord{{}, at, 0, 0, {}};
                state_.drill_failures_total = std::max<std::uint64_t>(state_.drill_failures_total,
                                                                      static_cast<std::uint64_t>(m.drill_failures_total));
            }
            if (error.empty() && m.offsite_last_success_timestamp) {
                auto at = from_unix(*m.offsite_last_success_timestamp);
                if (!state_.offsite_last_success || *state_.offsite_last_success < at)
                    state_.offsite_last_success = at;
            }
            if (catch_up && started_ && spec_->backups && spec_->backups->schedule) {
                std::optional<TimePoint> last;
                if (state_.last_success) last = state_.last_success->at;
                auto tz = backup::find_time_zone(spec_->timezone);
                if (backup::catch_up_due(last, std::chrono::system_clock::now(),
                                         backup::CronSchedule::parse(*spec_->backups->schedule), tz)) {
                    log::info("backup", "catching up a missed backup");
                    launch(Kind::catch_up, std::nullopt);
                }
            }
            refresh_timer_.expires_after(kRefreshEvery);
            refresh_timer_.async_wait([this, alive](boost::system::error_code ec) {
                if (!ec && !alive.expired() && started_ && !state_.running) refresh();
            });
        });
}

}  // namespace steward::run
