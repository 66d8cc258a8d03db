// The daemon: startup sequence (database, migrations, services, READY), shutdown in reverse, reload.
#include "daemon/run/daemon.hpp"

#include <fmt/format.h>
#include <signal.h>

#include "core/database_url.hpp"
#include "core/log.hpp"
#include "core/service_env.hpp"
#include "migrate/migrator.hpp"

namespace steward::run {
namespace {

constexpr auto kExtendEvery = std::chrono::seconds(5);
constexpr auto kExtendBy = std::chrono::seconds(15);
constexpr auto kMigrationRefresh = std::chrono::minutes(1);

std::string plural(std::size_t n, const char* word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, DaemonOptions options)
    : io_(io),
      options_(std::move(options)),
      spec_(options_.spec),
      notifier_(io),
      pool_(io, 4),
      tls_(boost::asio::ssl::context::tls_client),
      backups_(io, pool_, state_.backups),
      signals_(io, SIGTERM, SIGINT, SIGHUP),
      extend_timer_(io),
      migrations_timer_(io) {
    tls_.set_default_verify_paths();
    secrets_ = resolve_secrets(*spec_);
    backups_.on_event = [this](const std::string& kind, const std::string& text, bool ok) {
        event(kind, text, ok);
    };
    backups_.on_idle = [this] {
        waiting_for_backup_ = false;
        maybe_finish();
    };
}

Daemon::~Daemon() {
    *alive_ = false;
    probes_.clear();
    backups_.stop();
    supervisor_.reset();
    pool_.join();
}

std::optional<Secret> Daemon::admin_token() const { return secret_value(spec_->admin.token, secrets_); }

std::vector<ServiceStatus> Daemon::services() const {
    if (supervisor_) return supervisor_->statuses();
    std::vector<ServiceStatus> out;
    for (const auto& s : spec_->services) {
        ServiceStatus st;
        st.name = s.name;
        out.push_back(std::move(st));
    }
    return out;
}

void Daemon::event(const std::string& kind, const std::string& text, bool ok) {
    if (events_.event) events_.event(kind, text, ok);
}

bool Daemon::pass_gate() {
    std::vector<checks::Finding> findings;
    int rc = checks::run_startup_gate(*spec_, {}, &findings);
    state_.gate = {};
    for (const auto& f : findings) {
        if (f.severity == checks::Severity::error) ++state_.gate.errors;
        if (f.severity == checks::Severity::warning) ++state_.gate.warnings;
        if (f.severity == checks::Severity::info) ++state_.gate.infos;
    }
    return rc == 0;
}

int Daemon::run() {
    state_.started_at = std::chrono::system_clock::now();
    state_.phase = Phase::starting;
    wait_signals();
    notifier_.start_watchdog();
    start_database();
    io_.run();
    return exit_code_;
}

void Daemon::wait_signals() {
    std::weak_ptr<bool> alive = alive_;
    signals_.async_wait([this, alive](boost::system::error_code ec, int sig) {
        if (ec || alive.expired()) return;
        if (sig == SIGHUP) {
            log::info("run", "SIGHUP: reloading the spec", {{"spec", options_.spec_path.string()}});
            auto r = reload(false);
            if (!r.ok)
                for (const auto& e : r.errors)
                    log::error("run", "reload refused; the running spec stays", {{"error", e}});
        } else {
            log::info("run", "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
            shutdown();
        }
        wait_signals();
    });
}

void Daemon::extend_while_starting() {
    // systemd's start timeout must not kill a migration halfway: ask for more time while one runs.
    notifier_.extend_timeout(kExtendBy);
    extend_timer_.expires_after(kExtendEvery);
    std::weak_ptr<bool> alive = alive_;
    extend_timer_.async_wait([this, alive](boost::system::error_code ec) {
        if (!ec && !alive.expired() && state_.phase == Phase::starting && !stopping_) extend_while_starting();
    });
}

void Daemon::start_database() {
    state_.status_line = "starting: database";
    notifier_.status(state_.status_line);
    extend_while_starting();
    submit<std::string>(options_.start_database, [this](std::string url, std::string error) {
        if (stopping_) return;
        if (!error.empty()) return fail_startup("database: " + redact(error));
        database_url_ = std::move(url);
        start_migrations();
    });
}

void Daemon::start_migrations() {
    state_.status_line = "starting: migrations";
    notifier_.status(state_.status_line);
    state_.migrations.running = true;
    MigrationsSpec spec = spec_->migrations;
    std::string url = database_url_;
    std::shared_ptr<const Spec> full = spec_;  // migrations.database_url: the privileged role, when set
    struct Outcome {
        int rc = 1;
        std::string summary;
    };
    submit<Outcome>(
        [spec, url, full]() {
            Outcome o;
            o.rc = migrate::run_startup_migrations(spec, migrations_database_url(*full, url), &o.summary);
            return o;
        },
        [this](Outcome o, std::string error) {
            state_.migrations.running = false;
            if (stopping_) return;
            if (!error.empty()) o = {1, error};
            state_.migrations.last_apply = o.summary;
            if (o.rc != 0) return fail_startup("migrations: " + o.summary);
            log::info("run", "migrations step done", {{"detail", o.summary}});
            event("migration", o.summary, true);
            refresh_migrations();
            start_services();
        });
}

std::vector<ServiceLaunch> Daemon::launches(const Spec& spec,
                                            const std::map<std::string, ResolvedSecret>& secrets,
                                            const std::string& url, ServiceEnvs* envs) const {
    std::vector<ServiceLaunch> out;
    for (const auto& svc : spec.services) {
        auto env = resolve_service_env(spec, svc, secrets, url);
        for (const auto& p : env.problems)
            log::warn("supervisor", "service environment incomplete",
                      {{"service", svc.name}, {"problem", p}});
        ServiceLaunch l{svc, env.to_map(), svc.workdir.value_or(spec.folder)};
        if (envs) (*envs)[svc.name] = l.env;
        out.push_back(std::move(l));
    }
    return out;
}

void Daemon::start_services() {
    state_.status_line = "starting: services";
    notifier_.status(state_.status_line);
    supervisor_ =
        std::make_unique<Supervisor>(io_, probes::CheckEnvironment{io_, database_url_, spec_->folder, &tls_});
    try {
        supervisor_->define(launches(*spec_, secrets_, database_url_, &envs_));
    } catch (const std::exception& e) {
        return fail_startup(e.what());
    }
    supervisor_->start_all([this](bool ok, std::string why) {
        if (stopping_) return;
        if (!ok) return fail_startup(why);
        became_ready();
    });
}

void Daemon::became_ready() {
    state_.phase = Phase::ready;
    extend_timer_.cancel();
    state_.status_line = fmt::format("ready: {}, {}", plural(spec_->services.size(), "service"),
                                     plural(spec_->probes.size(), "probe"));
    notifier_.ready(state_.status_line);
    log::info("run", "steward is ready",
              {{"services", static_cast<int>(spec_->services.size())},
               {"probes", static_cast<int>(spec_->probes.size())}});
    event("daemon", "ready", true);
    build_probes();
    backups_.configure(spec_, database_url_);
    backups_.start();
}

void Daemon::build_probes(const std::set<std::string>& rebuild) {
    probes::CheckEnvironment env{io_, database_url_, spec_->folder, &tls_};
    std::weak_ptr<bool> alive = alive_;
    auto observer = [this, alive](const std::string& name, const probes::ProbeStatus& st,
                                  const probes::CheckResult& r, bool changed) {
        if (alive.expired()) return;
        if (events_.probe_result) events_.probe_result(name, r);
        if (changed && st.health != probes::Health::unknown)
            event("probe", name + (st.health == probes::Health::up ? " up" : " down: " + r.error),
                  st.health == probes::Health::up);
    };
    std::vector<std::unique_ptr<probes::Probe>> next;
    for (const auto& p : spec_->probes) {
        // An unchanged probe keeps its state and schedule.
        auto it = std::find_if(probes_.begin(), probes_.end(),
                               [&](const auto& old) { return old && old->spec() == p; });
        if (it != probes_.end() && !rebuild.count(p.name)) {
            next.push_back(std::move(*it));
            continue;
        }
        try {
            auto probe = std::make_unique<probes::Probe>(io_, p, probes::make_check(p.target, env), observer);
            probe->start();
            next.push_back(std::move(probe));
        } catch (const std::exception& e) {
            log::error("probe", "probe not started", {{"probe", p.name}, {"error", e.what()}});
        }
    }
    probes_ = std::move(next);
}

void Daemon::refresh_migrations() {
    migrations_timer_.cancel();
    auto options = migrate::options_from_spec(spec_->migrations, database_url_);
    options.connect_timeout = std::chrono::seconds(5);
    submit<migrate::StatusResult>(
        [options]() { return migrate::Migrator(options).status(); },
        [this](migrate::StatusResult r, std::string error) {
            auto& m = state_.migrations;
            m.checked_at = std::chrono::system_clock::now();
            m.error = redact(error);
            if (error.empty()) {
                m.known = true;
                m.current_version = r.current_version;
                m.applied = r.applied;
                m.pending = r.pending;
                m.failed = r.failed;
                m.entries.clear();
                for (const auto& e : r.entries)
                    m.entries.push_back({e.ref.version, e.ref.name, e.state, e.applied_at});
            }
            if (stopping_) return;
            migrations_timer_.expires_after(kMigrationRefresh);
            std::weak_ptr<bool> alive = alive_;
            migrations_timer_.async_wait([this, alive](boost::system::error_code ec) {
                if (!ec && !alive.expired() && !stopping_ && !state_.migrations.running) refresh_migrations();
            });
        });
}

void Daemon::fail_startup(const std::string& why) {
    log::error("run", "startup failed; stopping what was started", {{"reason", why}});
    event("daemon", "startup failed: " + why, false);
    exit_code_ = 1;
    shutdown();
}

void Daemon::shutdown() {
    if (stopping_) return;
    stopping_ = true;
    state_.phase = Phase::stopping;
    state_.status_line = "stopping";
    notifier_.stopping(state_.status_line);
    extend_timer_.cancel();
    migrations_timer_.cancel();
    probes_.clear();
    waiting_for_backup_ = backups_.busy();  // stop() asks it to end; on_idle says it did
    backups_.stop();
    if (!supervisor_) {
        services_stopped_ = true;
        return maybe_finish();
    }
    supervisor_->stop_all([this] {
        services_stopped_ = true;
        maybe_finish();
    });
}

void Daemon::maybe_finish() {
    if (!stopping_ || !services_stopped_ || pending_jobs_ > 0 || waiting_for_backup_) return;
    log::info("run", "stopped", {{"exit_code", exit_code_}});
    io_.stop();
}

}  // namespace steward::run
