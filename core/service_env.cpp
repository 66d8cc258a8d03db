// Resolves a service's environment from the spec: one function for the gate and the supervisor.
#include "core/service_env.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace steward {
namespace {

struct Account {
    std::string name;
    std::string home;
};

Account account_of(const std::optional<std::string>& user) {
    struct passwd pw {};
    struct passwd* res = nullptr;
    std::vector<char> buf(16384);
    if (user) {
        if (getpwnam_r(user->c_str(), &pw, buf.data(), buf.size(), &res) == 0 && res)
            return {res->pw_name, res->pw_dir};
        return {*user, "/"};
    }
    if (getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &res) == 0 && res)
        return {res->pw_name, res->pw_dir};
    return {"nobody", "/"};
}

}  // namespace

const ServiceEnvVar* ServiceEnvironment::find(const std::string& name) const {
    for (const auto& v : vars)
        if (v.name == name) return &v;
    return nullptr;
}

std::map<std::string, std::string> ServiceEnvironment::to_map() const {
    std::map<std::string, std::string> out;
    for (const auto& v : vars) out[v.name] = v.value;
    return out;
}

std::map<std::string, std::string> service_base_env(const ServiceSpec& svc) {
    Account a = account_of(svc.user);
    return {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
            {"LANG", "C.UTF-8"},
            {"HOME", a.home},
            {"USER", a.name}};
}

ServiceEnvironment resolve_service_env(const Spec& /*spec*/, const ServiceSpec& svc,
                                       const std::map<std::string, ResolvedSecret>& secrets,
                                       const std::string& database_url) {
    ServiceEnvironment out;
    std::map<std::string, ServiceEnvVar> vars;
    for (auto& [k, v] : service_base_env(svc)) vars[k] = {k, v, ServiceEnvVar::Source::base, "", false};
    for (const auto& [name, ev] : svc.env) {
        std::string origin = "services." + svc.name + ".env." + name;
        ServiceEnvVar var{name, "", ServiceEnvVar::Source::literal, origin, false};
        switch (ev.kind) {
            case EnvValue::Kind::literal:
                var.value = ev.text;
                break;
            case EnvValue::Kind::secret: {
                var.source = ServiceEnvVar::Source::secret;
                var.secret = true;
                auto it = secrets.find(ev.text);
                if (it == secrets.end() || !it->second.value) {
                    out.problems.push_back(origin + ": secret '" + ev.text + "' did not resolve" +
                                           (it != secrets.end() && !it->second.problem.empty()
                                                ? " (" + it->second.problem + ")"
                                                : std::string()));
                    continue;
                }
                var.value = it->second.value->reveal();
                break;
            }
            case EnvValue::Kind::database_url:
                var.source = ServiceEnvVar::Source::database_url;
                var.secret = true;  // carries the password
                var.value = database_url;
                if (database_url.empty()) out.problems.push_back(origin + ": the database URL is not known");
                break;
        }
        vars[name] = std::move(var);
    }
    for (auto& [k, v] : vars) out.vars.push_back(std::move(v));
    return out;
}

}  // namespace steward
