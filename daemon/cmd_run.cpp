// steward run: the gate, then the daemon (database, migrations, services, probes, schedules) until a signal.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "core/log.hpp"
#include "daemon/admin/api.hpp"
#include "daemon/admin/server.hpp"
#include "daemon/cli.hpp"
#include "daemon/run/daemon.hpp"

namespace steward::cli {

// Admin connections and children's pipes need descriptors: the soft limit goes up to the hard one.
static void raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int start(Context& ctx) {
    const Spec& spec = ctx.spec();
    boost::asio::io_context io(1);
    run::DaemonOptions options;
    options.spec = std::make_shared<const Spec>(spec);
    options.spec_path = spec.file;
    options.load_spec = load_checked_spec;
    // The embedded server is steward's child, started from a worker thread that lives as long as the daemon.
    options.start_database = [&ctx] { return ctx.database("", false).url; };
    options.version = STEWARD_VERSION;
    if (ctx.global.log_level_given) options.log_level_flag = ctx.global.log_level;
    if (ctx.global.log_format_given) options.log_format_flag = ctx.global.log_format;
    run::Daemon daemon(io, options);
    // Nothing touches the database or starts a service before the gate passed.
    if (!daemon.pass_gate()) {
        if (ctx.global.json)
            ctx.print_json(error_json("the startup gate found errors; steward did not start"));
        return kProblem;
    }
    raise_fd_limit();
    // The listener binds right after the gate, so /readyz says 503 while migrations run.
    admin::AdminApi api(daemon);
    admin::Server server(io, [&api](const admin::Request& r) { return api.handle(r); });
    try {
        server.listen(daemon.spec().admin.listen);
    } catch (const std::exception& e) {
        log::error("admin", "cannot start the admin API; steward did not start", {{"error", e.what()}});
        if (ctx.global.json) ctx.print_json(error_json(e.what()));
        return kProblem;
    }
    int rc = daemon.run();
    if (rc != 0 && ctx.global.json) ctx.print_json(error_json("steward did not start; see the log"));
    return rc;
}

void add_run_command(CLI::App& app, Context& ctx) {
    auto* cmd = app.add_subcommand(
        "run",
        "Run the daemon: the gate, migrations, supervised services, probes, scheduled backups, sd_notify");
    cmd->callback([&ctx] { ctx.action = [&ctx] { return start(ctx); }; });
}

}  // namespace steward::cli
