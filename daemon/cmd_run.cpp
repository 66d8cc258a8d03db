// steward run: the daemon's startup sequence. Built so far: the gate, then the migrations step.
#include <CLI/CLI.hpp>
#include <iostream>

#include "checks/gate.hpp"
#include "core/database_url.hpp"
#include "core/log.hpp"
#include "daemon/cli.hpp"
#include "migrate/migrator.hpp"

namespace steward::cli {

// The startup sequence up to where the daemon will take over; returns the exit code.
static int start(Context& ctx) {
    const Spec& spec = ctx.spec();
    // Nothing touches the database or starts a service before the gate passed.
    if (checks::run_startup_gate(spec) != 0) {
        if (ctx.global.json)
            ctx.print_json(error_json("the startup gate found errors; steward did not start"));
        return kProblem;
    }
    std::string url = ctx.database("", false).url;
    std::string summary;
    if (migrate::run_startup_migrations(spec.migrations, migrations_database_url(spec, url), &summary) != 0) {
        log::error("run", "migrations step failed; steward did not start", {{"detail", summary}});
        if (ctx.global.json) ctx.print_json(error_json("migrations step failed: " + summary));
        return kProblem;
    }
    log::info("run", "migrations step done", {{"detail", summary}});
    std::string msg =
        "the gate and migrations passed, but the daemon itself (supervision, probes, metrics) is not built "
        "yet";
    if (ctx.global.json)
        ctx.print_json(error_json(msg));
    else
        std::cerr << "steward: " << msg << std::endl;
    return kUsage;
}

void add_run_command(CLI::App& app, Context& ctx) {
    auto* cmd = app.add_subcommand(
        "run",
        "Run the daemon: the startup gate, then migrations (supervision and the rest are not built yet)");
    cmd->callback([&ctx] { ctx.action = [&ctx] { return start(ctx); }; });
}

}  // namespace steward::cli
