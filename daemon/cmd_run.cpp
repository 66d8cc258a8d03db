// steward run: the daemon. For now: load the spec, run the startup gate, refuse to start on an error.
#include <CLI/CLI.hpp>
#include <iostream>

#include "checks/gate.hpp"
#include "core/log.hpp"
#include "daemon/cli.hpp"

namespace steward::cli {

void add_run_command(CLI::App& app, Context& ctx) {
    auto* cmd = app.add_subcommand("run", "Run the daemon (the startup gate runs first)");
    cmd->allow_extras();
    cmd->callback([&ctx] {
        ctx.action = [&ctx] {
            const Spec& spec = ctx.spec();
            // Nothing touches the database or starts a service before the gate passed.
            if (checks::run_startup_gate(spec) != 0) {
                if (ctx.global.json)
                    ctx.print_json(error_json("the startup gate found errors; steward did not start"));
                return kProblem;
            }
            std::string msg = "the startup gate passed, but the daemon itself is not built yet";
            if (ctx.global.json)
                ctx.print_json(error_json(msg));
            else
                std::cerr << "steward: " << msg << std::endl;
            return kUsage;
        };
    });
}

}  // namespace steward::cli
