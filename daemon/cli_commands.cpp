// What the command line says about itself: unknown or missing commands named with the valid ones, and
// every subcommand's --help listing the options of the commands above it that work there too.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <string_view>

#include "daemon/cli.hpp"

namespace steward::cli {
namespace {

std::string names_of(CLI::App* app) {
    std::vector<std::string> names;
    for (auto* sub : app->get_subcommands({})) names.push_back(sub->get_name());
    return fmt::format("{}", fmt::join(names, ", "));
}

// The option `name` of `app` or a command above it (options fall through to their parents).
const CLI::Option* find_option(CLI::App* app, const std::string& name) {
    for (CLI::App* a = app; a; a = a->get_parent())
        if (const CLI::Option* o = a->get_option_no_throw(name)) return o;
    return nullptr;
}

std::string chain_of(CLI::App* app) {
    std::string out;
    for (CLI::App* a = app; a; a = a->get_parent()) out = a->get_name() + (out.empty() ? "" : " " + out);
    return out;
}

}  // namespace

std::string command_problem(CLI::App& app, int argc, char** argv) {
    CLI::App* cur = &app;
    bool help = false;
    for (int i = 1; i < argc; ++i) {
        std::string tok = argv[i];
        if (tok == "--") break;
        if (tok == "--help" || tok == "-h" || tok == "--help-all" || tok == "--version") help = true;
        if (tok.size() > 1 && tok[0] == '-') {
            if (tok.find('=') != std::string::npos) continue;
            const CLI::Option* o = find_option(cur, tok);
            if (o && o->get_items_expected_max() > 0) ++i;  // its value is not a command
            continue;
        }
        auto subs = cur->get_subcommands({});
        if (subs.empty()) return {};  // a leaf command's own arguments (backup verify ID)
        CLI::App* next = nullptr;
        for (auto* s : subs)
            if (s->get_name() == tok) next = s;
        if (!next)
            return fmt::format("unknown command '{}' for '{}' (its commands: {}; see '{} --help')", tok,
                               chain_of(cur), names_of(cur), chain_of(cur));
        cur = next;
    }
    if (help || cur->get_subcommands({}).empty() || cur->get_require_subcommand_min() == 0) return {};
    return fmt::format("'{}' needs a command: {} (see '{} --help')", chain_of(cur), names_of(cur),
                       chain_of(cur));
}

void add_inherited_options_help(CLI::App& app) {
    for (auto* sub : app.get_subcommands({})) {
        std::string lines;
        for (CLI::App* a = sub->get_parent(); a; a = a->get_parent())
            for (const CLI::Option* o : a->get_options()) {
                std::string name = o->get_name();
                if (name == "--help" || name == "--version" || name.empty()) continue;
                std::string type = o->get_type_name();
                std::string arg = o->get_items_expected_max() > 0 ? " " + type.substr(0, type.find(':')) : "";
                lines += fmt::format("  {:<30} {}\n", name + arg, o->get_description());
            }
        if (!lines.empty())
            sub->footer(fmt::format("Options of '{}' that work here too (before or after '{}'):\n{}",
                                    chain_of(sub->get_parent()), sub->get_name(), lines));
        add_inherited_options_help(*sub);
    }
}

}  // namespace steward::cli
