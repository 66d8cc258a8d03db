// The spec keys of the gate issue: environment without defaults, --lint's unknown values, YAML
// booleans, settings references, env_file, secret sources and options, checks:, dependency cycles.
#include <gtest/gtest.h>

#include "core/database_url.hpp"
#include "core/interpolate.hpp"
#include "core/pg.hpp"
#include "core/spec.hpp"

using namespace steward;

namespace {

std::optional<std::string> fake_env(const std::string& name) {
    if (name == "APP_ENV") return "staging";
    if (name == "EMPTY") return "";
    return std::nullopt;
}

const std::string kBase = "version: 1\nname: chat\n";
const std::string kDb = "database:\n  url: postgresql://app@127.0.0.1/chat\n";

Spec parse(const std::string& yaml, LoadOptions options = {}) {
    return parse_spec(yaml, "/srv/chat/steward.yaml", fake_env, options);
}

std::string error_of(const std::string& yaml, LoadOptions options = {}) {
    try {
        parse(yaml, options);
    } catch (const SpecError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a SpecError for:\n" << yaml;
    return {};
}

}  // namespace

TEST(SpecEnvironment, NeverFallsBackToADefault) {
    // The trial: `${APP_ENV:-development}` on a host that lost APP_ENV passed the gate as development.
    std::string err = error_of(kBase + "environment: ${NOPE:-development}\n" + kDb);
    EXPECT_NE(
        err.find("steward.yaml:3:14: environment: ${NOPE} is not set (or empty), and environment never falls "
                 "back to a default"),
        std::string::npos)
        << err;
    EXPECT_NE(error_of(kBase + "environment: ${EMPTY:-production}\n" + kDb).find("${EMPTY}"),
              std::string::npos);
    EXPECT_EQ(parse(kBase + "environment: ${APP_ENV:-development}\n" + kDb).environment,
              Environment::staging);
    EXPECT_EQ(parse(kBase + "environment: ${APP_ENV}\n" + kDb).environment, Environment::staging);
    EXPECT_NE(error_of(kBase + "environment: ${NOPE}\n" + kDb).find("NOPE is not set"), std::string::npos);
}

TEST(SpecEnvironment, LintTakesItFromTheFlagWhenItComesFromAVariable) {
    LoadOptions lint{true, std::nullopt};
    EXPECT_NE(error_of(kBase + "environment: ${NOPE}\n" + kDb, lint).find("pass --environment"),
              std::string::npos);
    LoadOptions prod{true, Environment::production};
    EXPECT_EQ(parse(kBase + "environment: ${NOPE:-development}\n" + kDb, prod).environment,
              Environment::production);
    EXPECT_EQ(parse(kBase + "environment: ${APP_ENV}\n" + kDb, prod).environment, Environment::production);
    EXPECT_NE(error_of(kBase + "environment: staging\n" + kDb, prod).find("the spec says staging"),
              std::string::npos);
}

TEST(SpecLint, UnsetVariablesAreUnknownNotErrors) {
    LoadOptions lint{true, std::nullopt};
    std::string yaml =
        kBase +
        "environment: production\n"
        "database:\n  url: ${DATABASE_URL}\n"
        "security: { debug: '${DEBUG}', base_url: '${PUBLIC_URL}', rate_limit_per_minute: '${RL}' }\n"
        "backups: { dir: '${BACKUP_DIR}' }\n";
    EXPECT_THROW(parse(yaml), SpecError);
    Spec s = parse(yaml, lint);
    EXPECT_EQ(s.unknown.at("database.url"), std::vector<std::string>{"DATABASE_URL"});
    for (const char* p :
         {"security.debug", "security.base_url", "security.rate_limit_per_minute", "backups.dir"})
        EXPECT_TRUE(s.is_unknown(p)) << p;
    EXPECT_TRUE(s.is_unknown("database"));  // a finding on a parent of an unknown value is not judged either
    EXPECT_FALSE(s.is_unknown("database.embedded"));
    EXPECT_FALSE(s.is_unknown("security.hsts"));
}

TEST(SpecBooleans, AcceptYamlSpellingsInAnyCommonCase) {
    for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "on", "ON"}) {
        Spec s = parse(kBase + "environment: production\n" + kDb + "security: { require_auth: " + t + " }\n");
        EXPECT_TRUE(s.security.require_auth) << t;
    }
    for (const char* f : {"false", "False", "FALSE", "no", "No", "off", "OFF"}) {
        Spec s = parse(kBase + "environment: production\n" + kDb + "security: { debug: " + f +
                       ", hsts: " + f + " }\n");
        EXPECT_FALSE(s.security.hsts) << f;
    }
    EXPECT_NE(error_of(kBase + "environment: production\n" + kDb + "security: { debug: tRuE }\n")
                  .find("expected true or false"),
              std::string::npos);
}

