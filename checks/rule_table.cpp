// The rule table (id, severity per environment, why) and the pure evaluation of a spec against it.
#include <fmt/format.h>

#include <algorithm>

#include "checks/rule.hpp"
#include "checks/strength.hpp"

namespace steward::checks {
namespace {

constexpr auto E = Severity::error;
constexpr auto W = Severity::warning;
constexpr auto I = Severity::info;
constexpr std::optional<Severity> Off = std::nullopt;

// clang-format off
const std::vector<Rule> kRules = {
    // id, development, staging, production, needs, why
    {{"secret.missing", W, E, E, Needs::secrets,
      "a secret whose env var is unset or whose file is missing or empty leaves the service without it"}, check_secret_missing},
    {{"secret.too_short", W, E, E, Needs::secrets,
      "tokens and keys need at least 32 characters, passwords 16, to resist guessing"}, check_secret_too_short},
    {{"secret.placeholder", W, E, E, Needs::secrets,
      "default and placeholder values (changeme, secret, your-...) are the first thing an attacker tries", false}, check_secret_placeholder},
    {{"secret.published_default", E, E, E, Needs::secrets,
      "published default and example secrets (Supabase's, jwt.io's, the guides') are in every attacker's word list", false}, check_secret_published_default},
    {{"secret.low_entropy", W, E, E, Needs::secrets,
      "repeated or sequential characters (aaaa, abcabc, 123456) are guessable whatever their length"}, check_secret_low_entropy},
    {{"secret.inline_value", Off, W, E, Needs::spec,
      "a secret written into the spec ends up in version control and backups of the config"}, check_secret_inline_value},
    {{"secret.file_mode", W, E, E, Needs::secrets,
      "a secret file readable by group or others leaks to every local user"}, check_secret_file_mode},
    {{"secret.file_owner", W, E, E, Needs::secrets,
      "a secret file owned by another user can be replaced by that user"}, check_secret_file_owner},
    {{"secret.reused", W, E, E, Needs::secrets,
      "one value used for two secrets means one leak compromises both"}, check_secret_reused},
    {{"secret.service_env_literal", Off, W, E, Needs::spec,
      "a service env var named like a secret but not taken from secrets: sits in the spec and escapes every secret rule"}, check_secret_service_env_literal},

    {{"security.auth_disabled", W, E, E, Needs::spec,
      "with require_auth false every API endpoint is open to anyone"}, check_security_auth_disabled},
    {{"security.cors_wildcard", W, E, E, Needs::spec,
      "CORS origin * lets any website call the API from a user's browser"}, check_security_cors_wildcard},
    {{"security.cors_http_origin", W, E, E, Needs::spec,
      "an http:// origin can be impersonated on the network"}, check_security_cors_http_origin},
    {{"security.cookie_insecure", W, E, E, Needs::spec,
      "cookies without Secure are sent over plain HTTP and can be stolen"}, check_security_cookie_insecure},
    {{"security.base_url_not_https", W, E, E, Needs::spec,
      "links and redirects built from an http:// base_url downgrade users to plain HTTP"}, check_security_base_url_not_https},
    {{"security.hsts_disabled", W, E, E, Needs::spec,
      "without HSTS a browser can be tricked into plain HTTP on first visit"}, check_security_hsts_disabled},
    {{"security.debug_enabled", W, E, E, Needs::spec,
      "debug mode exposes stack traces and internals to clients"}, check_security_debug_enabled},
    {{"security.no_rate_limit", W, E, E, Needs::spec,
      "without a rate limit one client can exhaust the API and brute-force tokens"}, check_security_no_rate_limit},
    {{"security.app_environment", Off, E, E, Needs::spec,
      "an app told it runs in development (ENVIRONMENT, APP_ENV, NODE_ENV) turns on development settings in production"}, check_security_app_environment},

    {{"database.url_invalid", E, E, E, Needs::spec,
      "libpq cannot parse the URL, so no connection can ever be made"}, check_database_url_invalid},
    {{"database.sslmode", W, E, E, Needs::spec,
      "to a non-loopback host, sslmode disable/allow/prefer (libpq's default) lets credentials and data travel unencrypted"}, check_database_sslmode},
    {{"database.weak_password", W, E, E, Needs::spec,
      "a short, default or low-entropy database password is guessed in minutes"}, check_database_weak_password},
    {{"database.embedded_in_production", Off, W, E, Needs::spec,
      "the embedded PostgreSQL is a single local process for development, without replication or tuning"}, check_database_embedded_in_production},
    {{"database.inline_password", Off, W, E, Needs::spec,
      "a database password written into the spec ends up in version control and backups of the config"}, check_database_inline_password},

    {{"admin.exposed_without_token", W, E, E, Needs::spec,
      "the admin API restarts services and restores backups; on the network without a token anyone can"}, check_admin_exposed_without_token},
    {{"admin.weak_token", W, E, E, Needs::spec,
      "the admin token guards restarts and restores: it needs the strength of any other token"}, check_admin_weak_token},
    {{"admin.inline_token", Off, W, E, Needs::spec,
      "an admin token written into the spec ends up in version control"}, check_admin_inline_token},

    {{"operations.no_backups", Off, I, W, Needs::spec,
      "a production database without scheduled backups loses everything on the first disk failure"}, check_operations_no_backups},
    {{"operations.backup_dir", E, E, E, Needs::host,
      "backups cannot be written to a missing or read-only folder"}, check_operations_backup_dir},
    {{"operations.retention_too_short", W, W, W, Needs::spec,
      "keeping fewer than 2 backups leaves nothing when the newest one is bad"}, check_operations_retention_too_short},
    {{"operations.migrations_dir", E, E, E, Needs::host,
      "migrations cannot be applied or validated from a missing folder"}, check_operations_migrations_dir},
    {{"operations.no_probes", I, W, W, Needs::spec,
      "without probes nobody notices when the API stops answering"}, check_operations_no_probes},
    {{"operations.service_command", E, E, E, Needs::host,
      "a service whose program does not exist or is not executable can never start"}, check_operations_service_command},
    {{"operations.service_workdir", E, E, E, Needs::host,
      "a service whose working directory does not exist can never start"}, check_operations_service_workdir},
    {{"operations.service_env_file", E, E, E, Needs::host,
      "a service's env_file that cannot be read, or has lines that are not KEY=VALUE, leaves the app without its settings"}, check_operations_service_env_file},
    {{"operations.debug_logging", Off, I, W, Needs::spec,
      "debug logging in production is slow and writes request details to the journal"}, check_operations_debug_logging},

    {{"connect.database_unreachable", E, E, E, Needs::connect,
      "steward and the API cannot start without the database"}, check_connect_database_unreachable},
    {{"connect.server_version", I, I, I, Needs::connect,
      "reports the PostgreSQL server version steward talks to, or why it was not contacted"}, check_connect_server_version},
    {{"connect.pg_dump_version", W, E, E, Needs::connect,
      "pg_dump refuses to dump a server newer than itself, so backups would fail"}, check_connect_pg_dump_version},
    {{"connect.migration_lock_held", W, W, W, Needs::connect,
      "another steward is migrating this database; startup will wait for its lock"}, check_connect_migration_lock_held},
    {{"connect.database_superuser", Off, W, W, Needs::connect,
      "an API connecting as a superuser can drop every database and read every file the server can"}, check_connect_database_superuser},
    {{"connect.cannot_create_database", W, W, W, Needs::connect,
      "backups.verify: restore and restore drills need a scratch database; a role that cannot create one fails them all"}, check_connect_cannot_create_database},
};
// clang-format on

int rank(Severity s) { return s == Severity::error ? 0 : s == Severity::warning ? 1 : 2; }

}  // namespace

std::string to_string(Severity s) {
    switch (s) {
        case Severity::error:
            return "error";
        case Severity::warning:
            return "warning";
        case Severity::info:
            return "info";
    }
    return "error";
}

std::string to_string(Needs n) {
    switch (n) {
        case Needs::spec:
            return "spec";
        case Needs::secrets:
            return "secrets";
        case Needs::host:
            return "host";
        case Needs::connect:
            return "connect";
    }
    return "spec";
}

std::optional<Severity> RuleInfo::severity_in(Environment env) const {
    switch (env) {
        case Environment::development:
            return development;
        case Environment::staging:
            return staging;
        case Environment::production:
            return production;
    }
    return production;
}

const std::vector<Rule>& rule_table() { return kRules; }

const std::vector<RuleInfo>& rules() {
    static const std::vector<RuleInfo> infos = [] {
        std::vector<RuleInfo> out;
        for (const auto& r : kRules) out.push_back(r.info);
        return out;
    }();
    return infos;
}

int RuleContext::line(const std::string& path) const {
    std::string p = path;
    while (!p.empty()) {
        auto it = spec.marks.find(p);
        if (it != spec.marks.end() && it->second.present()) return it->second.line;
        auto cut = p.find_last_of(".[");
        if (cut == std::string::npos) break;
        p.resize(cut);
    }
    return 0;
}

const Secret* RuleContext::secret(const std::string& name) const {
    if (!secrets) return nullptr;
    auto it = secrets->find(name);
    if (it == secrets->end() || it->second.status != ResolvedSecret::Status::ok || !it->second.value)
        return nullptr;
    return &*it->second.value;
}

std::string listen_host(const std::string& listen) {
    if (!listen.empty() && listen.front() == '[') {
        auto close = listen.find(']');
        return close == std::string::npos ? listen.substr(1) : listen.substr(1, close - 1);
    }
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        bool digits = !listen.empty() &&
                      std::all_of(listen.begin(), listen.end(), [](char c) { return c >= '0' && c <= '9'; });
        return digits ? std::string() : listen;
    }
    if (listen.find(':') != colon) return listen;  // bare IPv6 without port
    return listen.substr(0, colon);
}

