// Spec loading: the typed model, defaults, and every error kind with its line and column.
#include <gtest/gtest.h>

#include <csignal>

#include "core/spec.hpp"

using namespace steward;

namespace {

std::optional<std::string> fake_env(const std::string& name) {
    if (name == "DB_URL") return "postgresql://app:pw@db.internal:5432/chat?sslmode=verify-full";
    if (name == "EMPTY") return "";
    return std::nullopt;
}

Spec parse(const std::string& yaml) { return parse_spec(yaml, "/srv/chat/steward.yaml", fake_env); }

SpecError parse_error(const std::string& yaml) {
    try {
        parse(yaml);
    } catch (const SpecError& e) {
        return e;
    }
    ADD_FAILURE() << "expected a SpecError for:\n" << yaml;
    return SpecError("none");
}

const std::string kMinimal =
    "version: 1\n"
    "name: chat\n"
    "environment: production\n"
    "database:\n"
    "  url: ${DB_URL}\n";

}  // namespace

TEST(Spec, MinimalSpecGetsDefaults) {
    Spec s = parse(kMinimal);
    EXPECT_EQ(s.name, "chat");
    EXPECT_EQ(s.environment, Environment::production);
    EXPECT_EQ(s.timezone, "UTC");
    EXPECT_EQ(*s.database.url, "postgresql://app:pw@db.internal:5432/chat?sslmode=verify-full");
    EXPECT_EQ(s.migrations.dir, "/srv/chat/migrations");
    EXPECT_EQ(s.migrations.table, "steward_migrations");
    EXPECT_EQ(s.migrations.on_start, MigrationsSpec::OnStart::apply);
    EXPECT_EQ(s.migrations.lock_wait, std::chrono::seconds(60));
    EXPECT_EQ(s.migrations.lock_timeout, std::chrono::seconds(10));
    EXPECT_FALSE(s.backups);
    EXPECT_EQ(s.admin.listen, "127.0.0.1:9180");
    EXPECT_TRUE(s.security.require_auth);
    EXPECT_EQ(s.mark_of("database.url").line, 5);
    EXPECT_EQ(s.mark_of("database.url").column, 3);
    EXPECT_FALSE(s.mark_of("backups").present());
}

