// Resolves a service's environment from the spec: one function for the gate and the supervisor.
#include "core/service_env.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "core/small_file.hpp"

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

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

bool valid_name(const std::string& n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    return std::all_of(n.begin(), n.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// A value as written after '=': quotes removed, an unquoted value's " # comment" dropped.
std::string unquote(const std::string& raw) {
    std::string v = trim(raw);
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') return v.substr(1, v.size() - 2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        std::string out;
        for (std::size_t i = 1; i + 1 < v.size(); ++i) {
            if (v[i] == '\\' && i + 2 < v.size()) {
                char n = v[++i];
                out.push_back(n == 'n' ? '\n' : n);
            } else {
                out.push_back(v[i]);
            }
        }
        return out;
    }
    for (std::size_t i = 1; i < v.size(); ++i)
        if (v[i] == '#' && (v[i - 1] == ' ' || v[i - 1] == '\t')) return trim(v.substr(0, i));
    return v;
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

EnvFile parse_env_file(const std::string& text, const std::string& file_name) {
    EnvFile out;
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        std::string s = trim(line);
        if (s.empty() || s[0] == '#' || s[0] == ';') continue;
        if (s.rfind("export ", 0) == 0) s = trim(s.substr(7));
        auto eq = s.find('=');
        std::string name = eq == std::string::npos ? s : trim(s.substr(0, eq));
        if (eq == std::string::npos || !valid_name(name)) {
            out.errors.push_back(fmt::format("{}:{}: expected KEY=VALUE", file_name, number));
            continue;
        }
        out.entries.push_back({name, unquote(s.substr(eq + 1)), number});
    }
    return out;
}

EnvFile read_env_file(const std::filesystem::path& file) {
    SmallFile f = read_small_file(file);
    if (!f.ok()) {
        EnvFile out;
        out.errors.push_back(f.error);
        return out;
    }
    return parse_env_file(f.text, file.string());
}

std::optional<std::string> setting_value(const Spec& spec, const std::string& reference) {
    const SecuritySpec& s = spec.security;
    auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
    if (reference == "security:cors_origins") return fmt::format("{}", fmt::join(s.cors_origins, ","));
    if (reference == "security:require_auth") return flag(s.require_auth);
    if (reference == "security:debug") return flag(s.debug);
    if (reference == "security:cookie_secure") return flag(s.cookie_secure);
    if (reference == "security:hsts") return flag(s.hsts);
    if (reference == "security:base_url") return s.base_url;
    if (reference == "security:rate_limit_per_minute")
        return std::to_string(s.rate_limit_per_minute.value_or(0));
    if (reference == "spec:environment") return to_string(spec.environment);
    if (reference == "spec:name") return spec.name;
    return std::nullopt;
}

std::map<std::string, std::string> service_base_env(const ServiceSpec& svc) {
    Account a = account_of(svc.user);
    return {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
            {"LANG", "C.UTF-8"},
            {"HOME", a.home},
            {"USER", a.name}};
}

ServiceEnvironment resolve_service_env(const Spec& spec, const ServiceSpec& svc,
                                       const std::map<std::string, ResolvedSecret>& secrets,
                                       const std::string& database_url, const ServiceEnvOptions& options) {
    ServiceEnvironment out;
    std::map<std::string, ServiceEnvVar> vars;
    for (auto& [k, v] : service_base_env(svc)) vars[k] = {k, v, ServiceEnvVar::Source::base, "", false};
    if (svc.env_file && options.read_env_file) {
        EnvFile file = read_env_file(*svc.env_file);
        for (const auto& e : file.errors) {
            out.problems.push_back("services." + svc.name + ".env_file: " + e);
            out.env_file_errors.push_back(e);
        }
        for (const auto& e : file.entries)
            vars[e.name] = {
                e.name, e.value, ServiceEnvVar::Source::env_file, "services." + svc.name + ".env_file",
                false,  e.line};
    }
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
                const SecretSpec* declared = spec.find_secret(ev.text);
                if (it != secrets.end() && !it->second.value && declared && declared->optional &&
                    it->second.status != ResolvedSecret::Status::file_unreadable) {
                    out.left_out.push_back(origin);  // an optional secret that is not there: no variable
                    continue;
                }
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
            case EnvValue::Kind::setting: {
                var.source = ServiceEnvVar::Source::setting;
                auto value = setting_value(spec, ev.text);
                if (!value) {
                    out.problems.push_back(origin + ": " + ev.text + " is not set in the spec");
                    continue;
                }
                var.value = *value;
                break;
            }
        }
        vars[name] = std::move(var);
    }
    for (auto& [k, v] : vars) out.vars.push_back(std::move(v));
    return out;
}

}  // namespace steward
