// `steward run`: the startup sequence, the loop, signals and reload, and what the admin API reads and asks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checks/gate.hpp"
#include "core/secret.hpp"
#include "core/spec.hpp"
#include "daemon/probes/prober.hpp"
#include "daemon/run/backup_jobs.hpp"
#include "daemon/run/notify.hpp"
#include "daemon/run/reload.hpp"
#include "daemon/run/state.hpp"
#include "daemon/run/supervisor.hpp"
#include "daemon/run/worker_pool.hpp"

namespace steward::run {

struct DaemonOptions {
    std::shared_ptr<const Spec> spec;
    std::filesystem::path spec_path;  // re-read on reload
    // Loads and validates a spec as `steward check` does (throws SpecError).
    std::function<Spec(const std::filesystem::path&)> load_spec;
    // Runs on a worker: starts database.embedded when configured; returns the effective database URL.
    std::function<std::string()> start_database;
    std::string version;
    std::string
        log_level_flag;  // --log-level / --log-format as given ("" when not): they win over the spec's
    std::string log_format_flag;
};

// What the admin API and the console are told about.
struct DaemonEvents {
    std::function<void(const std::string& probe, const probes::CheckResult&)> probe_result;
    // kind: service | probe | backup | drill | migration | reload | daemon
    std::function<void(const std::string& kind, const std::string& text, bool ok)> event;
};

// The outcome of a command from the admin API.
struct CommandResult {
    enum class Code { ok, accepted, not_found, conflict, unavailable } code = Code::ok;
    std::string message;
    std::string id;  // e.g. the backup id
};

struct ReloadResult {
    bool ok = false;                  // loaded and passed the gate
    std::vector<std::string> errors;  // why it was refused
    ReloadPlan plan;
    bool applied = false;
};

class Daemon {
  public:
    Daemon(boost::asio::io_context& io, DaemonOptions options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // The gate, logged finding by finding. False: steward must not start (exit 1); nothing was started.
    bool pass_gate();
    // The startup sequence, then the loop until SIGTERM/SIGINT (or a failed start). Returns the exit code.
    int run();
    // Ends the loop as SIGTERM does (tests, the admin API never).
    void shutdown();

    // --- what the admin API reads (on the loop thread) ---
    const DaemonState& state() const { return state_; }
    const Spec& spec() const { return *spec_; }
    std::vector<ServiceStatus> services() const;
    const std::vector<std::unique_ptr<probes::Probe>>& probes() const { return probes_; }
    std::optional<Secret> admin_token() const;
    const std::string& version() const { return options_.version; }
    DaemonEvents& events() { return events_; }

    // --- what it may ask (on the loop thread) ---
    CommandResult restart_service(const std::string& name);
    CommandResult stop_service(const std::string& name);
    CommandResult start_service(const std::string& name);
    CommandResult run_probe(const std::string& name);
    CommandResult start_backup();
    CommandResult apply_migrations();
    ReloadResult reload(bool dry_run);
    std::vector<checks::Finding> check() const;

  private:
    void start_database();
    void start_migrations();
    void start_services();
    void became_ready();
    void fail_startup(const std::string& why);
    void maybe_finish();
    void wait_signals();
    void extend_while_starting();
    void build_probes(const std::set<std::string>& rebuild = {});
    void refresh_migrations();
    std::vector<ServiceLaunch> launches(const Spec& spec,
                                        const std::map<std::string, ResolvedSecret>& secrets,
                                        const std::string& url, ServiceEnvs* envs) const;
    void event(const std::string& kind, const std::string& text, bool ok);
    std::string database_url_for(const Spec& next) const;
    // Blocking work on the pool; shutdown waits for it.
    template <class T>
    void submit(std::function<T()> work, std::function<void(T, std::string)> done) {
        ++pending_jobs_;
        std::weak_ptr<bool> alive = alive_;
        pool_.submit<T>(std::move(work), [this, alive, done = std::move(done)](T result, std::string error) {
            if (alive.expired()) return;
            --pending_jobs_;
            done(std::move(result), std::move(error));
            maybe_finish();
        });
    }

    boost::asio::io_context& io_;
    DaemonOptions options_;
    std::shared_ptr<const Spec> spec_;
    std::map<std::string, ResolvedSecret> secrets_;
    ServiceEnvs envs_;
    std::string database_url_;
    DaemonState state_;
    DaemonEvents events_;
    Notifier notifier_;
    WorkerPool pool_;
    boost::asio::ssl::context tls_;
    std::unique_ptr<Supervisor> supervisor_;  // made once the database URL is known
    BackupJobs backups_;
    std::vector<std::unique_ptr<probes::Probe>> probes_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer extend_timer_;
    boost::asio::steady_timer migrations_timer_;
    int pending_jobs_ = 0;
    int exit_code_ = 0;
    bool stopping_ = false;
    bool services_stopped_ = false;
    bool waiting_for_backup_ = false;
    bool reloading_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::run