TEST(Spec, FullSpecIsTyped) {
    Spec s = parse(kMinimal + R"(timezone: Europe/Berlin
secrets:
  jwt_secret: { env: JWT_SECRET_KEY }
  admin_token: { file: secrets/admin.token }
  db_password: { value: "x", kind: password }
  backup_key: { file: /etc/steward/backup.key, kind: key }
security: { require_auth: false, cors_origins: ["https://a.example.com"], cookie_secure: no, base_url: "https://chat.example.com", hsts: true, debug: false, rate_limit_per_minute: 60 }
migrations: { dir: ./db, table: schema_history, on_start: validate, lock_wait: 5m, lock_timeout: 3s, statement_timeout: 1h }
backups:
  dir: /var/backups/chat
  schedule: "0 2 * * *"
  format: directory
  compression: gzip:5
  jobs: 4
  verify: restore
  catch_up: false
  lock_wait_timeout: 500ms
  encryption: { key: "secret:backup_key" }
  retention: { keep_last: 2, daily: 10, weekly: 3, monthly: 12 }
  offsite: { sftp: { host: backup.example.com, port: 2222, user: bk, key: "secret:backup_key", known_hosts: kh, path: /srv/b, verify_remote: true } }
services:
  chat-api:
    command: [./chat-api, --port, "8000"]
    workdir: app
    env: { DATABASE_URL: "database:url", JWT_SECRET_KEY: "secret:jwt_secret", MODE: "prod" }
    readiness: { http: { url: "http://127.0.0.1:8000/health" }, timeout: 30s }
    restart: { policy: always, backoff_initial: 1s, backoff_max: 60s, max_restarts: 5, window: 5m }
    stop: { signal: SIGINT, timeout: 20s }
  worker:
    command: [./worker]
    depends_on: [chat-api]
probes:
  - { name: health, http: { url: "http://127.0.0.1:8000/health", expect_status: [200, 204], body_contains: ok, headers: { X-Probe: steward } }, interval: 10s, timeout: 2s, failure_threshold: 3 }
  - { name: db, postgres: { query: "SELECT 1" }, interval: 15s }
  - { name: redis, tcp: { address: "127.0.0.1:6379" } }
  - { name: disk, exec: { command: [/bin/true] }, success_threshold: 2 }
admin: { listen: "127.0.0.1:9999", token: "secret:admin_token", metrics_auth: true }
logging: { level: debug, format: json }
)");
    EXPECT_EQ(s.timezone, "Europe/Berlin");
    ASSERT_EQ(s.secrets.size(), 4u);
    EXPECT_EQ(s.find_secret("admin_token")->file, "/srv/chat/secrets/admin.token");
    EXPECT_EQ(s.find_secret("db_password")->kind, SecretKind::password);
    EXPECT_EQ(s.find_secret("jwt_secret")->source, SecretSpec::Source::env);
    EXPECT_FALSE(s.security.require_auth);
    EXPECT_FALSE(s.security.cookie_secure);
    EXPECT_EQ(*s.security.rate_limit_per_minute, 60);
    EXPECT_EQ(s.migrations.dir, "/srv/chat/db");
    EXPECT_EQ(s.migrations.on_start, MigrationsSpec::OnStart::validate);
    EXPECT_EQ(s.migrations.lock_wait, std::chrono::minutes(5));
    EXPECT_EQ(*s.migrations.statement_timeout, std::chrono::hours(1));
    ASSERT_TRUE(s.backups);
    EXPECT_EQ(s.backups->format, BackupsSpec::Format::directory);
    EXPECT_EQ(to_string(s.backups->compression), "gzip:5");
    EXPECT_EQ(s.backups->verify, BackupsSpec::Verify::restore);
    EXPECT_EQ(s.backups->lock_wait_timeout, std::chrono::milliseconds(500));
    EXPECT_EQ(s.backups->encryption_key.secret, "backup_key");
    EXPECT_EQ(s.backups->retention.monthly, 12);
    ASSERT_TRUE(s.backups->sftp);
    EXPECT_EQ(s.backups->sftp->port, 2222);
    EXPECT_EQ(s.backups->sftp->known_hosts, "/srv/chat/kh");
    ASSERT_EQ(s.services.size(), 2u);
    const auto& api = s.services[0];
    EXPECT_EQ(api.name, "chat-api");
    EXPECT_EQ(api.command.size(), 3u);
    EXPECT_EQ(*api.workdir, "/srv/chat/app");
    EXPECT_EQ(api.env.at("DATABASE_URL").kind, EnvValue::Kind::database_url);
    EXPECT_EQ(api.env.at("JWT_SECRET_KEY").kind, EnvValue::Kind::secret);
    EXPECT_EQ(api.env.at("JWT_SECRET_KEY").text, "jwt_secret");
    EXPECT_EQ(api.env.at("MODE").text, "prod");
    EXPECT_EQ(api.readiness->http->url, "http://127.0.0.1:8000/health");
    EXPECT_EQ(api.readiness_timeout, std::chrono::seconds(30));
    EXPECT_EQ(api.restart.policy, RestartSpec::Policy::always);
    EXPECT_EQ(api.stop.signal, SIGINT);
    EXPECT_EQ(s.services[1].depends_on, std::vector<std::string>{"chat-api"});
    ASSERT_EQ(s.probes.size(), 4u);
    EXPECT_EQ(s.probes[0].target.http->expect_status, (std::vector<int>{200, 204}));
    EXPECT_EQ(s.probes[0].target.http->headers.at("X-Probe"), "steward");
    EXPECT_EQ(s.probes[1].target.postgres->query, "SELECT 1");
    EXPECT_EQ(s.probes[2].target.tcp->address, "127.0.0.1:6379");
    EXPECT_EQ(s.probes[3].success_threshold, 2);
    EXPECT_EQ(s.admin.token.secret, "admin_token");
    EXPECT_TRUE(s.admin.metrics_auth);
    EXPECT_EQ(s.logging.format, "json");
    EXPECT_EQ(s.mark_of("secrets.jwt_secret").line, 8);
}

