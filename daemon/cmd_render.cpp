// steward render: rendering deployment files (not built yet; says so and exits 2).
#include <CLI/CLI.hpp>
#include <iostream>

#include "daemon/cli.hpp"

namespace steward::cli {

void add_render_command(CLI::App& app, Context& ctx) {
    auto* cmd = app.add_subcommand("render", "rendering deployment files (not built yet)");
    cmd->allow_extras();
    cmd->callback([&ctx] {
        ctx.action = [&ctx] {
            std::string msg = "'steward render' (rendering deployment files) is not built yet";
            if (ctx.global.json)
                ctx.print_json(error_json(msg));
            else
                std::cerr << "steward: " << msg << std::endl;
            return kUsage;
        };
    });
}

}  // namespace steward::cli
