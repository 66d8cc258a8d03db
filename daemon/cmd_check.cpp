// steward check: runs the startup validation gate and reports findings as text or JSON (exit 0/1/2).
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "checks/gate.hpp"
#include "core/small_file.hpp"
#include "daemon/cli.hpp"

namespace steward::cli {
namespace {

struct CheckFlags {
    bool connect = false;
    bool lint = false;
    bool no_secrets = false;  // the old name of --lint
    bool list_rules = false;
    std::string environment;  // --environment, with --lint
    std::string env_file;     // --env-file
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
                                                {"waivable", r.waivable},
                                                {"why", r.why}});
        }
        ctx.print_json(boost::json::object{{"ok", true}, {"rules", std::move(rules)}});
        return kOk;
    }
    auto sev = [](const std::optional<checks::Severity>& s) {
        return s ? checks::to_string(*s) : std::string("-");
    };
    std::cout << fmt::format("{:<34} {:<11} {:<8} {:<10} {:<8} {:<8} {}\n", "id", "development", "staging",
                             "production", "needs", "waivable", "why");
    for (const auto& r : all)
        std::cout << fmt::format("{:<34} {:<11} {:<8} {:<10} {:<8} {:<8} {}\n", r.id, sev(r.development),
                                 sev(r.staging), sev(r.production), checks::to_string(r.needs),
                                 r.waivable ? "yes" : "no", r.why);
    return kOk;
}

boost::json::value text_or_null(const std::string& s) {
    return s.empty() ? boost::json::value(nullptr) : boost::json::value(s);
}

void print_json(const Context& ctx, const Spec& spec, const std::vector<checks::Finding>& findings,
                const std::vector<checks::Skipped>& skipped, bool lint) {
    boost::json::array list;
    boost::json::object counts{{"error", 0}, {"warning", 0}, {"info", 0}, {"waived", 0}};
    for (const auto& f : findings) {
        auto& n = counts[f.is_waived() ? "waived" : checks::to_string(f.severity)];
        n = n.as_int64() + 1;
        list.push_back(boost::json::object{
            {"id", f.id},
            {"severity", checks::to_string(f.severity)},
            {"path", f.path},
            {"line", f.line > 0 ? boost::json::value(f.line) : boost::json::value(nullptr)},
            {"file", text_or_null(f.file)},
            {"message", f.message},
            {"hint", f.hint},
            {"waived", f.is_waived()},
            {"reason", text_or_null(f.waived)}});
    }
    boost::json::array skips;
    for (const auto& s : skipped)
        skips.push_back(boost::json::object{{"path", s.path}, {"reason", s.reason}});
    ctx.print_json(boost::json::object{{"ok", checks::gate_passes(findings)},
                                       {"environment", to_string(spec.environment)},
                                       {"lint", lint},
                                       {"counts", std::move(counts)},
                                       {"findings", std::move(list)},
                                       {"skipped", std::move(skips)}});
}

std::string location(const checks::Finding& f) {
    if (!f.file.empty()) return fmt::format("{} ({}:{})", f.path, f.file, f.line);
    return f.line > 0 ? fmt::format("{} (line {})", f.path, f.line) : f.path;
}

