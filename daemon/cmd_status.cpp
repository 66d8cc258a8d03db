// The admin API's client commands: steward status, restart NAME, reload [--dry-run].
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/json.hpp"
#include "core/secret.hpp"
#include "daemon/admin/client.hpp"
#include "daemon/cli.hpp"
#include "daemon/client.hpp"

namespace steward::cli {
namespace {
namespace json = boost::json;

}  // namespace

admin::AdminEndpoint client_endpoint(Context& ctx, const ClientFlags& f) {
    admin::AdminEndpoint e;
    if (!f.admin_url.empty()) e = admin::parse_endpoint(f.admin_url);
    if (!f.token_file.empty()) {
        std::ifstream in(f.token_file, std::ios::binary);
        if (!in) throw std::invalid_argument("--token-file " + f.token_file + ": cannot read it");
        std::stringstream ss;
        ss << in.rdbuf();
        std::string t = ss.str();
        while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
        register_redaction(t);
        e.token = t;
    }
    if (!f.admin_url.empty() && e.token) return e;
    std::filesystem::path path = ctx.global.spec_path;
    if (path.empty()) {
        auto found = default_spec_path();
        if (!found) {
            if (!f.admin_url.empty()) return e;
            throw SpecError(
                "no spec found to find the daemon: pass --spec FILE or --admin-url URL --token-file FILE");
        }
        path = *found;
    }
    Spec spec = load_spec(path, [](const std::string& var) -> std::optional<std::string> {
        if (const char* v = std::getenv(var.c_str())) return std::string(v);
        return "<unset " + var + ">";
    });
    if (f.admin_url.empty()) e = admin::parse_endpoint(spec.admin.listen);
    if (!e.token && spec.admin.token.is_secret()) {
        if (const auto* s = spec.find_secret(spec.admin.token.secret)) {
            auto r = resolve_secret(*s);
            if (r.value) e.token = r.value->reveal();
        }
    } else if (!e.token && !spec.admin.token.literal.empty()) {
        e.token = spec.admin.token.literal;
    }
    return e;
}

int client_error(const Context& ctx, const admin::ClientResponse& r) {
    std::string message = "status " + std::to_string(r.status);
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (!ec && v.is_object())
        if (auto* e = v.as_object().if_contains("error"); e && e->is_object())
            if (auto* m = e->as_object().if_contains("message"); m && m->is_string())
                message = std::string(m->get_string());
    if (r.status == 401)
        message = "the daemon refused the admin token (check admin.token, or pass --token-file)";
    if (ctx.global.json)
        ctx.print_json(json::object{{"ok", false}, {"error", {{"message", message}, {"status", r.status}}}});
    else
        std::cerr << "steward: " << message << std::endl;
    return kProblem;
}

namespace {

std::string age(double seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 120) return fmt::format("{:.0f}s", seconds);
    if (seconds < 7200) return fmt::format("{:.0f}m", seconds / 60);
    if (seconds < 172800) return fmt::format("{:.1f}h", seconds / 3600);
    return fmt::format("{:.1f}d", seconds / 86400);
}

double num(const json::value& v) {
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return 0;
}

std::string str(const json::value* v, const std::string& none = "-") {
    if (!v || v->is_null()) return none;
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_bool()) return v->get_bool() ? "yes" : "no";
    return write_json(*v);
}

std::string ago(const json::value* t) {
    if (!t || t->is_null()) return "never";
    double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    double d = num(*t) - now;
    return d >= 0 ? "in " + age(d) : age(-d) + " ago";
}

void print_status(const json::object& s) {
    std::cout << fmt::format("steward {} · {} ({}) · {} · up {}\n", str(s.if_contains("version")),
                             str(s.if_contains("name")), str(s.if_contains("environment")),
                             str(s.if_contains("phase")), age(num(s.at("uptime_seconds"))));
    const auto& services = s.at("services").as_array();
    if (!services.empty()) {
        std::cout << fmt::format("\n{:<20} {:<9} {:>8} {:>8} {:>8}  {}\n", "SERVICE", "STATE", "PID",
                                 "UPTIME", "RESTARTS", "LAST EXIT");
        for (const auto& v : services) {
            const auto& o = v.as_object();
            std::string state = str(o.if_contains("state"));
            if (o.at("crashloop").as_bool()) state += "!";
            auto* up = o.if_contains("uptime_seconds");
            auto* exit = o.if_contains("last_exit");
            std::cout << fmt::format(
                "{:<20} {:<9} {:>8} {:>8} {:>8}  {}\n", str(o.if_contains("name")), state,
                str(o.if_contains("pid")), up && !up->is_null() ? age(num(*up)) : "-",
                str(o.if_contains("restarts")),
                exit && exit->is_object() ? str(exit->as_object().if_contains("description")) : "-");
        }
    }
    const auto& probes = s.at("probes").as_array();
    if (!probes.empty()) {
        std::cout << fmt::format("\n{:<20} {:<8} {:>9}  {}\n", "PROBE", "HEALTH", "LATENCY", "LAST ERROR");
        for (const auto& v : probes) {
            const auto& o = v.as_object();
            auto* d = o.if_contains("last_duration_seconds");
            std::cout << fmt::format("{:<20} {:<8} {:>9}  {}\n", str(o.if_contains("name")),
                                     str(o.if_contains("health")),
                                     d && !d->is_null() ? fmt::format("{:.1f}ms", num(*d) * 1000) : "-",
                                     str(o.if_contains("last_error"), ""));
        }
    }
    const auto& b = s.at("backups").as_object();
    if (b.at("configured").as_bool()) {
        auto* last = b.if_contains("last_success");
        std::string last_text = "never";
        if (last && last->is_object()) last_text = ago(last->as_object().if_contains("at"));
        auto* drill = b.at("last_drill").as_object().if_contains("success");
        std::cout << fmt::format(
            "\nbackups     last success {} · next {} · failures {} · last drill {}{}\n", last_text,
            ago(b.if_contains("next_run")), str(b.if_contains("failures_total")),
            drill && drill->is_object() ? ago(drill->as_object().if_contains("at")) : "never",
            b.at("running").as_bool() ? " · running now" : "");
    }
    const auto& m = s.at("migrations").as_object();
    std::cout << fmt::format("migrations  version {} · {} pending · {} failed\n",
                             str(m.if_contains("current_version"), "none"), str(m.if_contains("pending")),
                             str(m.if_contains("failed")));
    const auto& g = s.at("gate").as_object();
    std::cout << fmt::format("gate        {} errors, {} warnings, {} info\n", str(g.if_contains("errors")),
                             str(g.if_contains("warnings")), str(g.if_contains("info")));
}

