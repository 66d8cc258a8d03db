// A spec, resolved secrets and facts on which no rule fires, for rule unit tests to break one at a time.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "checks/gate.hpp"

namespace steward::checks::test {

inline constexpr const char* kJwt = "T2WL2ZTm6LIT58WD45d7sJQVY1Uej8r9mGbT8ranr5yU";
inline constexpr const char* kAdminToken = "bNPe5mpv4ctzMuYhNvQKdULv74UyjBmV";
inline constexpr const char* kDbPassword = "XiDdzszaZFEzp4mpeNACjFr";

struct World {
    Spec spec;
    std::map<std::string, ResolvedSecret> secrets;
    GateFacts facts;

    std::vector<Finding> run() const { return evaluate(spec, &secrets, facts); }
    std::vector<Finding> run_without_secrets() const { return evaluate(spec, nullptr, facts); }
};

inline ResolvedSecret ok_secret(const std::string& name, const std::string& value, bool file = false) {
    ResolvedSecret r;
    r.name = name;
    r.value = Secret(value);
    if (file) {
        r.file_mode = 0100600;
        r.file_owner = ::geteuid();
    }
    return r;
}

inline SecretSpec secret_spec(const std::string& name, SecretSpec::Source source, SecretKind kind) {
    SecretSpec s;
    s.name = name;
    s.source = source;
    s.kind = kind;
    if (source == SecretSpec::Source::env) s.env = "STEWARD_TEST_" + name;
    if (source == SecretSpec::Source::file) s.file = "/etc/steward/" + name;
    return s;
}

inline ConnectFacts good_connect() {
    ConnectFacts c;
    c.answered = true;
    c.server_version = "15.5";
    c.server_major = 15;
    c.pg_dump_major = 15;
    c.pg_dump_version = "15.5";
    return c;
}

inline World good_world(Environment env) {
    World w;
    Spec& s = w.spec;
    s.file = "/srv/chat/steward.yaml";
    s.folder = "/srv/chat";
    s.name = "chat";
    s.environment = env;
    s.database.url =
        std::string("postgresql://app:") + kDbPassword + "@db.internal:5432/chat?sslmode=verify-full";
    s.secrets = {secret_spec("jwt_secret", SecretSpec::Source::env, SecretKind::token),
                 secret_spec("admin_token", SecretSpec::Source::file, SecretKind::token)};
    w.secrets["jwt_secret"] = ok_secret("jwt_secret", kJwt);
    w.secrets["admin_token"] = ok_secret("admin_token", kAdminToken, true);
    s.security.require_auth = true;
    s.security.cors_origins = {"https://app.example.com"};
    s.security.cookie_secure = true;
    s.security.base_url = "https://chat.example.com";
    s.security.hsts = true;
    s.security.debug = false;
    s.security.rate_limit_per_minute = 60;
    s.migrations.dir = "/srv/chat/migrations";
    BackupsSpec b;
    b.dir = "/var/backups/chat";
    b.schedule = "0 2 * * *";
    s.backups = b;
    ServiceSpec svc;
    svc.name = "chat-api";
    svc.command = {"/srv/chat/chat-api", "--port", "8000"};
    s.services = {svc};
    ProbeSpec probe;
    probe.name = "chat-health";
    probe.target.http = HttpCheck{};
    probe.target.http->url = "http://127.0.0.1:8000/health";
    s.probes = {probe};
    s.admin.listen = "127.0.0.1:9180";
    s.admin.token.secret = "admin_token";
    s.marks = {{"secrets", {10, 1}},
               {"secrets.jwt_secret", {11, 3}},
               {"secrets.admin_token", {12, 3}},
               {"security", {20, 1}},
               {"database", {5, 1}},
               {"database.url", {6, 3}},
               {"admin", {40, 1}}};

    w.facts.uid = ::geteuid();
    w.facts.backup_dir = PathFacts{true, true, true, ""};
    w.facts.migrations_dir = PathFacts{true, true, false, ""};
    w.facts.service_programs["chat-api"] = ProgramFacts{"/srv/chat/chat-api", true, true};
    return w;
}

inline std::vector<Finding> with_id(const std::vector<Finding>& all, const std::string& id) {
    std::vector<Finding> out;
    std::copy_if(all.begin(), all.end(), std::back_inserter(out),
                 [&](const Finding& f) { return f.id == id; });
    return out;
}

inline const std::vector<Environment>& environments() {
    static const std::vector<Environment> all{Environment::development, Environment::staging,
                                              Environment::production};
    return all;
}

}  // namespace steward::checks::test
