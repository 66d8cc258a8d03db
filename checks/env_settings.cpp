// The values that reach a service as literals (its env, its env_file, `check --env-file`), recognised by
// their variable's name and judged by the same rules as the spec's security: settings.
#include <fmt/format.h>

#include <algorithm>

#include "checks/rule.hpp"

namespace steward::checks {
namespace {

std::string upper(std::string s) {
    for (auto& c : s) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() > tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0 &&
           s[s.size() - tail.size() - 1] == '_';
}

bool one_of(const std::string& s, std::initializer_list<const char*> list) {
    return std::any_of(list.begin(), list.end(), [&](const char* l) { return s == l; });
}

EnvSetting classify(const std::string& n) {
    if (one_of(n, {"DEBUG", "DEBUG_MODE"}) || ends_with(n, "DEBUG") || ends_with(n, "DEBUG_MODE"))
        return EnvSetting::debug;
    if (one_of(n, {"ENV", "ENVIRONMENT", "NODE_ENV", "PYTHON_ENV", "FLASK_ENV", "RAILS_ENV", "RACK_ENV",
                   "GO_ENV", "DJANGO_ENV", "DEPLOY_ENV", "DEPLOYMENT_ENVIRONMENT"}))
        return EnvSetting::environment;
    if (n.rfind("REQUIRE_AUTH", 0) == 0 || one_of(n, {"AUTH_REQUIRED", "AUTHENTICATION_REQUIRED"}))
        return EnvSetting::require_auth;
    if (one_of(n, {"AUTH_ENABLED", "AUTHENTICATION_ENABLED", "ENABLE_AUTH", "ENABLE_AUTHENTICATION"}))
        return EnvSetting::auth_enabled;
    if (one_of(n, {"AUTH_DISABLED", "DISABLE_AUTH", "DISABLE_AUTHENTICATION", "SKIP_AUTH", "NO_AUTH"}) ||
        ends_with(n, "AUTH_DISABLED"))
        return EnvSetting::auth_disabled;
    if (one_of(n, {"CORS_ORIGINS", "CORS_ORIGIN", "CORS_ALLOWED_ORIGINS", "CORS_ALLOW_ORIGINS",
                   "CORS_ALLOW_ORIGIN", "ALLOWED_ORIGINS", "ACCESS_CONTROL_ALLOW_ORIGIN"}) ||
        ends_with(n, "CORS_ORIGINS"))
        return EnvSetting::cors_origins;
    if (one_of(n, {"COOKIE_SECURE", "SECURE_COOKIES", "SECURE_COOKIE", "SESSION_COOKIE_SECURE",
                   "CSRF_COOKIE_SECURE"}) ||
        ends_with(n, "COOKIE_SECURE"))
        return EnvSetting::cookie_secure;
    if (one_of(n, {"BASE_URL", "PUBLIC_URL", "PUBLIC_BASE_URL", "SITE_URL", "APP_URL", "APP_BASE_URL",
                   "EXTERNAL_URL", "FRONTEND_URL"}))
        return EnvSetting::base_url;
    if (n.find("RATE_LIMIT") != std::string::npos || n.find("RATELIMIT") != std::string::npos)
        return EnvSetting::rate_limit;
    if (one_of(n, {"LOG_LEVEL", "LOGLEVEL"}) || ends_with(n, "LOG_LEVEL")) return EnvSetting::log_level;
    return EnvSetting::none;
}

// Every literal that holds `setting`.
std::vector<EnvLiteral> holding(const RuleContext& ctx, EnvSetting setting) {
    std::vector<EnvLiteral> out;
    for (auto& e : env_literals(ctx))
        if (env_setting(e.var, e.service) == setting) out.push_back(std::move(e));
    return out;
}

std::string fix_hint(const EnvLiteral& e, const std::string& safe, const char* reference) {
    if (e.from_file()) return fmt::format("set {}={} in {}", e.var, safe, e.file);
    return reference ? fmt::format("set {}: \"{}\" (steward passes the spec's checked value), or {}", e.var,
                                   reference, safe)
                     : fmt::format("set {}: {}", e.var, safe);
}

std::vector<std::string> origins(const std::string& value) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : value + ",") {
        if (c == ',' || c == ' ' || c == '\t' || c == ';') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else if (c != '[' && c != ']' && c != '"' && c != '\'') {
            cur.push_back(c);
        }
    }
    return out;
}

int strictness(Environment e) { return e == Environment::production ? 2 : e == Environment::staging ? 1 : 0; }

// What an app's own environment name means; nullopt for names steward does not know.
std::optional<Environment> app_environment(const std::string& value) {
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (one_of(v, {"production", "prod", "live"})) return Environment::production;
    if (one_of(v, {"staging", "stage", "preprod", "pre-production", "uat"})) return Environment::staging;
    if (one_of(v, {"development", "dev", "develop", "local", "test", "testing", "debug"}))
        return Environment::development;
    return std::nullopt;
}

}  // namespace

EnvSetting env_setting(const std::string& var, const std::string& service) {
    std::string n = upper(var);
    if (auto s = classify(n); s != EnvSetting::none) return s;
    std::string prefix = upper(service) + "_";
    if (!service.empty() && n.size() > prefix.size() && n.rfind(prefix, 0) == 0)
        return classify(n.substr(prefix.size()));
    if (n.size() > 4 && n.rfind("APP_", 0) == 0) return classify(n.substr(4));
    return EnvSetting::none;
}