void add_client_options(CLI::App* cmd, ClientFlags& f) {
    cmd->add_option("--admin-url", f.admin_url,
                    "The daemon's admin address (default: the spec's admin.listen)");
    cmd->add_option("--token-file", f.token_file,
                    "A file holding the admin token (default: the spec's admin.token)");
}

}  // namespace

void add_status_command(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<ClientFlags>();
    auto* status =
        app.add_subcommand("status", "Ask the running daemon: services, probes, backups, migrations");
    add_client_options(status, *flags);
    status->callback([&ctx, flags] {
        ctx.action = [&ctx, flags] {
            auto r = admin::request(client_endpoint(ctx, *flags), "GET", "/api/v1/status");
            if (r.status != 200) return client_error(ctx, r);
            if (ctx.global.json) {
                std::cout << r.body << std::endl;
                return kOk;
            }
            print_status(json::parse(r.body).as_object());
            return kOk;
        };
    });

    auto restart_name = std::make_shared<std::string>();
    auto* restart = app.add_subcommand("restart", "Ask the running daemon to restart a service");
    restart->add_option("name", *restart_name, "The service")->required();
    add_client_options(restart, *flags);
    restart->callback([&ctx, flags, restart_name] {
        ctx.action = [&ctx, flags, restart_name] {
            auto r = admin::request(client_endpoint(ctx, *flags), "POST",
                                    "/api/v1/services/" + *restart_name + "/restart");
            if (r.status != 202 && r.status != 200) return client_error(ctx, r);
            if (ctx.global.json)
                std::cout << r.body << std::endl;
            else
                std::cout << "restarting " << *restart_name << std::endl;
            return kOk;
        };
    });

    auto dry_run = std::make_shared<bool>(false);
    auto* reload =
        app.add_subcommand("reload", "Ask the running daemon to re-read its spec (--dry-run: only the plan)");
    reload->add_flag("--dry-run", *dry_run, "Print what a reload would change, change nothing");
    add_client_options(reload, *flags);
    reload->callback([&ctx, flags, dry_run] {
        ctx.action = [&ctx, flags, dry_run] {
            auto r = admin::request(client_endpoint(ctx, *flags), "POST",
                                    std::string("/api/v1/reload") + (*dry_run ? "?dry_run=1" : ""));
            if (r.status != 200) return client_error(ctx, r);
            if (ctx.global.json) {
                std::cout << r.body << std::endl;
                return kOk;
            }
            auto doc = json::parse(r.body).as_object();
            const auto& plan = doc.at("plan").as_object();
            auto names = [](const json::value& v) {
                std::string out;
                for (const auto& x : v.as_array()) {
                    if (!out.empty()) out += ", ";
                    out += x.is_string() ? std::string(x.get_string())
                                         : std::string(x.as_object().at("name").as_string());
                }
                return out;
            };
            std::cout << (*dry_run ? "a reload would change:\n" : "reloaded:\n");
            const auto& svc = plan.at("services").as_object();
            auto line = [&](const char* what, const json::value& v) {
                if (!v.as_array().empty()) std::cout << fmt::format("  {}: {}\n", what, names(v));
            };
            line("services to start", svc.at("added"));
            line("services to stop", svc.at("removed"));
            for (const auto& c : svc.at("changed").as_array()) {
                std::string reasons;
                for (const auto& x : c.as_object().at("reasons").as_array())
                    reasons += (reasons.empty() ? "" : ", ") + std::string(x.as_string());
                std::cout << fmt::format("  service to restart: {} ({})\n",
                                         std::string(c.as_object().at("name").as_string()), reasons);
            }
            line("services untouched", svc.at("unchanged"));
            const auto& pr = plan.at("probes").as_object();
            line("probes added", pr.at("added"));
            line("probes removed", pr.at("removed"));
            line("probes changed", pr.at("changed"));
            line("settings changed in place", plan.at("settings_changed"));
            line("need a restart of steward (old values kept)", plan.at("restart_required"));
            if (!plan.at("changes").as_bool() && plan.at("restart_required").as_array().empty())
                std::cout << "  nothing\n";
            return kOk;
        };
    });
}

}  // namespace steward::cli
