// Reload plans: services, probes and settings compared key by key; secrets compared, never shown.
#include "daemon/run/reload.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <set>

namespace steward::run {
namespace {

std::vector<std::string> env_differences(const std::map<std::string, std::string>& a,
                                         const std::map<std::string, std::string>& b,
                                         const ServiceSpec& spec) {
    std::vector<std::string> out;
    std::set<std::string> keys;
    for (const auto& [k, v] : a) keys.insert(k);
    for (const auto& [k, v] : b) keys.insert(k);
    for (const auto& k : keys) {
        auto ia = a.find(k), ib = b.find(k);
        if (ia != a.end() && ib != b.end() && ia->second == ib->second) continue;
        // Name the variable, never its value; say when only a secret's value moved.
        auto ev = spec.env.find(k);
        bool secret = ev != spec.env.end() && ev->second.kind != EnvValue::Kind::literal;
        if (ia == a.end())
            out.push_back("env " + k + " added");
        else if (ib == b.end())
            out.push_back("env " + k + " removed");
        else
            out.push_back("env " + k + (secret ? " (value from a secret or the database URL)" : ""));
    }
    return out;
}

std::vector<std::string> service_differences(const ServiceSpec& a, const ServiceSpec& b) {
    std::vector<std::string> out;
    if (a.command != b.command) out.push_back("command");
    if (a.workdir != b.workdir) out.push_back("workdir");
    if (a.user != b.user) out.push_back("user");
    if (a.depends_on != b.depends_on) out.push_back("depends_on");
    if (a.readiness != b.readiness || a.readiness_timeout != b.readiness_timeout) out.push_back("readiness");
    if (a.restart != b.restart) out.push_back("restart");
    if (a.stop != b.stop) out.push_back("stop");
    if (a.env != b.env) out.push_back("env");
    if (out.empty() && !(a == b)) out.push_back("definition");
    return out;
}

const std::map<std::string, std::string>& env_of(const ServiceEnvs& envs, const std::string& name) {
    static const std::map<std::string, std::string> none;
    auto it = envs.find(name);
    return it == envs.end() ? none : it->second;
}

}  // namespace

bool ReloadPlan::changes_anything() const {
    return !services_added.empty() || !services_removed.empty() || !services_changed.empty() ||
           !probes_added.empty() || !probes_removed.empty() || !probes_changed.empty() ||
           !settings_changed.empty();
}

Spec keep_restart_keys(const Spec& current, Spec next) {
    next.admin.listen = current.admin.listen;
    next.name = current.name;
    next.database.embedded = current.database.embedded;
    if (current.database.embedded) next.database.url.reset();
    return next;
}

ReloadPlan plan_reload(const Spec& current, const ServiceEnvs& current_envs, const Spec& next_in,
                       const ServiceEnvs& next_envs) {
    ReloadPlan p;
    if (current.admin.listen != next_in.admin.listen) p.restart_required.push_back("admin.listen");
    if (current.name != next_in.name) p.restart_required.push_back("name");
    if (current.database.embedded != next_in.database.embedded ||
        current.database.url.has_value() != next_in.database.url.has_value())
        p.restart_required.push_back("database.embedded");
    Spec next = keep_restart_keys(current, next_in);

    for (const auto& s : next.services) {
        auto it = std::find_if(current.services.begin(), current.services.end(),
                               [&](const ServiceSpec& c) { return c.name == s.name; });
        if (it == current.services.end()) {
            p.services_added.push_back(s.name);
            continue;
        }
        auto reasons = service_differences(*it, s);
        auto env = env_differences(env_of(current_envs, s.name), env_of(next_envs, s.name), s);
        reasons.insert(reasons.end(), env.begin(), env.end());
        if (reasons.empty())
            p.services_unchanged.push_back(s.name);
        else
            p.services_changed.push_back({s.name, std::move(reasons)});
    }
    for (const auto& c : current.services)
        if (std::none_of(next.services.begin(), next.services.end(),
                         [&](const ServiceSpec& s) { return s.name == c.name; }))
            p.services_removed.push_back(c.name);

    for (const auto& pr : next.probes) {
        auto it = std::find_if(current.probes.begin(), current.probes.end(),
                               [&](const ProbeSpec& c) { return c.name == pr.name; });
        if (it == current.probes.end())
            p.probes_added.push_back(pr.name);
        else if (!(*it == pr) || (pr.target.postgres && current.database.url != next.database.url))
            p.probes_changed.push_back(pr.name);
    }
    for (const auto& c : current.probes)
        if (std::none_of(next.probes.begin(), next.probes.end(),
                         [&](const ProbeSpec& s) { return s.name == c.name; }))
            p.probes_removed.push_back(c.name);

    auto setting = [&](bool differs, const char* name) {
        if (differs) p.settings_changed.push_back(name);
    };
    setting(current.database.url != next.database.url, "database.url");
    setting(current.timezone != next.timezone, "timezone");
    setting(!(current.secrets == next.secrets), "secrets");
    setting(!(current.security == next.security), "security");
    setting(!(current.migrations == next.migrations), "migrations");
    setting(!(current.backups == next.backups), "backups");
    setting(current.admin.token != next.admin.token || current.admin.metrics_auth != next.admin.metrics_auth,
            "admin");
    setting(!(current.logging == next.logging), "logging");
    setting(!(current.checks == next.checks), "checks");
    return p;
}

boost::json::value to_json(const ReloadPlan& p) {
    auto list = [](const std::vector<std::string>& v) {
        boost::json::array a;
        for (const auto& s : v) a.push_back(boost::json::value(s));
        return a;
    };
    boost::json::array changed;
    for (const auto& c : p.services_changed)
        changed.push_back(boost::json::object{{"name", c.name}, {"reasons", list(c.reasons)}});
    return boost::json::object{{"changes", p.changes_anything()},
                               {"services",
                                {{"added", list(p.services_added)},
                                 {"removed", list(p.services_removed)},
                                 {"changed", changed},
                                 {"unchanged", list(p.services_unchanged)}}},
                               {"probes",
                                {{"added", list(p.probes_added)},
                                 {"removed", list(p.probes_removed)},
                                 {"changed", list(p.probes_changed)}}},
                               {"settings_changed", list(p.settings_changed)},
                               {"restart_required", list(p.restart_required)}};
}

std::string to_text(const ReloadPlan& p) {
    std::string out;
    auto line = [&](const std::string& what, const std::vector<std::string>& v) {
        if (!v.empty()) out += fmt::format("{}: {}\n", what, fmt::join(v, ", "));
    };
    if (!p.changes_anything() && p.restart_required.empty()) return "nothing to change\n";
    line("services to start", p.services_added);
    line("services to stop", p.services_removed);
    for (const auto& c : p.services_changed)
        out += fmt::format("service to restart: {} ({})\n", c.name, fmt::join(c.reasons, ", "));
    line("services untouched", p.services_unchanged);
    line("probes added", p.probes_added);
    line("probes removed", p.probes_removed);
    line("probes changed", p.probes_changed);
    line("settings changed in place", p.settings_changed);
    line("need a restart of steward (old values kept)", p.restart_required);
    return out;
}

}  // namespace steward::run