bool is_loopback_host(const std::string& host) {
    if (host == "localhost" || host == "::1" || host == "[::1]" || host == "ip6-localhost") return true;
    if (host.rfind("127.", 0) != 0) return false;
    // 127.0.0.0/8 as an address, not a name that merely starts with "127." (127.db.example.com).
    int dots = 0;
    for (char c : host) {
        if (c == '.')
            ++dots;
        else if (c < '0' || c > '9')
            return false;
    }
    return dots == 3;
}

namespace {

bool waiver_matches(const Waiver& w, const Finding& f) {
    if (w.rule != f.id) return false;
    if (w.path.empty() || w.path == f.path) return true;
    return f.path.size() > w.path.size() && f.path.compare(0, w.path.size(), w.path) == 0 &&
           (f.path[w.path.size()] == '.' || f.path[w.path.size()] == '[');
}

}  // namespace

std::vector<Finding> evaluate(const Spec& spec, const std::map<std::string, ResolvedSecret>* secrets,
                              const GateFacts& facts, std::vector<Skipped>* skipped) {
    RuleContext ctx{spec, secrets, facts};
    std::vector<Finding> findings;
    for (const auto& rule : kRules) {
        auto severity = rule.info.severity_in(spec.environment);
        if (!severity) continue;
        if (rule.info.needs == Needs::secrets && !secrets) continue;
        if (rule.info.needs == Needs::host && facts.lint) continue;
        if (rule.info.needs == Needs::connect && !facts.connect) continue;
        Hits hits;
        rule.check(ctx, hits);
        for (auto& h : hits) {
            if (spec.is_unknown(h.path)) continue;  // --lint: judged on a value this machine does not know
            int line = h.line > 0 || !h.file.empty() ? h.line : ctx.line(h.path);
            findings.push_back({rule.info.id,
                                *severity,
                                h.path,
                                line,
                                std::move(h.message),
                                std::move(h.hint),
                                std::move(h.file),
                                {}});
        }
    }
    for (auto& f : findings)
        for (const auto& w : spec.checks.waive)
            if (waiver_matches(w, f)) {
                f.waived = w.reason;
                break;
            }
    std::stable_sort(findings.begin(), findings.end(),
                     [](const Finding& a, const Finding& b) { return rank(a.severity) < rank(b.severity); });
    if (skipped) {
        for (const auto& [path, vars] : spec.unknown)
            skipped->push_back(
                {path, fmt::format("it uses ${{{}}}, which is not set here: rules that judge its "
                                   "value were skipped",
                                   fmt::join(vars, "}, ${"))});
        if (!secrets)
            skipped->push_back(
                {"secrets", "secrets were not resolved: the rules that judge their values were skipped"});
        if (facts.lint) {
            skipped->push_back({"host", "folders, programs and env files were not looked at (--lint)"});
            for (const auto& svc : spec.services)
                if (svc.env_file)
                    skipped->push_back({"services." + svc.name + ".env_file",
                                        "not read (--lint): its variables were not judged"});
        }
    }
    return findings;
}

