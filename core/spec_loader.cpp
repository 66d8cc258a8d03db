// Loads steward.yaml into the typed Spec: every error names file:line:col and what was expected.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/interpolate.hpp"
#include "core/spec.hpp"

namespace steward {
namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string join_path(const std::string& base, const std::string& key) {
    return base.empty() ? key : base + "." + key;
}

// A YAML mapping's entries in file order, with lookup by key.
class Entries {
  public:
    void add(const std::string& key, const YAML::Node& value) {
        index_[key] = order_.size();
        order_.emplace_back(key, value);
    }
    std::size_t count(const std::string& key) const { return index_.count(key); }
    const YAML::Node& at(const std::string& key) const { return order_.at(index_.at(key)).second; }
    const YAML::Node& operator[](const std::string& key) const { return at(key); }
    auto begin() const { return order_.begin(); }
    auto end() const { return order_.end(); }

  private:
    std::vector<std::pair<std::string, YAML::Node>> order_;
    std::map<std::string, std::size_t> index_;
};

class Loader {
  public:
    Loader(Spec& spec, std::string file, EnvLookup env)
        : spec_(spec), file_(std::move(file)), env_(std::move(env)) {}

    void load(const YAML::Node& root);

  private:
    Spec& spec_;
    std::string file_;
    EnvLookup env_;
    std::vector<std::pair<std::string, SecretOrValue*>> secret_refs_;  // path -> ref, checked at the end
    std::vector<std::pair<std::string, std::string>> env_secret_refs_;

    static Mark mark(const YAML::Node& n) {
        auto m = n.Mark();
        if (m.line < 0) return {};
        return {m.line + 1, m.column + 1};
    }
    [[noreturn]] void fail(const YAML::Node& n, const std::string& path, const std::string& what) const {
        throw SpecError(path.empty() ? what : fmt::format("{}: {}", path, what), file_, mark(n));
    }
    [[noreturn]] void fail_at(Mark m, const std::string& path, const std::string& what) const {
        throw SpecError(path.empty() ? what : fmt::format("{}: {}", path, what), file_, m);
    }

    // Checks `n` is a mapping whose keys are all in `known`; records marks; returns key -> value.
    Entries map(const YAML::Node& n, const std::string& path, std::initializer_list<const char*> known) {
        if (!n.IsMap()) fail(n, path, "expected a mapping of keys");
        Entries out;
        for (const auto& kv : n) {
            std::string key = kv.first.Scalar();
            std::string full = join_path(path, key);
            if (known.size() > 0 && std::find_if(known.begin(), known.end(),
                                                 [&](const char* k) { return key == k; }) == known.end()) {
                std::string best;
                std::size_t best_d = std::string::npos;
                for (const char* k : known) {
                    auto d = edit_distance(key, k);
                    if (d < best_d) best_d = d, best = k;
                }
                std::string msg = fmt::format("unknown key '{}'", key);
                if (best_d <= std::max<std::size_t>(2, key.size() / 3))
                    msg += fmt::format("; did you mean '{}'?", best);
                else
                    msg += fmt::format("; expected one of: {}", fmt::join(known, ", "));
                fail(kv.first, path, msg);
            }
            if (out.count(key)) fail(kv.first, path, fmt::format("duplicate key '{}'", key));
            spec_.marks[full] = mark(kv.first);
            out.add(key, kv.second);
        }
        return out;
    }