TEST(SpecServices, SettingsReferencesAndEnvFile) {
    Spec s = parse(kBase + "environment: production\n" + kDb +
                   "services:\n  api:\n    command: [/bin/true]\n    env_file: app.env\n"
                   "    env: { CORS_ORIGINS: 'security:cors_origins', ENVIRONMENT: 'spec:environment' }\n");
    const auto& svc = s.services[0];
    EXPECT_EQ(*svc.env_file, "/srv/chat/app.env");
    EXPECT_EQ(svc.env.at("CORS_ORIGINS").kind, EnvValue::Kind::setting);
    EXPECT_EQ(svc.env.at("ENVIRONMENT").text, "spec:environment");
    std::string err =
        error_of(kBase + "environment: production\n" + kDb +
                 "services:\n  api:\n    command: [/bin/true]\n    env: { X: 'security:cors_origin' }\n");
    EXPECT_NE(err.find("unknown setting 'security:cors_origin'; did you mean 'security:cors_origins'?"),
              std::string::npos)
        << err;
}

TEST(SpecServices, ADependencyCycleIsASpecError) {
    std::string err = error_of(kBase + "environment: production\n" + kDb +
                               "services:\n"
                               "  a: { command: [/bin/true], depends_on: [b] }\n"
                               "  b: { command: [/bin/true], depends_on: [c] }\n"
                               "  c: { command: [/bin/true], depends_on: [a] }\n");
    EXPECT_NE(err.find("a dependency cycle: "), std::string::npos) << err;
    EXPECT_NE(err.find("a -> b -> c -> a"), std::string::npos) << err;
    EXPECT_NO_THROW(parse(kBase + "environment: production\n" + kDb +
                          "services:\n  a: { command: [/bin/true], depends_on: [b, c] }\n"
                          "  b: { command: [/bin/true], depends_on: [c] }\n  c: { command: [/bin/true] }\n"));
}

TEST(SpecSecrets, CredentialOptionalAndMinLength) {
    Spec s = parse(kBase + "environment: production\n" + kDb +
                   "secrets:\n"
                   "  jwt: { credential: jwt_secret, min_length: 48 }\n"
                   "  anthropic: { env: ANTHROPIC_API_KEY, kind: key, optional: true }\n");
    EXPECT_EQ(s.secrets[0].source, SecretSpec::Source::credential);
    EXPECT_EQ(s.secrets[0].credential, "jwt_secret");
    EXPECT_EQ(*s.secrets[0].min_length, 48u);
    EXPECT_TRUE(s.secrets[1].optional);
    EXPECT_NE(
        error_of(kBase + "environment: production\n" + kDb + "secrets:\n  x: { credential: ../etc/x }\n")
            .find("without '/'"),
        std::string::npos);
}

TEST(SpecSecrets, CredentialsResolveFromTheCredentialsDirectory) {
    SecretSpec s;
    s.name = "jwt";
    s.source = SecretSpec::Source::credential;
    s.credential = "jwt_secret";
    ::unsetenv("CREDENTIALS_DIRECTORY");
    auto r = resolve_secret(s);
    EXPECT_EQ(r.status, ResolvedSecret::Status::file_missing);
    EXPECT_NE(r.problem.find("$CREDENTIALS_DIRECTORY is not set"), std::string::npos) << r.problem;
    EXPECT_NE(r.problem.find("LoadCredential=jwt_secret"), std::string::npos) << r.problem;
}

