// Loads steward.yaml into the typed Spec: every error names file:line:col and what was expected.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/interpolate.hpp"
#include "core/pg.hpp"
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
    Loader(Spec& spec, std::string file, EnvLookup env, LoadOptions options)
        : spec_(spec), file_(std::move(file)), env_(std::move(env)), options_(options) {}

    void load(const YAML::Node& root);

  private:
    Spec& spec_;
    std::string file_;
    EnvLookup env_;
    LoadOptions options_;
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
        InterpolationTrace trace;
        return str(n, path, trace);
    }
    std::string str(const YAML::Node& n, const std::string& path, InterpolationTrace& trace) {
        if (!n.IsScalar()) fail(n, path, "expected a string");
        try {
            std::string s = interpolate(
                n.Scalar(), [this](const std::string& v) { return lookup(v); }, trace, options_.lint);
            if (!trace.unset.empty()) spec_.unknown[path] = trace.unset;
            return s;
        } catch (const InterpolationError& e) {
            fail(n, path, e.what());
        }
    }
    bool unknown(const std::string& path) const { return spec_.unknown.count(path) > 0; }
    std::optional<std::string> lookup(const std::string& var) const {
        if (env_) return env_(var);
        const char* v = std::getenv(var.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    }
    bool boolean(const YAML::Node& n, const std::string& path) {
        std::string s = str(n, path);
        if (unknown(path)) return false;
        // YAML 1.1's spellings, as Python's and Go's YAML libraries read them.
        for (const char* yes : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
            if (s == yes) return true;
        for (const char* no : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
            if (s == no) return false;
        fail(n, path, fmt::format("expected true or false, got '{}'", s));
    }
    int integer(const YAML::Node& n, const std::string& path, long min = 0, long max = 1'000'000'000) {
        std::string s = str(n, path);
        if (unknown(path)) return static_cast<int>(min);
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
        if (unknown(path)) return Duration(0);
        try {
            return parse_duration(s);
        } catch (const std::invalid_argument& e) {
            fail(n, path, e.what());
        }
    }
    std::filesystem::path file_path(const YAML::Node& n, const std::string& path) {
        std::filesystem::path p = str(n, path);
        if (p.empty() && unknown(path)) return p;
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
        if (unknown(path)) return options.begin()->second;
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
    void checks(const YAML::Node& n);
    void environment(const YAML::Node& n);
    EnvValue env_value(const YAML::Node& n, const std::string& path);
    void check_dependency_cycles();
    CheckTarget check_target(const Entries& m, const YAML::Node& n, const std::string& path);
    void check_references();
};

void Loader::load(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull())
        throw SpecError("the spec is empty; expected a mapping with version, name, environment", file_, {});
    auto m = map(root, "",
                 {"version", "name", "environment", "timezone", "database", "secrets", "security",
                  "migrations", "backups", "services", "probes", "admin", "logging", "checks"});
    for (const char* k : {"version", "name", "environment", "database"}) require(m, root, "", k);
    spec_.version = integer(m["version"], "version", 1, 1);
    spec_.name = str(m["name"], "name");
    if (unknown("name")) spec_.name = "unknown";  // --lint: only names backups and the embedded database
    if (spec_.name.empty() ||
        spec_.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        fail(m["name"], "name", "expected a short name of lowercase letters, digits, '-' or '_'");
    environment(m["environment"]);
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
    if (m.count("checks")) checks(m["checks"]);
    check_references();
}

void Loader::environment(const YAML::Node& n) {
    // A production host that lost its variable must not quietly run as development: no defaults here.
    InterpolationTrace trace;
    std::string s = str(n, "environment", trace);
    const std::string var = trace.variables.empty() ? "" : trace.variables.front();
    if (options_.environment && !trace.variables.empty()) {
        spec_.environment = *options_.environment;
        spec_.unknown.erase("environment");
        return;
    }
    if (!trace.defaulted.empty() || !trace.unset.empty()) {
        const std::string& v = !trace.defaulted.empty() ? trace.defaulted.front() : trace.unset.front();
        fail(
            n, "environment",
            options_.lint
                ? fmt::format("it comes from ${{{}}}, which is not set here; pass --environment "
                              "development|staging|production",
                              v)
                : fmt::format("${{{}}} is not set (or empty), and environment never falls back to a default: "
                              "set {} to development, staging or production",
                              v, v));
    }
    auto env = parse_environment(s);
    if (!env)
        fail(n, "environment", fmt::format("expected one of development, staging, production, got '{}'", s));
    if (options_.environment && *options_.environment != *env)
        fail(n, "environment",
             fmt::format(
                 "the spec says {}; --environment applies only when environment comes from a ${{VAR}}", s));
    spec_.environment = *env;
}

void Loader::database(const YAML::Node& n) {
    auto m = map(n, "database", {"url", "embedded", "password"});
    if (m.count("url") == m.count("embedded"))
        fail(n, "database", "expected exactly one of 'url' or 'embedded'");
    if (m.count("password")) {
        if (!m.count("url"))
            fail(m["password"], "database.password", "applies to database.url, not to embedded");
        spec_.database.password = secret_or_value(m["password"], "database.password");
        if (!spec_.database.password.is_secret() && !unknown("database.password"))
            fail(m["password"], "database.password",
                 "expected 'secret:NAME' (declare the password under secrets: with a file, env or "
                 "credential)");
    }
    if (m.count("url")) {
        InterpolationTrace trace;
        spec_.database.url = str(m["url"], "database.url", trace);
        // Only without a default: a platform that reads the variable itself has no fallback.
        if (trace.variables.size() == 1 && m["url"].Scalar() == "${" + trace.variables.front() + "}")
            spec_.database.url_variable = trace.variables.front();
        if (spec_.database.url->empty() && !unknown("database.url"))
            fail(m["url"], "database.url", "expected a PostgreSQL URL, got an empty string");
        if (spec_.database.password.is_secret() && !unknown("database.url")) {
            bool has_password = false;
            try {
                has_password = !pg::parse_conninfo(*spec_.database.url).get("password").empty();
            } catch (const std::exception&) {  // the gate's database.url_invalid says what is wrong
            }
            if (has_password)
                fail(m["password"], "database.password",
                     "database.url already carries a password; take it from one place");
        }
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
        auto s = map(node, path, {"env", "file", "value", "credential", "kind", "optional", "min_length"});
        SecretSpec sec;
        sec.name = name;
        int sources = int(s.count("env") + s.count("file") + s.count("value") + s.count("credential"));
        if (sources != 1) fail(node, path, "expected exactly one of 'env', 'file', 'credential' or 'value'");
        if (s.count("env")) {
            sec.source = SecretSpec::Source::env;
            sec.env = str(s["env"], path + ".env");
        } else if (s.count("file")) {
            sec.source = SecretSpec::Source::file;
            sec.file = file_path(s["file"], path + ".file");
        } else if (s.count("credential")) {
            sec.source = SecretSpec::Source::credential;
            sec.credential = str(s["credential"], path + ".credential");
            if (sec.credential.empty() || sec.credential.find('/') != std::string::npos ||
                sec.credential == "." || sec.credential == "..")
                fail(s["credential"], path + ".credential",
                     "expected a systemd credential name (the NAME of LoadCredential=NAME:...), without '/'");
        } else {
            sec.source = SecretSpec::Source::value;
            sec.value = str(s["value"], path + ".value");
        }
        if (s.count("optional")) sec.optional = boolean(s["optional"], path + ".optional");
        if (s.count("min_length"))
            sec.min_length =
                static_cast<std::size_t>(integer(s["min_length"], path + ".min_length", 1, 4096));
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
        map(n, "migrations",
            {"dir", "table", "on_start", "lock_wait", "lock_timeout", "statement_timeout", "database_url"});
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
    if (m.count("database_url")) {
        s.database_url = secret_or_value(m["database_url"], "migrations.database_url");
        if (s.database_url.empty() && !unknown("migrations.database_url"))
            fail(m["database_url"], "migrations.database_url", "expected a PostgreSQL URL or 'secret:NAME'");
    }
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
        auto s = map(
            node, path,
            {"command", "workdir", "user", "env", "env_file", "depends_on", "readiness", "restart", "stop"});
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
            for (auto& [k, v] : e) svc.env[k] = env_value(v, path + ".env." + k);
        }
        if (s.count("env_file")) svc.env_file = file_path(s["env_file"], path + ".env_file");
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
    check_dependency_cycles();
}

EnvValue Loader::env_value(const YAML::Node& n, const std::string& path) {
    std::string text = str(n, path);
    EnvValue ev;
    if (text.rfind("secret:", 0) == 0) {
        ev.kind = EnvValue::Kind::secret;
        ev.text = text.substr(7);
        env_secret_refs_.emplace_back(path, ev.text);
    } else if (text == "database:url") {
        ev.kind = EnvValue::Kind::database_url;
    } else if (text.rfind("security:", 0) == 0 || text.rfind("spec:", 0) == 0) {
        ev.kind = EnvValue::Kind::setting;
        ev.text = text;
        std::string best;
        std::size_t best_d = std::string::npos;
        for (const char* known : kEnvSettings) {
            if (text == known) return ev;
            if (auto d = edit_distance(text, known); d < best_d) best_d = d, best = known;
        }
        fail(n, path,
             best_d <= std::max<std::size_t>(2, text.size() / 3)
                 ? fmt::format("unknown setting '{}'; did you mean '{}'?", text, best)
                 : fmt::format("unknown setting '{}'; expected one of: {}", text,
                               fmt::join(kEnvSettings, ", ")));
    } else {
        ev.text = text;
    }
    return ev;
}

void Loader::check_dependency_cycles() {
    std::map<std::string, const ServiceSpec*> by_name;
    for (const auto& s : spec_.services) by_name[s.name] = &s;
    std::map<std::string, int> state;  // 0 unvisited, 1 on the path, 2 done
    std::vector<std::string> trail;
    std::function<void(const ServiceSpec&)> visit = [&](const ServiceSpec& s) {
        state[s.name] = 1;
        trail.push_back(s.name);
        for (const auto& dep : s.depends_on) {
            if (state[dep] == 1) {
                auto from = std::find(trail.begin(), trail.end(), dep);
                std::vector<std::string> cycle(from, trail.end());
                cycle.push_back(dep);
                std::string path = "services." + s.name + ".depends_on";
                fail_at(spec_.mark_of(path), path,
                        fmt::format("a dependency cycle: {}; no service of it could ever start",
                                    fmt::join(cycle, " -> ")));
            }
            if (state[dep] == 0) visit(*by_name.at(dep));
        }
        trail.pop_back();
        state[s.name] = 2;
    };
    for (const auto& s : spec_.services)
        if (state[s.name] == 0) visit(s);
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

void Loader::checks(const YAML::Node& n) {
    auto m = map(n, "checks", {"waive", "min_secret_length"});
    if (m.count("min_secret_length"))
        spec_.checks.min_secret_length =
            static_cast<std::size_t>(integer(m["min_secret_length"], "checks.min_secret_length", 16, 4096));
    if (!m.count("waive")) return;
    const auto& list = m["waive"];
    if (!list.IsSequence()) fail(list, "checks.waive", "expected a list of {rule, path, reason}");
    for (std::size_t i = 0; i < list.size(); ++i) {
        std::string path = fmt::format("checks.waive[{}]", i);
        spec_.marks[path] = mark(list[i]);
        auto w = map(list[i], path, {"rule", "path", "reason"});
        require(w, list[i], path, "rule");
        Waiver waiver;
        waiver.mark = mark(list[i]);
        waiver.rule = str(w["rule"], path + ".rule");
        if (w.count("path")) waiver.path = str(w["path"], path + ".path");
        if (w.count("reason")) waiver.reason = str(w["reason"], path + ".reason");
        auto not_space = [](char c) { return !std::isspace(static_cast<unsigned char>(c)); };
        if (std::none_of(waiver.reason.begin(), waiver.reason.end(), not_space))
            fail(list[i], path,
                 "a waiver needs a reason (why the finding is accepted, e.g. \"private network, see "
                 "RFC-12\")");
        spec_.checks.waive.push_back(std::move(waiver));
    }
}

void Loader::check_references() {
    std::vector<std::pair<std::string, std::string>> refs = env_secret_refs_;
    if (spec_.database.password.is_secret())
        refs.emplace_back("database.password", spec_.database.password.secret);
    if (spec_.migrations.database_url.is_secret())
        refs.emplace_back("migrations.database_url", spec_.migrations.database_url.secret);
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
    return parse_spec(yaml_text, file, std::move(env), LoadOptions{});
}

Spec load_spec(const std::filesystem::path& file, EnvLookup env) {
    return load_spec(file, std::move(env), LoadOptions{});
}

Spec parse_spec(const std::string& yaml_text, const std::filesystem::path& file, EnvLookup env,
                const LoadOptions& options) {
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
    Loader(spec, name, std::move(env), options).load(root);
    return spec;
}

Spec load_spec(const std::filesystem::path& file, EnvLookup env, const LoadOptions& options) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw SpecError(fmt::format("cannot read the spec: {}", std::strerror(errno)), file.string(), {});
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_spec(ss.str(), file, std::move(env), options);
}

}  // namespace steward