    std::string str(const YAML::Node& n, const std::string& path) {
        if (!n.IsScalar()) fail(n, path, "expected a string");
        try {
            return interpolate(n.Scalar(), [this](const std::string& v) { return lookup(v); });
        } catch (const InterpolationError& e) {
            fail(n, path, e.what());
        }
    }
    std::optional<std::string> lookup(const std::string& var) const {
        if (env_) return env_(var);
        const char* v = std::getenv(var.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    }
    bool boolean(const YAML::Node& n, const std::string& path) {
        std::string s = str(n, path);
        if (s == "true" || s == "yes" || s == "on") return true;
        if (s == "false" || s == "no" || s == "off") return false;
        fail(n, path, fmt::format("expected true or false, got '{}'", s));
    }
    int integer(const YAML::Node& n, const std::string& path, long min = 0, long max = 1'000'000'000) {
        std::string s = str(n, path);
        bool ok = !s.empty() && s.size() < 11 &&
                  std::all_of(s.begin() + (s[0] == '-' ? 1 : 0), s.end(),
                              [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
                  s != "-";
        if (!ok) fail(n, path, fmt::format("expected an integer, got '{}'", s));
        long v = std::stol(s);
        if (v < min || v > max)
            fail(n, path, fmt::format("expected an integer from {} to {}, got {}", min, max, v));
        return static_cast<int>(v);
    }
    Duration duration(const YAML::Node& n, const std::string& path) {
        std::string s = str(n, path);
        try {
            return parse_duration(s);
        } catch (const std::invalid_argument& e) {
            fail(n, path, e.what());
        }
    }
    std::filesystem::path file_path(const YAML::Node& n, const std::string& path) {
        std::filesystem::path p = str(n, path);
        if (p.empty()) fail(n, path, "expected a path, got an empty string");
        return p.is_absolute() ? p : (spec_.folder / p).lexically_normal();
    }
    std::vector<std::string> str_list(const YAML::Node& n, const std::string& path) {
        if (!n.IsSequence()) fail(n, path, "expected a list of strings");
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n.size(); ++i) out.push_back(str(n[i], fmt::format("{}[{}]", path, i)));
        return out;
    }
    template <typename E>
    E choice(const YAML::Node& n, const std::string& path,
             std::initializer_list<std::pair<const char*, E>> options) {
        std::string s = str(n, path);
        std::vector<std::string> names;
        for (auto& [k, v] : options) {
            if (s == k) return v;
            names.push_back(k);
        }
        fail(n, path, fmt::format("expected one of {}, got '{}'", fmt::join(names, ", "), s));
    }
    SecretOrValue secret_or_value(const YAML::Node& n, const std::string& path) {
        std::string s = str(n, path);
        SecretOrValue r;
        if (s.rfind("secret:", 0) == 0) {
            r.secret = s.substr(7);
            if (r.secret.empty()) fail(n, path, "expected 'secret:NAME' with a secret name");
        } else {
            r.literal = s;
        }
        return r;
    }
    void require(const Entries& m, const YAML::Node& parent, const std::string& path, const char* key) {
        if (!m.count(key)) fail(parent, path, fmt::format("missing required key '{}'", key));
    }

    void database(const YAML::Node& n);
    void secrets(const YAML::Node& n);
    void security(const YAML::Node& n);
    void migrations(const YAML::Node& n);
    void backups(const YAML::Node& n);
    void services(const YAML::Node& n);
    void probes(const YAML::Node& n);
    void admin(const YAML::Node& n);
    void logging(const YAML::Node& n);
    CheckTarget check_target(const Entries& m, const YAML::Node& n, const std::string& path);
    void check_references();
};

void Loader::load(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull())
        throw SpecError("the spec is empty; expected a mapping with version, name, environment", file_, {});
    auto m = map(root, "",
                 {"version", "name", "environment", "timezone", "database", "secrets", "security",
                  "migrations", "backups", "services", "probes", "admin", "logging"});
    for (const char* k : {"version", "name", "environment", "database"}) require(m, root, "", k);
    spec_.version = integer(m["version"], "version", 1, 1);
    spec_.name = str(m["name"], "name");
    if (spec_.name.empty() ||
        spec_.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        fail(m["name"], "name", "expected a short name of lowercase letters, digits, '-' or '_'");
    spec_.environment = choice<Environment>(m["environment"], "environment",
                                            {{"development", Environment::development},
                                             {"staging", Environment::staging},
                                             {"production", Environment::production}});
    if (m.count("timezone")) spec_.timezone = str(m["timezone"], "timezone");
    spec_.migrations.dir = spec_.folder / "migrations";
    if (m.count("secrets")) secrets(m["secrets"]);
    database(m["database"]);
    if (m.count("security")) security(m["security"]);
    if (m.count("migrations")) migrations(m["migrations"]);
    if (m.count("backups")) backups(m["backups"]);
    if (m.count("services")) services(m["services"]);
    if (m.count("probes")) probes(m["probes"]);
    if (m.count("admin")) admin(m["admin"]);
    if (m.count("logging")) logging(m["logging"]);
    check_references();
}

void Loader::database(const YAML::Node& n) {
    auto m = map(n, "database", {"url", "embedded"});
    if (m.count("url") == m.count("embedded"))
        fail(n, "database", "expected exactly one of 'url' or 'embedded'");
    if (m.count("url")) {
        spec_.database.url = str(m["url"], "database.url");
        if (spec_.database.url->empty())
            fail(m["url"], "database.url", "expected a PostgreSQL URL, got an empty string");
    } else {
        auto e = map(m["embedded"], "database.embedded", {"dir", "port"});
        EmbeddedDatabaseSpec emb;
        require(e, m["embedded"], "database.embedded", "dir");
        emb.dir = file_path(e["dir"], "database.embedded.dir");
        if (e.count("port")) emb.port = integer(e["port"], "database.embedded.port", 1, 65535);
        spec_.database.embedded = emb;
    }
}

void Loader::secrets(const YAML::Node& n) {
    auto m = map(n, "secrets", {});
    for (auto& [name, node] : m) {
        std::string path = "secrets." + name;
        auto s = map(node, path, {"env", "file", "value", "kind"});
        SecretSpec sec;
        sec.name = name;
        int sources = int(s.count("env") + s.count("file") + s.count("value"));
        if (sources != 1) fail(node, path, "expected exactly one of 'env', 'file' or 'value'");
        if (s.count("env")) {
            sec.source = SecretSpec::Source::env;
            sec.env = str(s["env"], path + ".env");
        } else if (s.count("file")) {
            sec.source = SecretSpec::Source::file;
            sec.file = file_path(s["file"], path + ".file");
        } else {
            sec.source = SecretSpec::Source::value;
            sec.value = str(s["value"], path + ".value");
        }
        if (s.count("kind"))
            sec.kind = choice<SecretKind>(
                s["kind"], path + ".kind",
                {{"token", SecretKind::token}, {"password", SecretKind::password}, {"key", SecretKind::key}});
        spec_.secrets.push_back(std::move(sec));
    }
}

void Loader::security(const YAML::Node& n) {
    auto m = map(n, "security",
                 {"require_auth", "cors_origins", "cookie_secure", "base_url", "hsts", "debug",
                  "rate_limit_per_minute"});
    auto& s = spec_.security;
    if (m.count("require_auth")) s.require_auth = boolean(m["require_auth"], "security.require_auth");
    if (m.count("cors_origins")) s.cors_origins = str_list(m["cors_origins"], "security.cors_origins");
    if (m.count("cookie_secure")) s.cookie_secure = boolean(m["cookie_secure"], "security.cookie_secure");
    if (m.count("base_url")) s.base_url = str(m["base_url"], "security.base_url");
    if (m.count("hsts")) s.hsts = boolean(m["hsts"], "security.hsts");
    if (m.count("debug")) s.debug = boolean(m["debug"], "security.debug");
    if (m.count("rate_limit_per_minute"))
        s.rate_limit_per_minute =
            integer(m["rate_limit_per_minute"], "security.rate_limit_per_minute", 0, 100'000'000);
}

void Loader::migrations(const YAML::Node& n) {
    auto m =
        map(n, "migrations", {"dir", "table", "on_start", "lock_wait", "lock_timeout", "statement_timeout"});
    auto& s = spec_.migrations;
    if (m.count("dir")) s.dir = file_path(m["dir"], "migrations.dir");
    if (m.count("table")) {
        s.table = str(m["table"], "migrations.table");
        if (s.table.empty() ||
            s.table.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos ||
            std::isdigit(static_cast<unsigned char>(s.table[0])))
            fail(m["table"], "migrations.table",
                 "expected a lowercase SQL identifier (letters, digits, '_')");
    }
    if (m.count("on_start"))
        s.on_start = choice<MigrationsSpec::OnStart>(m["on_start"], "migrations.on_start",
                                                     {{"apply", MigrationsSpec::OnStart::apply},
                                                      {"validate", MigrationsSpec::OnStart::validate},
                                                      {"skip", MigrationsSpec::OnStart::skip}});
    if (m.count("lock_wait")) s.lock_wait = duration(m["lock_wait"], "migrations.lock_wait");
    if (m.count("lock_timeout")) s.lock_timeout = duration(m["lock_timeout"], "migrations.lock_timeout");
    if (m.count("statement_timeout"))
        s.statement_timeout = duration(m["statement_timeout"], "migrations.statement_timeout");
}

void Loader::backups(const YAML::Node& n) {
    auto m = map(n, "backups",
                 {"dir", "schedule", "format", "compression", "jobs", "verify", "catch_up",
                  "lock_wait_timeout", "encryption", "retention", "offsite", "drill"});
    BackupsSpec b;
    require(m, n, "backups", "dir");
    b.dir = file_path(m["dir"], "backups.dir");
    if (m.count("schedule")) b.schedule = str(m["schedule"], "backups.schedule");
    if (m.count("format"))
        b.format = choice<BackupsSpec::Format>(
            m["format"], "backups.format",
            {{"custom", BackupsSpec::Format::custom}, {"directory", BackupsSpec::Format::directory}});
    if (m.count("compression")) {
        try {
            b.compression = parse_compression(str(m["compression"], "backups.compression"));
        } catch (const std::invalid_argument& e) {
            fail(m["compression"], "backups.compression", e.what());
        }
        if (b.format == BackupsSpec::Format::directory &&
            b.compression.algorithm == Compression::Algorithm::zstd)
            fail(m["compression"], "backups.compression",
                 "the directory format supports gzip:N or none (PostgreSQL 15's pg_dump has no zstd)");
    } else if (b.format == BackupsSpec::Format::directory) {
        b.compression = {Compression::Algorithm::gzip, 6};
    }
    if (m.count("jobs")) b.jobs = integer(m["jobs"], "backups.jobs", 1, 64);
    if (m.count("verify"))
        b.verify = choice<BackupsSpec::Verify>(m["verify"], "backups.verify",
                                               {{"full", BackupsSpec::Verify::full},
                                                {"restore", BackupsSpec::Verify::restore},
                                                {"none", BackupsSpec::Verify::none}});
    if (m.count("catch_up")) b.catch_up = boolean(m["catch_up"], "backups.catch_up");
    if (m.count("lock_wait_timeout"))
        b.lock_wait_timeout = duration(m["lock_wait_timeout"], "backups.lock_wait_timeout");
    if (m.count("encryption")) {
        auto e = map(m["encryption"], "backups.encryption", {"key"});
        require(e, m["encryption"], "backups.encryption", "key");
        b.encryption_key = secret_or_value(e["key"], "backups.encryption.key");
    }
    if (m.count("retention")) {
        auto r = map(m["retention"], "backups.retention",
                     {"keep_last", "daily", "weekly", "monthly", "keep_failed"});
        if (r.count("keep_last"))
            b.retention.keep_last = integer(r["keep_last"], "backups.retention.keep_last", 0, 100000);
        if (r.count("daily")) b.retention.daily = integer(r["daily"], "backups.retention.daily", 0, 100000);
        if (r.count("weekly"))
            b.retention.weekly = integer(r["weekly"], "backups.retention.weekly", 0, 100000);
        if (r.count("monthly"))
            b.retention.monthly = integer(r["monthly"], "backups.retention.monthly", 0, 100000);
        if (r.count("keep_failed"))
            b.retention.keep_failed = integer(r["keep_failed"], "backups.retention.keep_failed", 0, 100000);
    }
    if (m.count("drill")) {
        auto d = map(m["drill"], "backups.drill", {"schedule"});
        require(d, m["drill"], "backups.drill", "schedule");
        b.drill_schedule = str(d["schedule"], "backups.drill.schedule");
    }
    if (m.count("offsite")) {
        auto o = map(m["offsite"], "backups.offsite", {"sftp"});
        require(o, m["offsite"], "backups.offsite", "sftp");
        const std::string p = "backups.offsite.sftp";
        auto s = map(o["sftp"], p, {"host", "port", "user", "key", "known_hosts", "path", "verify_remote"});
        for (const char* k : {"host", "user", "key", "known_hosts", "path"}) require(s, o["sftp"], p, k);
        SftpSpec sftp;
        sftp.host = str(s["host"], p + ".host");
        if (s.count("port")) sftp.port = integer(s["port"], p + ".port", 1, 65535);
        sftp.user = str(s["user"], p + ".user");
        sftp.key = secret_or_value(s["key"], p + ".key");
        sftp.known_hosts = file_path(s["known_hosts"], p + ".known_hosts");
        sftp.path = str(s["path"], p + ".path");
        if (s.count("verify_remote")) sftp.verify_remote = boolean(s["verify_remote"], p + ".verify_remote");
        b.sftp = sftp;
    }
    spec_.backups = std::move(b);
}

CheckTarget Loader::check_target(const Entries& m, const YAML::Node& n, const std::string& path) {
    CheckTarget t;
    int kinds = int(m.count("http") + m.count("tcp") + m.count("postgres") + m.count("exec"));
    if (kinds != 1) fail(n, path, "expected exactly one of 'http', 'tcp', 'postgres' or 'exec'");
    if (m.count("http")) {
        const auto& node = m.at("http");
        auto h = map(node, path + ".http", {"url", "method", "expect_status", "body_contains", "headers"});
        require(h, node, path + ".http", "url");
        HttpCheck c;
        c.url = str(h["url"], path + ".http.url");
        if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)
            fail(h["url"], path + ".http.url", "expected an http:// or https:// URL");
        if (h.count("method")) c.method = str(h["method"], path + ".http.method");
        if (h.count("expect_status")) {
            const auto& es = h["expect_status"];
            if (es.IsSequence()) {
                for (std::size_t i = 0; i < es.size(); ++i)
                    c.expect_status.push_back(
                        integer(es[i], fmt::format("{}.http.expect_status[{}]", path, i), 100, 599));
            } else {
                c.expect_status.push_back(integer(es, path + ".http.expect_status", 100, 599));
            }
        }
        if (h.count("body_contains")) c.body_contains = str(h["body_contains"], path + ".http.body_contains");
        if (h.count("headers")) {
            auto hd = map(h["headers"], path + ".http.headers", {});
            for (auto& [k, v] : hd) c.headers[k] = str(v, path + ".http.headers." + k);
        }
        t.http = c;
    }
    if (m.count("tcp")) {
        auto h = map(m.at("tcp"), path + ".tcp", {"address"});
        require(h, m.at("tcp"), path + ".tcp", "address");
        t.tcp = TcpCheck{str(h["address"], path + ".tcp.address")};
        if (t.tcp->address.rfind(':') == std::string::npos)
            fail(h["address"], path + ".tcp.address", "expected host:port");
    }
    if (m.count("postgres")) {
        const auto& node = m.at("postgres");
        PostgresCheck c;
        if (!node.IsNull()) {
            auto h = map(node, path + ".postgres", {"query"});
            if (h.count("query")) c.query = str(h["query"], path + ".postgres.query");
        }
        t.postgres = c;
    }
    if (m.count("exec")) {
        auto h = map(m.at("exec"), path + ".exec", {"command"});
        require(h, m.at("exec"), path + ".exec", "command");
        t.exec = ExecCheck{str_list(h["command"], path + ".exec.command")};
        if (t.exec->command.empty())
            fail(h["command"], path + ".exec.command", "expected a non-empty command list");
    }
    return t;
}

void Loader::services(const YAML::Node& n) {
    auto m = map(n, "services", {});
    for (auto& [name, node] : m) {
        std::string path = "services." + name;
        auto s = map(node, path,
                     {"command", "workdir", "user", "env", "depends_on", "readiness", "restart", "stop"});
        ServiceSpec svc;
        svc.name = name;
        require(s, node, path, "command");
        svc.command = str_list(s["command"], path + ".command");
        if (svc.command.empty()) fail(s["command"], path + ".command", "expected a non-empty command list");
        if (s.count("workdir")) svc.workdir = file_path(s["workdir"], path + ".workdir");
        if (s.count("user")) {
            svc.user = str(s["user"], path + ".user");
            if (svc.user->empty()) fail(s["user"], path + ".user", "expected an OS user name");
        }
        if (s.count("env")) {
            auto e = map(s["env"], path + ".env", {});
            for (auto& [k, v] : e) {
                std::string text = str(v, path + ".env." + k);
                EnvValue ev;
                if (text.rfind("secret:", 0) == 0) {
                    ev.kind = EnvValue::Kind::secret;
                    ev.text = text.substr(7);
                    env_secret_refs_.emplace_back(path + ".env." + k, ev.text);
                } else if (text == "database:url") {
                    ev.kind = EnvValue::Kind::database_url;
                } else {
                    ev.text = text;
                }
                svc.env[k] = ev;
            }
        }
        if (s.count("depends_on")) svc.depends_on = str_list(s["depends_on"], path + ".depends_on");
        if (s.count("readiness")) {
            auto r = map(s["readiness"], path + ".readiness", {"http", "tcp", "postgres", "exec", "timeout"});
            svc.readiness = check_target(r, s["readiness"], path + ".readiness");
            if (r.count("timeout"))
                svc.readiness_timeout = duration(r["timeout"], path + ".readiness.timeout");
        }
        if (s.count("restart")) {
            auto r = map(s["restart"], path + ".restart",
                         {"policy", "backoff_initial", "backoff_max", "max_restarts", "window"});
            auto& rs = svc.restart;
            if (r.count("policy"))
                rs.policy = choice<RestartSpec::Policy>(r["policy"], path + ".restart.policy",
                                                        {{"always", RestartSpec::Policy::always},
                                                         {"on-failure", RestartSpec::Policy::on_failure},
                                                         {"on_failure", RestartSpec::Policy::on_failure},
                                                         {"never", RestartSpec::Policy::never}});
            if (r.count("backoff_initial"))
                rs.backoff_initial = duration(r["backoff_initial"], path + ".restart.backoff_initial");
            if (r.count("backoff_max"))
                rs.backoff_max = duration(r["backoff_max"], path + ".restart.backoff_max");
            if (r.count("max_restarts"))
                rs.max_restarts = integer(r["max_restarts"], path + ".restart.max_restarts", 0, 1000000);
            if (r.count("window")) rs.window = duration(r["window"], path + ".restart.window");
            if (rs.backoff_max < rs.backoff_initial)
                fail(s["restart"], path + ".restart", "backoff_max must not be shorter than backoff_initial");
        }
        if (s.count("stop")) {
            auto r = map(s["stop"], path + ".stop", {"signal", "timeout"});
            if (r.count("signal")) {
                std::string sig = str(r["signal"], path + ".stop.signal");
                auto num = parse_signal(sig);
                if (!num)
                    fail(r["signal"], path + ".stop.signal",
                         fmt::format("unknown signal '{}'; expected TERM, INT, QUIT, HUP, KILL, USR1 or USR2",
                                     sig));
                svc.stop.signal = *num;
            }
            if (r.count("timeout")) svc.stop.timeout = duration(r["timeout"], path + ".stop.timeout");
        }
        spec_.services.push_back(std::move(svc));
    }
    for (const auto& svc : spec_.services)
        for (const auto& dep : svc.depends_on) {
            std::string path = "services." + svc.name + ".depends_on";
            bool found = std::any_of(spec_.services.begin(), spec_.services.end(),
                                     [&](const ServiceSpec& o) { return o.name == dep; });
            if (!found || dep == svc.name)
                fail_at(spec_.mark_of(path), path,
                        fmt::format("'{}' is not another service of this spec", dep));
        }
}

void Loader::probes(const YAML::Node& n) {
    if (!n.IsSequence()) fail(n, "probes", "expected a list of probes");
    std::set<std::string> names;
    for (std::size_t i = 0; i < n.size(); ++i) {
        std::string path = fmt::format("probes[{}]", i);
        spec_.marks[path] = mark(n[i]);
        auto m = map(n[i], path,
                     {"name", "http", "tcp", "postgres", "exec", "interval", "timeout", "failure_threshold",
                      "success_threshold"});
        require(m, n[i], path, "name");
        ProbeSpec p;
        p.name = str(m["name"], path + ".name");
        if (!names.insert(p.name).second)
            fail(m["name"], path + ".name", fmt::format("duplicate probe name '{}'", p.name));
        p.target = check_target(m, n[i], path);
        if (m.count("interval")) p.interval = duration(m["interval"], path + ".interval");
        if (m.count("timeout")) p.timeout = duration(m["timeout"], path + ".timeout");
        if (m.count("failure_threshold"))
            p.failure_threshold = integer(m["failure_threshold"], path + ".failure_threshold", 1, 1000);
        if (m.count("success_threshold"))
            p.success_threshold = integer(m["success_threshold"], path + ".success_threshold", 1, 1000);
        spec_.probes.push_back(std::move(p));
    }
}

void Loader::admin(const YAML::Node& n) {
    auto m = map(n, "admin", {"listen", "token", "metrics_auth"});
    if (m.count("listen")) {
        spec_.admin.listen = str(m["listen"], "admin.listen");
        if (spec_.admin.listen.rfind(':') == std::string::npos)
            fail(m["listen"], "admin.listen", "expected host:port, e.g. 127.0.0.1:9180");
    }
    if (m.count("token")) spec_.admin.token = secret_or_value(m["token"], "admin.token");
    if (m.count("metrics_auth")) spec_.admin.metrics_auth = boolean(m["metrics_auth"], "admin.metrics_auth");
}

void Loader::logging(const YAML::Node& n) {
    auto m = map(n, "logging", {"level", "format"});
    if (m.count("level"))
        spec_.logging.level = choice<std::string>(
            m["level"], "logging.level",
            {{"trace", "trace"}, {"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}});
    if (m.count("format"))
        spec_.logging.format =
            choice<std::string>(m["format"], "logging.format", {{"text", "text"}, {"json", "json"}});
}

void Loader::check_references() {
    std::vector<std::pair<std::string, std::string>> refs = env_secret_refs_;
    if (spec_.admin.token.is_secret()) refs.emplace_back("admin.token", spec_.admin.token.secret);
    if (spec_.backups) {
        if (spec_.backups->encryption_key.is_secret())
            refs.emplace_back("backups.encryption.key", spec_.backups->encryption_key.secret);
        if (spec_.backups->sftp && spec_.backups->sftp->key.is_secret())
            refs.emplace_back("backups.offsite.sftp.key", spec_.backups->sftp->key.secret);
    }
    for (auto& [path, name] : refs) {
        if (spec_.find_secret(name)) continue;
        std::string msg = fmt::format("'secret:{}' refers to an undefined secret", name);
        std::string best;
        std::size_t best_d = std::string::npos;
        for (const auto& s : spec_.secrets)
            if (auto d = edit_distance(name, s.name); d < best_d) best_d = d, best = s.name;
        if (!best.empty() && best_d <= std::max<std::size_t>(2, name.size() / 3))
            msg += fmt::format("; did you mean 'secret:{}'?", best);
        else
            msg += "; define it under 'secrets:'";
        fail_at(spec_.mark_of(path), path, msg);
    }
}

}  // namespace

Spec parse_spec(const std::string& yaml_text, const std::filesystem::path& file, EnvLookup env) {
    Spec spec;
    spec.file = file.empty() ? std::filesystem::path() : std::filesystem::absolute(file);
    spec.folder = spec.file.empty() ? std::filesystem::current_path() : spec.file.parent_path();
    std::string name = file.string();
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw SpecError(fmt::format("YAML syntax error: {}", e.msg), name,
                        Mark{e.mark.line + 1, e.mark.column + 1});
    }
    Loader(spec, name, std::move(env)).load(root);
    return spec;
}

Spec load_spec(const std::filesystem::path& file, EnvLookup env) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw SpecError(fmt::format("cannot read the spec: {}", std::strerror(errno)), file.string(), {});
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_spec(ss.str(), file, std::move(env));
}

}  // namespace steward