TEST(SpecChecks, WaiversNeedAReasonAndMinimumsOnlyRise) {
    Spec s = parse(
        kBase + "environment: production\n" + kDb +
        "checks:\n  min_secret_length: 40\n"
        "  waive:\n    - { rule: database.sslmode, path: database.url, reason: \"private network\" }\n");
    ASSERT_EQ(s.checks.waive.size(), 1u);
    EXPECT_EQ(s.checks.waive[0].rule, "database.sslmode");
    EXPECT_EQ(s.checks.waive[0].reason, "private network");
    EXPECT_EQ(s.checks.waive[0].mark.line, 9);
    EXPECT_EQ(*s.checks.min_secret_length, 40u);
    EXPECT_NE(error_of(kBase + "environment: production\n" + kDb +
                       "checks:\n  waive:\n    - { rule: database.sslmode, path: database.url }\n")
                  .find("a waiver needs a reason"),
              std::string::npos);
    EXPECT_NE(error_of(kBase + "environment: production\n" + kDb +
                       "checks:\n  waive:\n    - { rule: x.y, reason: '  ' }\n")
                  .find("a waiver needs a reason"),
              std::string::npos);
    EXPECT_NE(error_of(kBase + "environment: production\n" + kDb + "checks: { min_secret_length: 8 }\n")
                  .find("expected an integer from 16"),
              std::string::npos);
}

TEST(SpecDatabase, PasswordFromASecretAndAMigrationsUrl) {
    Spec s =
        parse(kBase + "environment: production\n" + kDb +
              "  password: secret:db_password\n"
              "secrets:\n  db_password: { file: db.pw, kind: password }\n  migrator: { env: MIGRATOR_URL }\n"
              "migrations: { database_url: secret:migrator }\n");
    EXPECT_EQ(s.database.password.secret, "db_password");
    EXPECT_EQ(s.migrations.database_url.secret, "migrator");
    EXPECT_NE(error_of(kBase + "environment: production\ndatabase:\n  url: postgresql://app:pw@h/chat\n"
                               "  password: secret:p\nsecrets:\n  p: { env: P }\n")
                  .find("already carries a password"),
              std::string::npos);
    EXPECT_NE(error_of(kBase + "environment: production\n" + kDb + "  password: hunter2hunter2\n")
                  .find("secret:NAME"),
              std::string::npos);
    EXPECT_NE(error_of(kBase + "environment: production\n" + kDb + "  password: secret:nope\n")
                  .find("refers to an undefined secret"),
              std::string::npos);
}

TEST(DatabaseUrl, PasswordsAreAddedAsLibpqReadsThemBack) {
    for (const std::string& pw : {std::string("plain"), std::string("p@ss/w?o#r%d&x=y 'q' \\z")}) {
        for (const std::string& url : {std::string("postgresql://app@db.internal:5432/chat"),
                                       std::string("postgresql://app@db.internal/chat?sslmode=verify-full"),
                                       std::string("host=db.internal user=app dbname=chat")}) {
            std::string with = with_password(url, pw);
            auto info = pg::parse_conninfo(with);
            EXPECT_EQ(info.get("password"), pw) << with;
            EXPECT_EQ(info.get("user"), "app");
            EXPECT_EQ(info.dbname(), "chat");
        }
    }
}

TEST(Interpolate, TraceSaysWhatWasDefaultedAndWhatIsUnknown) {
    InterpolationTrace t;
    auto lookup = [](const std::string& n) -> std::optional<std::string> {
        if (n == "SET") return "x";
        return std::nullopt;
    };
    EXPECT_EQ(interpolate("${SET}-${UNSET:-d}-${GONE}", lookup, t, true), "x-d-");
    EXPECT_EQ(t.variables, (std::vector<std::string>{"SET", "UNSET", "GONE"}));
    EXPECT_EQ(t.defaulted, std::vector<std::string>{"UNSET"});
    EXPECT_EQ(t.unset, std::vector<std::string>{"GONE"});
    InterpolationTrace strict;
    EXPECT_THROW(interpolate("${GONE}", lookup, strict, false), InterpolationError);
}

TEST(SpecDatabase, TheUrlsVariableIsKeptWhenTheUrlIsThatVariableWhole) {
    auto url_variable = [](const std::string& url) {
        return parse(kBase + "environment: development\ndatabase:\n  url: \"" + url + "\"\n").database.url_variable;
    };
    EXPECT_EQ(url_variable("${APP_ENV}"), "APP_ENV");
    EXPECT_EQ(url_variable("${NOPE:-postgresql://app@127.0.0.1/chat}"), "");  // a default: not the whole
    EXPECT_EQ(url_variable("postgresql://app@127.0.0.1/${APP_ENV}"), "");  // a part of the URL only
    EXPECT_EQ(url_variable("${APP_ENV}${APP_ENV}"), "");
    EXPECT_EQ(url_variable("${APP_ENV}/x"), "");
    EXPECT_EQ(url_variable("postgresql://app@127.0.0.1/chat"), "");
}