std::optional<bool> env_flag(const std::string& value) {
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (one_of(v, {"1", "true", "yes", "on"})) return true;
    if (one_of(v, {"0", "false", "no", "off"})) return false;
    return std::nullopt;
}

std::vector<EnvLiteral> env_literals(const RuleContext& ctx) {
    std::vector<EnvLiteral> out;
    for (const auto& svc : ctx.spec.services) {
        auto it = ctx.facts.service_envs.find(svc.name);
        if (it != ctx.facts.service_envs.end()) {
            // What the service really gets: an env_file line that `env` overrides never reaches it.
            for (const auto& v : it->second.vars) {
                if (v.source == ServiceEnvVar::Source::literal && !v.value.empty() &&
                    !ctx.spec.is_unknown(v.origin))
                    out.push_back({svc.name, v.name, v.value, v.origin, 0, ""});
                else if (v.source == ServiceEnvVar::Source::env_file && svc.env_file)
                    out.push_back({svc.name, v.name, v.value, v.origin, v.line, svc.env_file->string()});
            }
            continue;
        }
        for (const auto& [var, value] :
             svc.env) {  // facts without a resolved env (unit tests): the spec's literals
            std::string path = "services." + svc.name + ".env." + var;
            if (value.kind == EnvValue::Kind::literal && !value.text.empty() && !ctx.spec.is_unknown(path))
                out.push_back({svc.name, var, value.text, path, 0, ""});
        }
    }
    if (ctx.facts.env_file)
        for (const auto& e : ctx.facts.env_file->entries)
            out.push_back({"", e.name, e.value, "env_file", e.line, ctx.facts.env_file->path.string()});
    return out;
}

void env_debug_enabled(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::debug)) {
        if (env_flag(e.value) != true) continue;
        hits.push_back({e.path, fmt::format("{}={} turns the app's debug mode on", e.var, e.value),
                        fix_hint(e, "false", "security:debug"), e.line, e.file});
    }
}

void env_auth_disabled(const RuleContext& ctx, Hits& hits) {
    for (EnvSetting s : {EnvSetting::require_auth, EnvSetting::auth_enabled, EnvSetting::auth_disabled})
        for (const auto& e : holding(ctx, s)) {
            auto flag = env_flag(e.value);
            bool off = s == EnvSetting::auth_disabled ? flag == true : flag == false;
            if (!off) continue;
            bool inverted = s == EnvSetting::auth_disabled;
            hits.push_back(
                {e.path, fmt::format("{}={} turns the app's authentication off", e.var, e.value),
                 fix_hint(e, inverted ? "false" : "true", inverted ? nullptr : "security:require_auth"),
                 e.line, e.file});
        }
}

void env_cors_wildcard(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::cors_origins))
        for (const auto& o : origins(e.value))
            if (o.find('*') != std::string::npos)
                hits.push_back({e.path, fmt::format("{} allows the wildcard origin {}", e.var, o),
                                fix_hint(e, "https://app.example.com", "security:cors_origins"), e.line,
                                e.file});
}

void env_cors_http_origin(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::cors_origins))
        for (const auto& o : origins(e.value))
            if (o.size() > 7 && upper(o.substr(0, 7)) == "HTTP://")
                hits.push_back({e.path, fmt::format("{} allows the plain-HTTP origin {}", e.var, o),
                                fix_hint(e, "https://...", "security:cors_origins"), e.line, e.file});
}

void env_cookie_insecure(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::cookie_secure)) {
        if (env_flag(e.value) != false) continue;
        hits.push_back({e.path, fmt::format("{}={}: the app's cookies go out without Secure", e.var, e.value),
                        fix_hint(e, "true", "security:cookie_secure"), e.line, e.file});
    }
}

void env_base_url_not_https(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::base_url)) {
        if (upper(e.value.substr(0, 8)) == "HTTPS://" || e.value.find("://") == std::string::npos) continue;
        hits.push_back({e.path, fmt::format("{}={} is not https://", e.var, e.value),
                        fix_hint(e, "https://<your domain>", "security:base_url"), e.line, e.file});
    }
}

void env_no_rate_limit(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::rate_limit)) {
        bool off = env_flag(e.value) == false ||
                   (!e.value.empty() && e.value.find_first_not_of('0') == std::string::npos);
        if (!off) continue;
        hits.push_back({e.path, fmt::format("{}={} turns the app's rate limit off", e.var, e.value),
                        fix_hint(e, "60", "security:rate_limit_per_minute"), e.line, e.file});
    }
}

void env_debug_logging(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::log_level)) {
        std::string v = upper(e.value);
        if (v != "DEBUG" && v != "TRACE") continue;
        hits.push_back({e.path, fmt::format("{}={}: the app logs at debug level", e.var, e.value),
                        fix_hint(e, "INFO", nullptr), e.line, e.file});
    }
}

void check_security_app_environment(const RuleContext& ctx, Hits& hits) {
    for (const auto& e : holding(ctx, EnvSetting::environment)) {
        auto app = app_environment(e.value);
        if (!app || strictness(*app) >= strictness(ctx.spec.environment)) continue;
        hits.push_back({e.path,
                        fmt::format("{}={}, but the deployment is {}: the app runs with {} settings", e.var,
                                    e.value, to_string(ctx.spec.environment), to_string(*app)),
                        fix_hint(e, to_string(ctx.spec.environment), "spec:environment"), e.line, e.file});
    }
}

}  // namespace steward::checks
