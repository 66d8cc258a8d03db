// The Mustache data a spec gives the templates: names, ports, paths and secret references, never secret
// values.
#include "templates/model.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "core/service_env.hpp"

namespace steward::templates {
namespace {

using kainjow::mustache::data;

struct UrlParts {
    std::string scheme, host, path = "/";
    int port = 0;
};

// Enough of a URL for a probe or base_url: scheme://host[:port]/path ([v6] hosts kept bracketed).
UrlParts split_url(const std::string& url) {
    UrlParts u;
    auto sep = url.find("://");
    if (sep == std::string::npos) return u;
    u.scheme = url.substr(0, sep);
    std::string rest = url.substr(sep + 3);
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    if (slash != std::string::npos) u.path = rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
        u.host = authority.substr(0, colon);
        try {
            u.port = std::stoi(authority.substr(colon + 1));
        } catch (const std::exception&) {
            u.port = 0;
        }
    } else {
        u.host = authority;
    }
    if (u.port == 0) u.port = u.scheme == "https" ? 443 : 80;
    return u;
}

long seconds_up(Duration d) { return static_cast<long>((d.count() + 999) / 1000); }

data list() { return data{data::type::list}; }

// A Kubernetes object name: lowercase letters, digits and '-' (so the templates may write it unquoted).
std::string k8s_name(const std::string& text) {
    std::string out;
    for (unsigned char c : text) out += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
    return out;
}

// How an operator makes a secret of this kind (the env example and the comments say it).
std::string how_to_generate(SecretKind kind) {
    switch (kind) {
        case SecretKind::password:
            return "openssl rand -base64 24";
        case SecretKind::key:
            return "a key file of its own (see docs/backups.md)";
        case SecretKind::token:
            break;
    }
    return "openssl rand -base64 48";
}

// The service's HTTP port: its readiness URL, else the first loopback HTTP probe, else 8000.
const HttpCheck* service_http(const Spec& spec, const ServiceSpec& svc) {
    if (svc.readiness && svc.readiness->http) return &*svc.readiness->http;
    for (const auto& p : spec.probes)
        if (p.target.http) return &*p.target.http;
    return nullptr;
}

data check_target(const CheckTarget& t) {
    data d;
    if (t.http) {
        auto u = split_url(t.http->url);
        d.set("http", true);
        d.set("path", u.path);
        d.set("port", std::to_string(u.port));
    } else if (t.tcp) {
        auto colon = t.tcp->address.rfind(':');
        d.set("tcp", true);
        d.set("port", colon == std::string::npos ? std::string("0") : t.tcp->address.substr(colon + 1));
    } else if (t.exec) {
        data cmd = list();
        for (const auto& a : t.exec->command) cmd.push_back(data(a));
        d.set("exec", true);
        d.set("command", cmd);
    } else {
        return data(false);
    }
    return d;
}

// Whether steward's containers read database.url whole from a key of <name>-env, which the app can read too:
// ${VAR} without a default, its password not from database.password, VAR not also a secret's env (that
// one reaches steward's containers from the secret's own Secret).
bool url_in_env_secret(const Spec& spec) {
    const std::string& var = spec.database.url_variable;
    if (var.empty() || spec.database.password.is_secret()) return false;
    return std::none_of(spec.secrets.begin(), spec.secrets.end(), [&](const SecretSpec& s) {
        return s.source == SecretSpec::Source::env && s.env == var;
    });
}

data service_model(const Spec& spec, const ServiceSpec& svc) {
    data d;
    d.set("name", svc.name);
    const HttpCheck* http = service_http(spec, svc);
    auto u = split_url(http ? http->url : "http://127.0.0.1:8000/health");
    d.set("port", std::to_string(u.port));
    d.set("publish", "127.0.0.1:" + std::to_string(u.port) + ":" + std::to_string(u.port));
    d.set("health_path", u.path);
    data cmd = list();
    for (const auto& a : svc.command) cmd.push_back(data(a));
    d.set("command", cmd);
    d.set("stop_timeout_sec", std::to_string(seconds_up(svc.stop.timeout)));
    d.set("readiness_timeout_sec", std::to_string(seconds_up(svc.readiness_timeout)));
    data readiness = svc.readiness ? check_target(*svc.readiness) : data(false);
    if (svc.readiness)  // the startup probe allows readiness.timeout at one check every 5 s
        readiness.set("startup_failures",
                      std::to_string(std::max(1L, (seconds_up(svc.readiness_timeout) + 4) / 5)));
    d.set("readiness", readiness);
    if (svc.user) d.set("user", *svc.user);
    // The app's environment in a container: literals and settings as values, secrets by reference.
    data env = list();
    bool plain_env = false;
    for (const auto& [key, value] : svc.env) {
        plain_env =
            plain_env || value.kind == EnvValue::Kind::literal || value.kind == EnvValue::Kind::setting;
        data e;
        e.set("name", key);
        switch (value.kind) {
            case EnvValue::Kind::literal:
                e.set("value", value.text);
                break;
            case EnvValue::Kind::setting:
                e.set("value", setting_value(spec, value.text).value_or(""));
                break;
            case EnvValue::Kind::secret:
                e.set("secret", true);
                e.set("secret_name", k8s_name(spec.name + "-" + value.text));
                e.set("secret_key", "value");
                break;
            case EnvValue::Kind::database_url:
                e.set("secret", true);
                if (url_in_env_secret(spec)) {  // steward reads the whole URL from this key of <name>-env
                    e.set("secret_name", k8s_name(spec.name) + "-env");
                    e.set("secret_key", spec.database.url_variable);
                } else {  // a URL with its password from a secret of the spec, or written in the spec
                    e.set("secret_name", k8s_name(spec.name + "-database-url"));
                    e.set("secret_key", "value");
                }
                break;
        }
        env.push_back(e);
    }
    d.set("env", env);
    d.set("plain_env", plain_env);
    return d;
}

}  // namespace

