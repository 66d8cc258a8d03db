// What the admin API may ask of the daemon: service and probe commands, backups, migrations, reload, check.
#include <fmt/format.h>

#include "checks/gate.hpp"
#include "core/database_url.hpp"
#include "core/log.hpp"
#include "daemon/run/daemon.hpp"
#include "migrate/migrator.hpp"

namespace steward::run {
namespace {

CommandResult not_found(const std::string& what, const std::string& name) {
    return {CommandResult::Code::not_found, fmt::format("no {} named '{}'", what, name), {}};
}

CommandResult not_ready(const DaemonState& s) {
    return {CommandResult::Code::unavailable,
            s.phase == Phase::stopping ? "steward is stopping" : "steward is still starting",
            {}};
}

}  // namespace

CommandResult Daemon::restart_service(const std::string& name) {
    if (state_.phase != Phase::ready) return not_ready(state_);
    auto* r = supervisor_->find(name);
    if (!r) return not_found("service", name);
    r->restart();
    event("service", name + " restart requested", true);
    return {CommandResult::Code::accepted, "restarting " + name, {}};
}

CommandResult Daemon::stop_service(const std::string& name) {
    if (state_.phase != Phase::ready) return not_ready(state_);
    auto* r = supervisor_->find(name);
    if (!r) return not_found("service", name);
    if (!r->wants_running() && r->status().state == ServiceState::stopped)
        return {CommandResult::Code::ok, name + " is already stopped", {}};
    r->stop();
    event("service", name + " stop requested", true);
    return {CommandResult::Code::accepted, "stopping " + name, {}};
}

CommandResult Daemon::start_service(const std::string& name) {
    if (state_.phase != Phase::ready) return not_ready(state_);
    auto* r = supervisor_->find(name);
    if (!r) return not_found("service", name);
    if (r->wants_running() && r->status().state != ServiceState::backoff)
        return {CommandResult::Code::ok, name + " is already running", {}};
    r->start();
    event("service", name + " start requested", true);
    return {CommandResult::Code::accepted, "starting " + name, {}};
}

CommandResult Daemon::run_probe(const std::string& name) {
    if (state_.phase != Phase::ready) return not_ready(state_);
    for (auto& p : probes_)
        if (p->spec().name == name) {
            if (!p->run_now())
                return {CommandResult::Code::conflict, "probe " + name + " is running right now", {}};
            return {CommandResult::Code::accepted, "probe " + name + " started", {}};
        }
    return not_found("probe", name);
}

CommandResult Daemon::start_backup() {
    if (state_.phase != Phase::ready) return not_ready(state_);
    if (!spec_->backups)
        return {
            CommandResult::Code::unavailable, "no backups section in the spec: nothing to back up into", {}};
    auto started = backups_.backup_now();
    if (!started.ok) return {CommandResult::Code::conflict, started.why, {}};
    event("backup", "backup " + started.id + " requested", true);
    return {CommandResult::Code::accepted, "backup started", started.id};
}

CommandResult Daemon::apply_migrations() {
    if (state_.phase != Phase::ready) return not_ready(state_);
    if (state_.migrations.running)
        return {CommandResult::Code::conflict, "migrations are being applied right now", {}};
    std::string url;
    try {
        url = migrations_database_url(*spec_, database_url_);  // migrations.database_url, when set
    } catch (const std::exception& e) {
        return {CommandResult::Code::unavailable, redact(e.what()), {}};
    }
    state_.migrations.running = true;
    auto options = migrate::options_from_spec(spec_->migrations, url);
    struct Outcome {
        bool ok = false;
        std::string text;
        std::size_t applied = 0;
    };
    submit<Outcome>(
        [options]() {
            migrate::Migrator m(options);
            auto r = m.up(std::nullopt);
            Outcome o;
            o.ok = r.ok();
            o.applied = r.done.size();
            o.text = migrate::to_text(r, "applied");
            return o;
        },
        [this](Outcome o, std::string error) {
            state_.migrations.running = false;
            if (!error.empty()) o = {false, redact(error), 0};
            state_.migrations.last_apply = o.text;
            if (o.ok)
                log::info("migrate", "migrations applied", {{"applied", static_cast<int>(o.applied)}});
            else
                log::error("migrate", "applying migrations failed", {{"detail", o.text}});
            event("migration",
                  o.ok ? fmt::format("{} migration(s) applied", o.applied) : "apply failed: " + o.text, o.ok);
            if (!stopping_) refresh_migrations();
        });
    return {CommandResult::Code::accepted, "applying pending migrations", {}};
}

std::vector<checks::Finding> Daemon::check() const { return checks::run_gate(*spec_); }

std::string Daemon::database_url_for(const Spec& next) const {
    if (spec_->database.embedded || !next.database.url) return database_url_;  // embedded: restart to change
    return *next.database.url;
}

ReloadResult Daemon::reload(bool dry_run) {
    ReloadResult out;
    if (state_.phase != Phase::ready) {
        out.errors.push_back(not_ready(state_).message);
        return out;
    }
    if (reloading_) {
        out.errors.push_back("a reload is being applied right now");
        return out;
    }
    Spec next;
    try {
        next = options_.load_spec(options_.spec_path);
    } catch (const std::exception& e) {
        out.errors.push_back(redact(e.what()));
        if (!dry_run) ++state_.reload_failures_total;
        return out;
    }
    std::vector<checks::Finding> findings;
    if (checks::run_startup_gate(next, {}, &findings) != 0) {
        for (const auto& f : findings)
            if (f.severity == checks::Severity::error)
                out.errors.push_back(fmt::format("{}: {} [{}]", f.path, f.message, f.id));
        if (!dry_run) ++state_.reload_failures_total;
        return out;
    }
    out.ok = true;
    auto secrets = resolve_secrets(next);
    std::string url = database_url_for(next);
    ServiceEnvs next_envs;
    auto next_launches = launches(next, secrets, url, &next_envs);
    out.plan = plan_reload(*spec_, envs_, next, next_envs);
    for (const auto& k : out.plan.restart_required)
        log::warn("run", "this key changes only when steward restarts; keeping the old value", {{"key", k}});
    if (dry_run) return out;

    auto applied = std::make_shared<const Spec>(keep_restart_keys(*spec_, std::move(next)));
    spec_ = applied;
    secrets_ = std::move(secrets);
    database_url_ = url;
    envs_ = std::move(next_envs);
    state_.gate = {};
    for (const auto& f : findings) {
        if (f.severity == checks::Severity::warning) ++state_.gate.warnings;
        if (f.severity == checks::Severity::info) ++state_.gate.infos;
    }
    log::Options lo;
    lo.level = options_.log_level_flag.empty() ? spec_->logging.level : options_.log_level_flag;
    lo.format = log::parse_format(options_.log_format_flag.empty() ? spec_->logging.format
                                                                   : options_.log_format_flag);
    log::setup(lo);
    std::set<std::string> rebuild(out.plan.probes_changed.begin(), out.plan.probes_changed.end());
    build_probes(rebuild);
    backups_.configure(spec_, database_url_);
    std::set<std::string> changed;
    for (const auto& c : out.plan.services_changed) changed.insert(c.name);
    // Services rebuilt from the applied spec (the restart-only keys put back).
    next_launches = launches(*spec_, secrets_, database_url_, nullptr);
    reloading_ = true;
    std::weak_ptr<bool> alive = alive_;
    supervisor_->apply(std::move(next_launches), changed, [this, alive] {
        if (!alive.expired()) reloading_ = false;
    });
    ++state_.reloads_total;
    out.applied = true;
    log::info("run", "spec reloaded", {{"plan", to_text(out.plan)}});
    event("reload", out.plan.changes_anything() ? "spec reloaded" : "spec reloaded: nothing changed", true);
    return out;
}

}  // namespace steward::run
