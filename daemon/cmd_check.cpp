// steward check: runs the startup validation gate and reports findings as text or JSON (exit 0/1/2).
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "checks/gate.hpp"
#include "daemon/cli.hpp"

namespace steward::cli {
namespace {

struct CheckFlags {
    bool connect = false;
    bool no_secrets = false;
    bool list_rules = false;
};

struct Palette {
    bool on = false;
    std::string paint(const std::string& text, const char* code) const {
        return on ? fmt::format("\033[{}m{}\033[0m", code, text) : text;
    }
};

Palette palette() {
    const char* no_color = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    bool tty = ::isatty(STDOUT_FILENO) == 1;
    return {tty && (!no_color || !*no_color) && !(term && std::string(term) == "dumb")};
}

const char* colour(checks::Severity s) {
    switch (s) {
        case checks::Severity::error:
            return "1;31";
        case checks::Severity::warning:
            return "1;33";
        case checks::Severity::info:
            return "1;36";
    }
    return "0";
}

boost::json::value severity_json(const std::optional<checks::Severity>& s) {
    return s ? boost::json::value(checks::to_string(*s)) : boost::json::value(nullptr);
}

int list_rules(const Context& ctx) {
    const auto& all = checks::rules();
    if (ctx.global.json) {
        boost::json::array rules;
        for (const auto& r : all) {
            rules.push_back(boost::json::object{{"id", r.id},
                                                {"severity",
                                                 {{"development", severity_json(r.development)},
                                                  {"staging", severity_json(r.staging)},
                                                  {"production", severity_json(r.production)}}},
                                                {"needs", checks::to_string(r.needs)},
                                                {"why", r.why}});
        }
        ctx.print_json(boost::json::object{{"ok", true}, {"rules", std::move(rules)}});
        return kOk;
    }
    auto sev = [](const std::optional<checks::Severity>& s) {
        return s ? checks::to_string(*s) : std::string("-");
    };
    std::cout << fmt::format("{:<34} {:<11} {:<8} {:<10} {:<8} {}\n", "id", "development", "staging",
                             "production", "needs", "why");
    for (const auto& r : all)
        std::cout << fmt::format("{:<34} {:<11} {:<8} {:<10} {:<8} {}\n", r.id, sev(r.development),
                                 sev(r.staging), sev(r.production), checks::to_string(r.needs), r.why);
    return kOk;
}

void print_json(const Context& ctx, const Spec& spec, const std::vector<checks::Finding>& findings) {
    boost::json::array list;
    for (const auto& f : findings) {
        list.push_back(boost::json::object{
            {"id", f.id},
            {"severity", checks::to_string(f.severity)},
            {"path", f.path},
            {"line", f.line > 0 ? boost::json::value(f.line) : boost::json::value(nullptr)},
            {"message", f.message},
            {"hint", f.hint}});
    }
    ctx.print_json(boost::json::object{{"ok", checks::gate_passes(findings)},
                                       {"environment", to_string(spec.environment)},
                                       {"findings", std::move(list)}});
}

void print_text(const Spec& spec, const std::vector<checks::Finding>& findings, const CheckFlags& flags) {
    Palette p = palette();
    std::cout << fmt::format("steward check: {} ({}), spec {}\n", spec.name, to_string(spec.environment),
                             spec.file.string());
    const std::pair<checks::Severity, const char*> groups[] = {{checks::Severity::error, "errors"},
                                                               {checks::Severity::warning, "warnings"},
                                                               {checks::Severity::info, "info"}};
    int counts[3] = {0, 0, 0};
    for (std::size_t g = 0; g < 3; ++g) {
        auto [severity, title] = groups[g];
        for (const auto& f : findings) counts[g] += f.severity == severity;
        if (counts[g] == 0) continue;
        std::cout << "\n" << p.paint(fmt::format("{} ({})", title, counts[g]), colour(severity)) << "\n";
        for (const auto& f : findings) {
            if (f.severity != severity) continue;
            std::string where = f.line > 0 ? fmt::format("{} (line {})", f.path, f.line) : f.path;
            std::cout << fmt::format("  {}: {}  [{}]\n", p.paint(where, "1"), f.message, f.id);
            if (!f.hint.empty()) std::cout << fmt::format("      hint: {}\n", f.hint);
        }
    }
    bool ok = checks::gate_passes(findings);
    std::string summary =
        fmt::format("{}: {} error{}, {} warning{}, {} info", ok ? "gate passes" : "gate fails", counts[0],
                    counts[0] == 1 ? "" : "s", counts[1], counts[1] == 1 ? "" : "s", counts[2]);
    std::cout << "\n" << p.paint(summary, ok ? "1;32" : "1;31") << "\n";
    if (flags.no_secrets) std::cout << "secrets were not resolved (--no-secrets): secret rules skipped\n";
    if (!flags.connect) std::cout << "database not contacted (add --connect to check it)\n";
}

}  // namespace

void add_check_command(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<CheckFlags>();
    auto* cmd = app.add_subcommand("check",
                                   "Validate the spec and secrets before anything starts (the startup gate)");
    cmd->add_flag("--connect", flags->connect,
                  "Also connect to the database: version, pg_dump, migration lock");
    cmd->add_flag("--no-secrets", flags->no_secrets,
                  "Do not resolve secrets; skip the rules that need their values");
    cmd->add_flag("--list-rules", flags->list_rules, "List every rule with its severity per environment");
    cmd->callback([&ctx, flags] {
        ctx.action = [&ctx, flags] {
            if (flags->list_rules) return list_rules(ctx);
            const Spec& spec = ctx.spec();
            checks::GateOptions options;
            options.resolve_secrets = !flags->no_secrets;
            options.connect = flags->connect;
            // The embedded server is steward's own: start it so --connect has something to ask.
            if (flags->connect && spec.database.embedded) options.database_url = ctx.database("", false).url;
            auto findings = checks::run_gate(spec, options);
            if (ctx.global.json)
                print_json(ctx, spec, findings);
            else
                print_text(spec, findings, *flags);
            return checks::gate_passes(findings) ? kOk : kProblem;
        };
    });
}

}  // namespace steward::cli
