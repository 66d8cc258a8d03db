// Security, database and admin API rules: settings that make the deployment unsafe.
#include <fmt/format.h>

#include <algorithm>

#include "checks/rule.hpp"
#include "checks/strength.hpp"
#include "core/pg.hpp"

namespace steward::checks {
namespace {

bool starts_with_ci(const std::string& text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
    return true;
}

// Why a token/password is weak ("" when it is not). Never includes the value.
std::string weakness(const std::string& value, std::size_t min_length) {
    if (value.empty()) return "is empty";
    if (is_placeholder(value)) return "is a placeholder or default value";
    if (value.size() < min_length)
        return fmt::format("is {} characters; at least {} are needed", value.size(), min_length);
    if (is_low_entropy(value)) return "has low entropy (repeated or sequential characters)";
    return {};
}

// The parsed database.url; nullopt when it does not parse or parses into something unintended.
std::optional<pg::ConnInfo> parsed_url(const RuleContext& ctx) {
    if (!ctx.spec.database.url) return std::nullopt;
    try {
        auto info = pg::parse_conninfo(*ctx.spec.database.url);
        if (!misparsed_url(info).empty()) return std::nullopt;
        return info;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string foreign_scheme(const std::string& url) {
    auto colon = url.find("://");
    if (colon == std::string::npos || colon == 0) return {};
    std::string scheme = url.substr(0, colon);
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme == "postgresql" || scheme == "postgres") return {};
    bool word = std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    });
    return word ? scheme : std::string();
}

std::string misparsed_url(const pg::ConnInfo& info) {
    std::string port = info.get("port");
    for (std::size_t start = 0; !port.empty() && start <= port.size();) {
        auto end = std::min(port.find(',', start), port.size());
        std::string one = port.substr(start, end - start);
        if (!one.empty() && !all_digits(one)) return "its port is not a number";
        start = end + 1;
    }
    if (info.host().find('@') != std::string::npos) return "its host contains '@'";
    return {};
}

void check_security_auth_disabled(const RuleContext& ctx, Hits& hits) {
    env_auth_disabled(ctx, hits);
    if (ctx.spec.security.require_auth) return;
    hits.push_back({"security.require_auth",
                    "require_auth is false: the API accepts unauthenticated requests",
                    "set security.require_auth: true"});
}

void check_security_cors_wildcard(const RuleContext& ctx, Hits& hits) {
    env_cors_wildcard(ctx, hits);
    for (const auto& origin : ctx.spec.security.cors_origins) {
        if (origin.find('*') == std::string::npos) continue;
        hits.push_back({"security.cors_origins",
                        fmt::format("cors_origins contains the wildcard origin {}", origin),
                        "list the exact origins, e.g. [https://app.example.com]"});
    }
}

void check_security_cors_http_origin(const RuleContext& ctx, Hits& hits) {
    env_cors_http_origin(ctx, hits);
    for (const auto& origin : ctx.spec.security.cors_origins) {
        if (!starts_with_ci(origin, "http://")) continue;
        hits.push_back({"security.cors_origins",
                        fmt::format("cors_origins contains the plain-HTTP origin {}", origin),
                        "use https:// origins only"});
    }
}

void check_security_cookie_insecure(const RuleContext& ctx, Hits& hits) {
    env_cookie_insecure(ctx, hits);
    if (ctx.spec.security.cookie_secure) return;
    hits.push_back({"security.cookie_secure",
                    "cookie_secure is false: session cookies are sent over plain HTTP",
                    "set security.cookie_secure: true"});
}

void check_security_base_url_not_https(const RuleContext& ctx, Hits& hits) {
    env_base_url_not_https(ctx, hits);
    const auto& url = ctx.spec.security.base_url;
    if (!url) {
        hits.push_back({"security.base_url", "base_url is not set, so nothing states the public URL is HTTPS",
                        "set security.base_url: https://<your domain>"});
        return;
    }
    if (starts_with_ci(*url, "https://")) return;
    hits.push_back({"security.base_url", fmt::format("base_url {} is not https://", *url),
                    "serve the API behind TLS and set security.base_url to its https:// address"});
}

void check_security_hsts_disabled(const RuleContext& ctx, Hits& hits) {
    if (ctx.spec.security.hsts) return;
    hits.push_back(
        {"security.hsts", "hsts is false: no Strict-Transport-Security header", "set security.hsts: true"});
}

void check_security_debug_enabled(const RuleContext& ctx, Hits& hits) {
    env_debug_enabled(ctx, hits);
    if (!ctx.spec.security.debug) return;
    hits.push_back({"security.debug", "debug is true: errors show stack traces and internals to clients",
                    "set security.debug: false"});
}

void check_security_no_rate_limit(const RuleContext& ctx, Hits& hits) {
    env_no_rate_limit(ctx, hits);
    const auto& limit = ctx.spec.security.rate_limit_per_minute;
    if (limit && *limit > 0) return;
    hits.push_back({"security.rate_limit_per_minute", "no rate limit is configured",
                    "set security.rate_limit_per_minute, e.g. 60"});
}

void check_database_url_invalid(const RuleContext& ctx, Hits& hits) {
    const auto& url = ctx.spec.database.url;
    if (!url || url->empty()) return;
    constexpr const char* kEncode =
        "percent-encode special characters of the password ('/' %2F, '@' %40, '?' %3F, '#' %23, '%' %25); "
        "form: postgresql://user:password@host:5432/dbname?sslmode=verify-full";
    if (std::string scheme = foreign_scheme(*url); !scheme.empty()) {
        hits.push_back(
            {"database.url",
             fmt::format("database.url is a {}:// URL; steward needs a PostgreSQL database", scheme),
             "point database.url at PostgreSQL: postgresql://user@host:5432/dbname?sslmode=verify-full"});
        return;
    }
    std::string why;
    try {
        why = misparsed_url(pg::parse_conninfo(*url));
        if (why.empty()) return;
        why += " (libpq split the URL in unintended places)";
    } catch (const std::exception& e) {
        // libpq quotes the offending piece, which may be part of the password.
        why = e.what();  // pg::parse_conninfo already masks what overlaps the password
    }
    hits.push_back({"database.url", "database.url cannot be parsed: " + why, kEncode});
}

namespace {

std::vector<std::string> split_commas(const std::string& list) {
    std::vector<std::string> out;
    for (std::size_t start = 0; start <= list.size();) {
        auto end = std::min(list.find(',', start), list.size());
        out.push_back(list.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace

std::vector<std::string> connect_targets(const pg::ConnInfo& info, const std::optional<std::string>& pghost,
                                         const std::optional<std::string>& pghostaddr) {
    // As libpq: host and hostaddr come from the URL, else PGHOST / PGHOSTADDR; entry i connects to
    // hostaddr[i] when it is set (host[i] then only names the server for TLS and auth), else host[i].
    std::string host = info.get("host");
    std::string addr = info.get("hostaddr");
    if (host.empty() && pghost) host = *pghost;
    if (addr.empty() && pghostaddr) addr = *pghostaddr;
    std::vector<std::string> hosts = split_commas(host), addrs = split_commas(addr);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < std::max(hosts.size(), addrs.size()); ++i) {
        std::string a = i < addrs.size() ? addrs[i] : "";
        out.push_back(!a.empty() ? a : i < hosts.size() ? hosts[i] : "");
    }
    return out;
}

void check_database_sslmode(const RuleContext& ctx, Hits& hits) {
    auto info = parsed_url(ctx);
    if (!info) return;
    // None, or a socket folder, is local; every target must be.
    std::vector<std::string> remote;
    for (const auto& one : connect_targets(*info, ctx.facts.pghost, ctx.facts.pghostaddr))
        if (!one.empty() && one.front() != '/' && !is_loopback_host(one)) remote.push_back(one);
    if (remote.empty()) return;
    std::string hosts = fmt::format("{}", fmt::join(remote, ","));
    std::string mode = info->get("sslmode");
    std::string said = "sslmode is " + mode;
    if (mode.empty() && ctx.facts.pgsslmode) {
        mode = *ctx.facts.pgsslmode;
        said = "sslmode is not set and PGSSLMODE is " + mode;
    } else if (mode.empty()) {
        said = "sslmode is not set (libpq defaults to prefer)";
    }
    if (mode != "" && mode != "disable" && mode != "allow" && mode != "prefer") return;
    hits.push_back(
        {"database.url",
         fmt::format("{} for the non-loopback host {}: the connection may be unencrypted", said, hosts),
         "add sslmode=verify-full (or at least require) to database.url"});
}

void check_database_weak_password(const RuleContext& ctx, Hits& hits) {
    // A database URL in an env file the app reads (seed 004's DATABASE_URL=postgresql://user:pw@...).
    for (const auto& e : env_literals(ctx)) {
        if (!e.from_file() || e.value.rfind("postgres", 0) != 0) continue;
        std::string password;
        try {
            password = pg::parse_conninfo(e.value).get("password");
        } catch (const std::exception&) {
            continue;
        }
        if (password.empty()) continue;
        std::string why = is_published_default(password)
                              ? "is a published default or example value"
                              : weakness(password, std::max(min_secret_length(SecretKind::password),
                                                            ctx.spec.checks.min_secret_length.value_or(0)));
        if (why.empty()) continue;
        hits.push_back(
            {e.path, fmt::format("the password in {} {}", e.var, why),
             "set a random password (`openssl rand -base64 24`) with ALTER ROLE ... PASSWORD and in the URL",
             e.line, e.file});
    }
    auto info = parsed_url(ctx);
    if (!info) return;
    auto it = info->params.find("password");
    if (it == info->params.end()) return;
    if (is_published_default(it->second)) return;  // secret.published_default says it, everywhere
    std::string why = weakness(it->second, std::max(min_secret_length(SecretKind::password),
                                                    ctx.spec.checks.min_secret_length.value_or(0)));
    if (why.empty()) return;
    hits.push_back(
        {"database.url", "the password in database.url " + why,
         "set a random password (`openssl rand -base64 24`) with ALTER ROLE ... PASSWORD and in the URL"});
}

void check_database_embedded_in_production(const RuleContext& ctx, Hits& hits) {
    if (!ctx.spec.database.embedded) return;
    hits.push_back({"database.embedded", "database.embedded runs a private development PostgreSQL",
                    "point database.url at a managed or dedicated PostgreSQL server"});
}

void check_database_inline_password(const RuleContext& ctx, Hits& hits) {
    if (!ctx.facts.database_password_in_spec) return;
    hits.push_back({"database.url", "the password of database.url is written in the spec file",
                    "take it from the environment: url: ${DATABASE_URL}, or "
                    "postgresql://app:${DB_PASSWORD}@host/db (percent-encoded)"});
}

void check_admin_exposed_without_token(const RuleContext& ctx, Hits& hits) {
    const auto& admin = ctx.spec.admin;
    if (is_loopback_host(listen_host(admin.listen)) || !admin.token.empty()) return;
    hits.push_back({"admin",
                    fmt::format("admin API listens on {} (not loopback) without a token", admin.listen),
                    "set admin.token: \"secret:admin_token\" or listen on 127.0.0.1"});
}

void check_admin_weak_token(const RuleContext& ctx, Hits& hits) {
    const auto& token = ctx.spec.admin.token;
    if (token.empty()) return;
    std::string why;
    if (!token.is_secret()) {
        if (is_published_default(token.literal)) return;
        why = weakness(token.literal, std::max(min_secret_length(SecretKind::token),
                                               ctx.spec.checks.min_secret_length.value_or(0)));
    } else {
        // Token and key secrets are already held to 32 characters by the secret rules.
        const SecretSpec* s = ctx.spec.find_secret(token.secret);
        const Secret* v = ctx.secret(token.secret);
        if (!s || !v || s->kind != SecretKind::password) return;
        why = weakness(v->reveal(), std::max(min_secret_length(SecretKind::token),
                                             ctx.spec.checks.min_secret_length.value_or(0)));
    }
    if (why.empty()) return;
    hits.push_back({"admin.token", "the admin token " + why, "generate one with `openssl rand -base64 48`"});
}

void check_admin_inline_token(const RuleContext& ctx, Hits& hits) {
    const auto& token = ctx.spec.admin.token;
    if (token.empty() || token.is_secret()) return;
    hits.push_back({"admin.token", "admin.token is written inline in the spec",
                    "declare it under secrets: (file or env) and set admin.token: \"secret:admin_token\""});
}

}  // namespace steward::checks