void print_text(const Spec& spec, const std::vector<checks::Finding>& findings,
                const std::vector<checks::Skipped>& skipped, const CheckFlags& flags) {
    Palette p = palette();
    std::cout << fmt::format("steward check: {} ({}), spec {}\n", spec.name, to_string(spec.environment),
                             spec.file.string());
    const std::pair<checks::Severity, const char*> groups[] = {{checks::Severity::error, "errors"},
                                                               {checks::Severity::warning, "warnings"},
                                                               {checks::Severity::info, "info"}};
    int counts[3] = {0, 0, 0};
    for (std::size_t g = 0; g < 3; ++g) {
        auto [severity, title] = groups[g];
        for (const auto& f : findings) counts[g] += f.severity == severity && !f.is_waived();
        if (counts[g] == 0) continue;
        std::cout << "\n" << p.paint(fmt::format("{} ({})", title, counts[g]), colour(severity)) << "\n";
        for (const auto& f : findings) {
            if (f.severity != severity || f.is_waived()) continue;
            std::cout << fmt::format("  {}: {}  [{}]\n", p.paint(location(f), "1"), f.message, f.id);
            if (!f.hint.empty()) std::cout << fmt::format("      hint: {}\n", f.hint);
        }
    }
    int waived = static_cast<int>(std::count_if(findings.begin(), findings.end(),
                                                [](const checks::Finding& f) { return f.is_waived(); }));
    if (waived > 0) {
        std::cout << "\n" << p.paint(fmt::format("waived ({})", waived), "1") << "\n";
        for (const auto& f : findings) {
            if (!f.is_waived()) continue;
            std::cout << fmt::format("  {}: {}  [{}, {} if not waived]\n", p.paint(location(f), "1"),
                                     f.message, f.id, checks::to_string(f.severity));
            std::cout << fmt::format("      waived: {}\n", f.waived);
        }
    }
    bool ok = checks::gate_passes(findings);
    std::string summary =
        fmt::format("{}: {} error{}, {} warning{}, {} info{}", ok ? "gate passes" : "gate fails", counts[0],
                    counts[0] == 1 ? "" : "s", counts[1], counts[1] == 1 ? "" : "s", counts[2],
                    waived > 0 ? fmt::format(", {} waived", waived) : "");
    std::cout << "\n" << p.paint(summary, ok ? "1;32" : "1;31") << "\n";
    if (!skipped.empty()) {
        std::cout << "\nnot judged" << (flags.lint ? " (--lint)" : "") << ":\n";
        for (const auto& s : skipped) std::cout << fmt::format("  {}: {}\n", s.path, s.reason);
    }
    if (!flags.connect && !flags.lint) std::cout << "database not contacted (add --connect to check it)\n";
}

}  // namespace

void add_check_command(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<CheckFlags>();
    auto* cmd = app.add_subcommand("check",
                                   "Validate the spec and secrets before anything starts (the startup gate)");
    cmd->add_flag("--connect", flags->connect,
                  "Also connect to the database: version, pg_dump, migration lock");
    cmd->add_flag(
        "--lint", flags->lint,
        "CI mode: judge only the spec; resolve no secrets, folders, programs or env files, and treat "
        "an unset ${VAR} as unknown");
    cmd->add_flag("--no-secrets", flags->no_secrets, "The same as --lint (its old name)");
    cmd->add_option("--environment", flags->environment,
                    "With --lint: the environment, when the spec takes it from a ${VAR}")
        ->check(CLI::IsMember({"development", "staging", "production"}));
    cmd->add_option(
        "--env-file", flags->env_file,
        "Also judge the app's env file (the EnvironmentFile= of its unit): DEBUG, CORS_ORIGINS, ...");
    cmd->add_flag("--list-rules", flags->list_rules, "List every rule with its severity per environment");
    cmd->callback([&ctx, flags] {
        ctx.action = [&ctx, flags] {
            if (flags->list_rules) return list_rules(ctx);
            flags->lint = flags->lint || flags->no_secrets;
            if (flags->lint && flags->connect)
                throw CLI::ValidationError(
                    "--lint judges only the spec; it cannot be combined with --connect");
            if (!flags->environment.empty() && !flags->lint)
                throw CLI::ValidationError("--environment applies only with --lint");
            if (!flags->env_file.empty()) {
                SmallFile f = read_small_file(flags->env_file);
                if (!f.ok()) throw CLI::ValidationError("--env-file: " + f.error);
            }
            ctx.load.lint = flags->lint;
            if (!flags->environment.empty()) ctx.load.environment = parse_environment(flags->environment);
            const Spec& spec = ctx.spec();
            checks::GateOptions options;
            options.lint = flags->lint;
            options.resolve_secrets = !flags->lint;
            options.connect = flags->connect;
            if (!flags->env_file.empty()) options.env_file = std::filesystem::path(flags->env_file);
            // The embedded server is steward's own: start it so --connect has something to ask.
            if (flags->connect && spec.database.embedded) options.database_url = ctx.database("", false).url;
            if (flags->connect && spec.database.url && spec.database.password.is_secret()) {
                try {
                    options.database_url = ctx.spec_database_url();
                } catch (const std::runtime_error&) {
                    // secret.missing reports it; --connect then tries without the password
                }
            }
            std::vector<checks::Skipped> skipped;
            auto findings = checks::run_gate(spec, options, &skipped);
            if (ctx.global.json)
                print_json(ctx, spec, findings, skipped, flags->lint);
            else
                print_text(spec, findings, skipped, *flags);
            return checks::gate_passes(findings) ? kOk : kProblem;
        };
    });
}

}  // namespace steward::cli