data build_model(const Spec& spec, const RenderInputs& in) {
    data m;
    m.set("name", spec.name);
    m.set("deployment", k8s_name(spec.name));  // spec.name where a section (app, env) has a `name` of its own
    m.set("environment", to_string(spec.environment));
    m.set("timezone", spec.timezone);
    m.set("binary", in.binary);
    m.set("spec_path", in.spec_path);
    m.set("spec_file", spec.file.filename().string());
    m.set("user", "steward");
    m.set("environment_file", "/etc/steward/" + spec.name + ".env");
    // Where the migrations sit beside the deployed spec: a folder relative to the spec stays relative to it.
    auto rel = spec.migrations.dir.lexically_relative(spec.folder);
    bool inside = !rel.empty() && *rel.begin() != "..";
    m.set("migrations_dir", inside ? (std::filesystem::path(in.spec_path).parent_path() / rel).string()
                                   : spec.migrations.dir.string());
    data images;
    images.set("steward", spec.name + "-steward:latest");
    images.set("app", spec.name + "-app:latest");
    m.set("images", images);

    // The unit: start covers the gate and each service's readiness in turn; stop covers each stop in turn.
    long start = 60, stop = 10;
    bool service_users = false;
    for (const auto& s : spec.services) {
        start += seconds_up(s.readiness_timeout);
        stop += seconds_up(s.stop.timeout);
        service_users = service_users || s.user.has_value();
    }
    data unit;
    unit.set("timeout_start_sec", std::to_string(std::max(start, 120L)));
    unit.set("timeout_stop_sec", std::to_string(stop));
    unit.set("watchdog_sec", "30");
    unit.set("service_users", service_users);
    data rw = list();
    std::set<std::string> paths;
    if (spec.backups) paths.insert(spec.backups->dir.string());
    if (spec.database.embedded) paths.insert(spec.database.embedded->dir.string());
    for (const auto& p : paths) rw.push_back(data("path", p));
    unit.set("read_write_paths", rw);
    m.set("unit", unit);

    data credentials = list(), env_secrets = list(), file_secrets = list();
    for (const auto& s : spec.secrets) {
        data d;
        d.set("name", s.name);
        d.set("generate", how_to_generate(s.kind));
        d.set("k8s_name", k8s_name(spec.name + "-" + s.name));
        switch (s.source) {
            case SecretSpec::Source::credential:
                d.set("credential", s.credential);
                d.set("container_path", "/run/credentials/" + s.credential);
                d.set("compose_source", "./secrets/" + s.credential);
                credentials.push_back(d);
                break;
            case SecretSpec::Source::env:
                d.set("env", s.env);
                env_secrets.push_back(d);
                break;
            case SecretSpec::Source::file:
                d.set("file", s.file.string());
                d.set("file_name", s.file.filename().string());
                d.set("compose_source", "./secrets/" + s.file.filename().string());
                d.set("folder", s.file.parent_path().string());
                file_secrets.push_back(d);
                break;
            case SecretSpec::Source::value:
                break;  // inline: the gate refuses it in production, and its value never leaves the spec
        }
    }
    m.set("mounted_secrets", !credentials.is_empty_list() || !file_secrets.is_empty_list());
    m.set("credentials", credentials);
    m.set("env_secrets", env_secrets);
    m.set("file_secrets", file_secrets);

    // The variables production must set: the spec's ${VAR}s without default, and env secrets.
    data variables = list();
    std::set<std::string> seen;
    for (const auto& s : spec.secrets)
        if (s.source == SecretSpec::Source::env && seen.insert(s.env).second) {
            data d;
            d.set("name", s.env);
            d.set("secret", true);
            d.set("generate", how_to_generate(s.kind));
            variables.push_back(d);
        }
    for (const auto& v : in.variables)
        if (seen.insert(v).second) {
            data d;
            d.set("name", v);
            d.set("secret", false);
            variables.push_back(d);
        }
    m.set("variables", variables);

    if (spec.backups) {
        const auto& b = *spec.backups;
        data d;
        d.set("dir", b.dir.string());
        d.set("schedule", b.schedule.value_or(""));
        data lines = list();
        for (const auto& l : in.backup_on_calendar) lines.push_back(data("line", l));
        d.set("on_calendar", lines);
        d.set("timer", !in.backup_on_calendar.empty());
        d.set("textfile", in.textfile);
        d.set("textfile_dir", std::filesystem::path(in.textfile).parent_path().string());
        d.set("offsite", b.sftp.has_value());
        d.set("drill", b.drill_schedule.has_value());
        d.set("drill_stale_seconds", std::to_string(in.drill_stale_seconds));
        m.set("backups", d);
    } else {
        m.set("backups", false);
    }

    data services = list();
    for (const auto& s : spec.services) services.push_back(service_model(spec, s));
    m.set("services", services);
    m.set("app", spec.services.empty() ? data(false) : service_model(spec, spec.services.front()));

    data probes = list();
    for (const auto& p : spec.probes) {
        data d;
        d.set("name", p.name);
        d.set("period_sec", std::to_string(std::max(1L, seconds_up(p.interval))));
        d.set("timeout_sec", std::to_string(std::max(1L, seconds_up(p.timeout))));
        d.set("failure_threshold", std::to_string(p.failure_threshold));
        d.set("target", check_target(p.target));
        probes.push_back(d);
    }
    m.set("probes", probes);

    data nginx;
    auto base = split_url(spec.security.base_url.value_or(""));
    std::string zone = spec.name;  // nginx names: letters, digits, underscores
    for (auto& c : zone)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    nginx.set("zone", zone);
    nginx.set("server_name", base.host.empty() ? "_" : base.host);
    nginx.set("hsts", spec.security.hsts);
    int rate = spec.security.rate_limit_per_minute.value_or(0);
    if (rate > 0) {
        data r;
        r.set("per_minute", std::to_string(rate));
        r.set("burst", std::to_string(std::max(1, rate / 3)));
        nginx.set("rate_limit", r);
    } else {
        nginx.set("rate_limit", false);
    }
    m.set("nginx", nginx);

    auto colon = spec.admin.listen.rfind(':');
    data admin;
    admin.set("listen", spec.admin.listen);
    admin.set("port", colon == std::string::npos ? spec.admin.listen : spec.admin.listen.substr(colon + 1));
    m.set("admin", admin);
    return m;
}

}  // namespace steward::templates