bool gate_passes(const std::vector<Finding>& findings) {
    return std::none_of(findings.begin(), findings.end(),
                        [](const Finding& f) { return f.severity == Severity::error && !f.is_waived(); });
}

void validate_checks_section(const Spec& spec) {
    for (std::size_t i = 0; i < spec.checks.waive.size(); ++i) {
        const Waiver& w = spec.checks.waive[i];
        std::string path = fmt::format("checks.waive[{}].rule", i);
        Mark mark = spec.mark_of(path).present() ? spec.mark_of(path) : w.mark;
        auto it =
            std::find_if(kRules.begin(), kRules.end(), [&](const Rule& r) { return r.info.id == w.rule; });
        if (it == kRules.end())
            throw SpecError(
                fmt::format("{}: unknown rule '{}' (steward check --list-rules lists them)", path, w.rule),
                spec.file.string(), mark);
        if (!it->info.waivable)
            throw SpecError(fmt::format("{}: {} cannot be waived: replace the value instead", path, w.rule),
                            spec.file.string(), mark);
    }
    for (const auto& s : spec.secrets) {
        if (!s.min_length || *s.min_length >= min_secret_length(s.kind)) continue;
        std::string path = "secrets." + s.name + ".min_length";
        throw SpecError(
            fmt::format("{}: {} is below the built-in minimum of {} for a {}; min_length only raises it",
                        path, *s.min_length, min_secret_length(s.kind), to_string(s.kind)),
            spec.file.string(), spec.mark_of(path));
    }
}

}  // namespace steward::checks