TEST(Spec, UnknownKeySuggestsNearest) {
    auto e = parse_error(kMinimal + "secuirty:\n  debug: false\n");
    EXPECT_EQ(e.mark().line, 6);
    EXPECT_EQ(e.mark().column, 1);
    EXPECT_NE(e.message().find("unknown key 'secuirty'"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("did you mean 'security'?"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("/srv/chat/steward.yaml:6:1: ", 0), 0u) << e.what();
}

TEST(Spec, NestedUnknownKeyNamesItsPath) {
    auto e = parse_error(kMinimal + "migrations:\n  lock_wiat: 10s\n");
    EXPECT_EQ(e.mark().line, 7);
    EXPECT_EQ(e.mark().column, 3);
    EXPECT_NE(e.message().find("migrations: unknown key 'lock_wiat'; did you mean 'lock_wait'?"),
              std::string::npos)
        << e.what();
}

TEST(Spec, UnrelatedUnknownKeyListsChoices) {
    auto e = parse_error(kMinimal + "admin: { zzzzzzzz: 1 }\n");
    EXPECT_NE(e.message().find("expected one of: listen, token, metrics_auth"), std::string::npos)
        << e.what();
}

TEST(Spec, WrongTypesSayWhatWasExpected) {
    auto e = parse_error(kMinimal + "security:\n  require_auth: maybe\n");
    EXPECT_EQ(e.mark().line, 7);
    EXPECT_NE(e.message().find("security.require_auth: expected true or false, got 'maybe'"),
              std::string::npos)
        << e.what();

    e = parse_error(kMinimal + "security:\n  cors_origins: https://a.example.com\n");
    EXPECT_NE(e.message().find("security.cors_origins: expected a list of strings"), std::string::npos)
        << e.what();

    e = parse_error(kMinimal + "migrations: { lock_wait: soon }\n");
    EXPECT_NE(e.message().find("expected a duration"), std::string::npos) << e.what();

    e = parse_error(kMinimal + "security: { rate_limit_per_minute: lots }\n");
    EXPECT_NE(e.message().find("expected an integer"), std::string::npos) << e.what();

    e = parse_error("version: 1\nname: chat\nenvironment: prod\ndatabase: { url: x }\n");
    EXPECT_EQ(e.mark().line, 3);
    EXPECT_NE(e.message().find("expected one of development, staging, production, got 'prod'"),
              std::string::npos)
        << e.what();

    e = parse_error(kMinimal + "services: [a, b]\n");
    EXPECT_NE(e.message().find("services: expected a mapping"), std::string::npos) << e.what();
}

TEST(Spec, UndefinedSecretReferenceIsAnError) {
    auto e = parse_error(kMinimal +
                         "secrets:\n  admin_token: { env: T }\nadmin:\n  token: \"secret:admin_tokne\"\n");
    EXPECT_EQ(e.mark().line, 9);
    EXPECT_NE(e.message().find("admin.token: 'secret:admin_tokne' refers to an undefined secret; did you "
                               "mean 'secret:admin_token'?"),
              std::string::npos)
        << e.what();

    e = parse_error(kMinimal + "services:\n  api:\n    command: [x]\n    env: { K: \"secret:nope\" }\n");
    EXPECT_NE(e.message().find("services.api.env.K: 'secret:nope' refers to an undefined secret"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(e.mark().line, 9);
}

TEST(Spec, DuplicateNamesAreErrors) {
    auto e = parse_error(kMinimal + "services:\n  api: { command: [a] }\n  api: { command: [b] }\n");
    EXPECT_EQ(e.mark().line, 8);
    EXPECT_NE(e.message().find("duplicate key 'api'"), std::string::npos) << e.what();

    e = parse_error(
        kMinimal +
        "probes:\n  - { name: p, tcp: { address: 'a:1' } }\n  - { name: p, tcp: { address: 'a:2' } }\n");
    EXPECT_NE(e.message().find("duplicate probe name 'p'"), std::string::npos) << e.what();
}

TEST(Spec, MissingRequiredKeys) {
    auto e = parse_error("version: 1\nname: chat\ndatabase: { url: x }\n");
    EXPECT_NE(e.message().find("missing required key 'environment'"), std::string::npos) << e.what();
    e = parse_error(kMinimal + "backups: { schedule: '@daily' }\n");
    EXPECT_NE(e.message().find("backups: missing required key 'dir'"), std::string::npos) << e.what();
    e = parse_error(kMinimal + "services:\n  api: { workdir: / }\n");
    EXPECT_NE(e.message().find("services.api: missing required key 'command'"), std::string::npos)
        << e.what();
    e = parse_error("version: 1\nname: chat\nenvironment: staging\ndatabase: {}\n");
    EXPECT_NE(e.message().find("expected exactly one of 'url' or 'embedded'"), std::string::npos) << e.what();
}

TEST(Spec, UnsetVariableIsAnErrorNamingIt) {
    auto e =
        parse_error("version: 1\nname: chat\nenvironment: staging\ndatabase:\n  url: ${NOT_SET_ANYWHERE}\n");
    EXPECT_EQ(e.mark().line, 5);
    EXPECT_NE(e.message().find("NOT_SET_ANYWHERE is not set"), std::string::npos) << e.what();
    Spec s = parse(
        "version: 1\nname: chat\nenvironment: staging\ndatabase:\n  url: "
        "${NOT_SET:-postgresql://localhost/x}\n");
    EXPECT_EQ(*s.database.url, "postgresql://localhost/x");
}

TEST(Spec, YamlSyntaxErrorHasPosition) {
    auto e = parse_error("version: 1\nname: [chat\n");
    EXPECT_TRUE(e.mark().present());
    EXPECT_NE(e.message().find("YAML syntax error"), std::string::npos) << e.what();
}

TEST(Spec, OtherValidations) {
    EXPECT_NE(parse_error(kMinimal + "services:\n  a: { command: [x], depends_on: [b] }\n")
                  .message()
                  .find("'b' is not another service"),
              std::string::npos);
    EXPECT_NE(parse_error(kMinimal + "services:\n  a: { command: [x], stop: { signal: BOGUS } }\n")
                  .message()
                  .find("unknown signal 'BOGUS'"),
              std::string::npos);
    EXPECT_NE(parse_error(kMinimal + "backups: { dir: /b, compression: zstd:40 }\n")
                  .message()
                  .find("expected zstd:N"),
              std::string::npos);
    EXPECT_NE(parse_error(kMinimal + "backups: { dir: /b, format: directory, compression: zstd:3 }\n")
                  .message()
                  .find("gzip:N or none"),
              std::string::npos);
    EXPECT_NE(
        parse_error(kMinimal + "probes:\n  - { name: p }\n").message().find("expected exactly one of 'http'"),
        std::string::npos);
    EXPECT_NE(parse_error(kMinimal + "probes:\n  - { name: p, http: { url: ftp://x } }\n")
                  .message()
                  .find("http:// or https://"),
              std::string::npos);
    EXPECT_NE(parse_error(kMinimal + "secrets:\n  a: { env: A, file: /x }\n")
                  .message()
                  .find("exactly one of 'env', 'file', 'credential' or 'value'"),
              std::string::npos);
    EXPECT_NE(parse_error("version: 2\nname: c\nenvironment: staging\ndatabase: { url: x }\n")
                  .message()
                  .find("from 1 to 1"),
              std::string::npos);
    EXPECT_NE(parse_error("").message().find("the spec is empty"), std::string::npos);
}

TEST(Spec, EmbeddedDatabaseResolvesDirAgainstSpecFolder) {
    Spec s = parse(
        "version: 1\nname: chat\nenvironment: development\ndatabase:\n  embedded: { dir: var/pg, port: 5999 "
        "}\n");
    ASSERT_TRUE(s.database.embedded);
    EXPECT_EQ(s.database.embedded->dir, "/srv/chat/var/pg");
    EXPECT_EQ(s.database.embedded->port, 5999);
}

TEST(Duration, ParsesEveryUnit) {
    EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
    EXPECT_EQ(parse_duration("10s"), std::chrono::seconds(10));
    EXPECT_EQ(parse_duration("5m"), std::chrono::minutes(5));
    EXPECT_EQ(parse_duration("1h"), std::chrono::hours(1));
    EXPECT_EQ(parse_duration("7d"), std::chrono::hours(168));
    for (const char* bad : {"", "10", "s", "1.5s", "-1s", "10 s", "10sec", "99999999999999s", "9999999999d"})
        EXPECT_THROW(parse_duration(bad), std::invalid_argument) << bad;
    EXPECT_EQ(format_duration(std::chrono::seconds(90)), "90s");
    EXPECT_EQ(format_duration(std::chrono::minutes(2)), "2m");
    EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1500ms");
}

// PostgreSQL's timeouts take at most 2147483647 ms. Every duration key of the spec, at every unit, is bounded
// when the spec loads (200000d gave up after 0.04 s; 30d passed check and failed at migrate up).
TEST(Duration, LongerThanPostgresTimeoutsIsASpecErrorWithTheLimit) {
    EXPECT_EQ(parse_duration("2147483647ms"), kMaxDuration);
    EXPECT_EQ(parse_duration("24d"), std::chrono::hours(24 * 24));
    EXPECT_EQ(parse_duration("2147483s"), std::chrono::seconds(2147483));
    for (const char* over :
         {"2147484s", "35792m", "597h", "25d", "30d", "200000d", "999999999d", "999999999h"}) {
        try {
            parse_duration(over);
            ADD_FAILURE() << over << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("2147483647"), std::string::npos) << e.what();
        }
    }
    const std::vector<std::pair<std::string, std::string>> keys{
        {"migrations: { lock_wait: VALUE }", "migrations.lock_wait"},
        {"migrations: { lock_timeout: VALUE }", "migrations.lock_timeout"},
        {"migrations: { statement_timeout: VALUE }", "migrations.statement_timeout"},
        {"backups: { dir: /b, lock_wait_timeout: VALUE }", "backups.lock_wait_timeout"},
        {"probes:\n  - { name: p, tcp: { address: \"127.0.0.1:1\" }, interval: VALUE }",
         "probes[0].interval"},
        {"probes:\n  - { name: p, tcp: { address: \"127.0.0.1:1\" }, timeout: VALUE }", "probes[0].timeout"},
    };
    for (const auto& [yaml, path] : keys) {
        for (const char* value : {"30d", "200000d"}) {
            std::string text = yaml;
            text.replace(text.find("VALUE"), 5, value);
            auto e = parse_error(kMinimal + text + "\n");
            EXPECT_NE(e.message().find(path), std::string::npos) << e.what();
            EXPECT_NE(e.message().find("2147483647"), std::string::npos) << e.what();
            EXPECT_GT(e.mark().line, 0) << e.what();
        }
        std::string ok = yaml;
        ok.replace(ok.find("VALUE"), 5, "24d");
        EXPECT_NO_THROW(parse(kMinimal + ok + "\n")) << ok;
    }
}

TEST(Signal, NamesWithAndWithoutPrefix) {
    EXPECT_EQ(parse_signal("TERM"), SIGTERM);
    EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
    EXPECT_EQ(parse_signal("INT"), SIGINT);
    EXPECT_FALSE(parse_signal("term"));
    EXPECT_FALSE(parse_signal("SIGFOO"));
}

TEST(Spec, SecretsAndServicesKeepFileOrder) {
    Spec s = parse(kMinimal +
                   "secrets:\n  zeta: { env: Z }\n  alpha: { env: A }\nservices:\n  web: { command: [w] }\n  "
                   "api: { command: [a] }\n");
    ASSERT_EQ(s.secrets.size(), 2u);
    EXPECT_EQ(s.secrets[0].name, "zeta");
    EXPECT_EQ(s.secrets[1].name, "alpha");
    ASSERT_EQ(s.services.size(), 2u);
    EXPECT_EQ(s.services[0].name, "web");
    EXPECT_EQ(s.services[1].name, "api");
}
