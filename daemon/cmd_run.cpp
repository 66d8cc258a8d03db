// steward run: the daemon (not built yet; says so and exits 2).
#include <iostream>

#include <CLI/CLI.hpp>

#include "daemon/cli.hpp"

namespace steward::cli {

void add_run_command(CLI::App& app, Context& ctx) {
    auto* cmd = app.add_subcommand("run", "the daemon (not built yet)");
    cmd->allow_extras();
    cmd->callback([&ctx] {
        ctx.action = [&ctx] {
            std::string msg = "'steward run' (the daemon) is not built yet";
            if (ctx.global.json) ctx.print_json(error_json(msg));
            else std::cerr << "steward: " << msg << std::endl;
            return kUsage;
        };
    });
}

}  // namespace steward::cli
