// One case per way each rule fires: it fires with the table's severity in every environment, and not on a
// clean spec.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "checks/gate.hpp"
#include "checks/rule.hpp"
#include "tests/checks/fixtures.hpp"

namespace steward::checks::test {
namespace {

struct Case {
    std::string rule;
    std::string name;  // test name suffix
    std::function<void(World&)> breaks;
};

void set_jwt(World& w, const std::string& value) { w.secrets["jwt_secret"] = ok_secret("jwt_secret", value); }
void set_url(World& w, const std::string& url) { w.spec.database.url = url; }
void connect(World& w, const std::function<void(ConnectFacts&)>& change = {}) {
    w.facts.connect = good_connect();
    if (change) change(*w.facts.connect);
}

const std::vector<Case>& cases() {
    static const std::vector<Case> all = {
        {"secret.missing", "env_unset",
         [](World& w) {
             ResolvedSecret r;
             r.name = "jwt_secret";
             r.status = ResolvedSecret::Status::env_unset;
             r.problem = "environment variable STEWARD_TEST_jwt_secret is not set";
             w.secrets["jwt_secret"] = r;
         }},
        {"secret.missing", "file_missing",
         [](World& w) {
             ResolvedSecret r;
             r.name = "admin_token";
             r.status = ResolvedSecret::Status::file_missing;
             w.secrets["admin_token"] = r;
         }},
        {"secret.missing", "file_empty",
         [](World& w) {
             ResolvedSecret r;
             r.name = "admin_token";
             r.status = ResolvedSecret::Status::empty;
             r.file_mode = 0100600;
             r.file_owner = ::geteuid();
             w.secrets["admin_token"] = r;
         }},
        {"secret.too_short", "token_31", [](World& w) { set_jwt(w, std::string(kJwt).substr(0, 31)); }},
        {"secret.too_short", "password_15",
         [](World& w) {
             w.spec.secrets.push_back(
                 secret_spec("db_password", SecretSpec::Source::env, SecretKind::password));
             w.secrets["db_password"] = ok_secret("db_password", std::string(kDbPassword).substr(0, 15));
         }},
        {"secret.placeholder", "whole_word", [](World& w) { set_jwt(w, "admin"); }},
        {"secret.placeholder", "whole_word_case", [](World& w) { set_jwt(w, "PassWord"); }},
        {"secret.placeholder", "xxx", [](World& w) { set_jwt(w, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"); }},
        {"secret.placeholder", "marker_inside",
         [](World& w) { set_jwt(w, "prod-ChangeMe-9f8e7d6c5b4a39281706f5e4d3c2b1a0"); }},
        {"secret.placeholder", "your_prefix",
         [](World& w) { set_jwt(w, "your-secret-key-here-0123456789abcdef"); }},
        {"secret.published_default", "django_insecure",
         [](World& w) { set_jwt(w, "django-insecure-k3#9x!m2p@q7w8e1r4t5y6u0i^o&p(a)s=d"); }},
        {"secret.placeholder", "template",
         [](World& w) { set_jwt(w, "<your-strong-random-secret-from-above>"); }},
        {"secret.low_entropy", "same_char", [](World& w) { set_jwt(w, std::string(40, 'a')); }},
        {"secret.low_entropy", "repeated",
         [](World& w) { set_jwt(w, "abcabcabcabcabcabcabcabcabcabcabcabc"); }},
        {"secret.low_entropy", "sequence",
         [](World& w) { set_jwt(w, "1234567890123456789012345678901234567890"); }},
        {"secret.low_entropy", "repeated_word",
         [](World& w) { set_jwt(w, "Tr0ub4dor&Tr0ub4dor&Tr0ub4dor&Tr0ub4dor&"); }},
        {"secret.inline_value", "value",
         [](World& w) {
             w.spec.secrets[0].source = SecretSpec::Source::value;
             w.spec.secrets[0].value = kJwt;
         }},
        {"secret.inline_value", "backup_encryption_key",
         [](World& w) {
             w.spec.backups->encryption_key = {"", "k3Y7mPq9vX2rT5wZ8bN4cL6hJ1sD0fG3"};
         }},
        {"secret.inline_value", "sftp_private_key",
         [](World& w) {
             SftpSpec sftp;
             sftp.host = "backup.example.com";
             sftp.user = "chat";
             sftp.key = {"", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"};
             w.spec.backups->sftp = sftp;
         }},
        {"secret.file_mode", "group_readable",
         [](World& w) { w.secrets["admin_token"].file_mode = 0100640; }},
        {"secret.file_mode", "world_readable",
         [](World& w) { w.secrets["admin_token"].file_mode = 0100604; }},
        {"secret.file_owner", "other_user",
         [](World& w) { w.secrets["admin_token"].file_owner = ::geteuid() + 1; }},
        {"secret.reused", "same_value", [](World& w) { set_jwt(w, kAdminToken); }},
        {"secret.service_env_literal", "jwt_literal",
         [](World& w) {
             w.spec.services[0].env["JWT_SECRET_KEY"] = {EnvValue::Kind::literal, kJwt};
         }},
        {"secret.service_env_literal", "api_key_literal",
         [](World& w) {
             w.spec.services[0].env["OPENAI_API_KEY"] = {EnvValue::Kind::literal, "sk-abc"};
         }},
        {"secret.service_env_literal", "database_url_with_password",
         [](World& w) {
             w.spec.services[0].env["DATABASE_URL"] = {
                 EnvValue::Kind::literal,
                 std::string("postgresql://app:") + kDbPassword + "@db.internal/chat"};
         }},
        {"secret.published_default", "supabase_jwt",
         [](World& w) { set_jwt(w, "super-secret-jwt-token-with-at-least-32-characters-long"); }},
        {"security.auth_disabled", "false", [](World& w) { w.spec.security.require_auth = false; }},
        {"security.auth_disabled", "service_env",
         [](World& w) {
             w.spec.services[0].env["REQUIRE_AUTHENTICATION"] = {EnvValue::Kind::literal, "false"};
         }},
        {"security.app_environment", "service_env",
         [](World& w) {
             w.spec.services[0].env["ENVIRONMENT"] = {EnvValue::Kind::literal, "development"};
         }},
        {"security.cors_wildcard", "star", [](World& w) { w.spec.security.cors_origins.push_back("*"); }},
        {"security.cors_wildcard", "subdomain_star",
         [](World& w) { w.spec.security.cors_origins = {"https://*.example.com"}; }},
        {"security.cors_http_origin", "http",
         [](World& w) { w.spec.security.cors_origins.push_back("http://app.example.com"); }},
        {"security.cookie_insecure", "false", [](World& w) { w.spec.security.cookie_secure = false; }},
        {"security.base_url_not_https", "http",
         [](World& w) { w.spec.security.base_url = "http://chat.example.com"; }},
        {"security.base_url_not_https", "absent", [](World& w) { w.spec.security.base_url.reset(); }},
        {"security.hsts_disabled", "false", [](World& w) { w.spec.security.hsts = false; }},
        {"security.debug_enabled", "true", [](World& w) { w.spec.security.debug = true; }},
        {"security.no_rate_limit", "absent", [](World& w) { w.spec.security.rate_limit_per_minute.reset(); }},
        {"security.no_rate_limit", "zero", [](World& w) { w.spec.security.rate_limit_per_minute = 0; }},
        {"database.url_invalid", "keyword_without_value",
         [](World& w) { set_url(w, "host=db.internal dbname"); }},
        {"database.url_invalid", "bad_uri_parameter",
         [](World& w) { set_url(w, "postgresql://db.internal/chat?nosuchparameter=1"); }},
        {"database.url_invalid", "sqlite_file_path",
         [](World& w) { set_url(w, "sqlite:///data/memoai.db"); }},
        {"database.url_invalid", "bad_percent_encoding",
         [](World& w) {
             set_url(w, "postgresql://app:S3cr%ZZetPassw0rdXYZ@db.internal/chat?sslmode=require");
         }},
        {"database.url_invalid", "unencoded_slash_in_password",
         [](World& w) {
             set_url(w, "postgresql://app:Ab3/dEfGhIjKlMnOpQr@db.internal/chat?sslmode=require");
         }},
        {"database.url_invalid", "unencoded_at_in_password",
         [](World& w) { set_url(w, "postgresql://app:abcdEFGH@ijklMNOP@db.internal/chat?sslmode=disable"); }},
        {"database.sslmode", "absent",
         [](World& w) {
             set_url(w, std::string("postgresql://app:") + kDbPassword + "@db.internal:5432/chat");
         }},
        {"database.sslmode", "prefer",
         [](World& w) {
             set_url(w, std::string("postgresql://app:") + kDbPassword + "@db.internal/chat?sslmode=prefer");
         }},
        {"database.sslmode", "disable_keyvalue",
         [](World& w) {
             set_url(w, std::string("host=10.0.0.5 user=app password=") + kDbPassword + " sslmode=disable");
         }},
        {"database.sslmode", "absent_pgsslmode_prefer",
         [](World& w) {
             set_url(w, std::string("postgresql://app:") + kDbPassword + "@db.internal:5432/chat");
             w.facts.pgsslmode = "prefer";
         }},
        {"database.sslmode", "name_starting_with_127",
         [](World& w) {
             set_url(w, std::string("postgresql://app:") + kDbPassword +
                            "@127.db.example.com/chat?sslmode=disable");
         }},
        {"database.sslmode", "no_host_but_pghost",
         [](World& w) {
             set_url(w, std::string("postgresql:///chat?user=app&password=") + kDbPassword);
             w.facts.pghost = "db.internal";
         }},
        {"database.sslmode", "one_of_several_hosts_remote",
         [](World& w) {
             set_url(w, std::string("postgresql://app:") + kDbPassword + "@127.0.0.1,db.internal/chat");
         }},
        {"database.weak_password", "placeholder",
         [](World& w) { set_url(w, "postgresql://app:password@db.internal/chat?sslmode=require"); }},
        {"database.weak_password", "short",
         [](World& w) { set_url(w, "postgresql://app:Xi7dzsza@db.internal/chat?sslmode=require"); }},
        {"database.weak_password", "marker",
         [](World& w) { set_url(w, "postgresql://memory_user:your-own-db-password@localhost/chat"); }},
        {"database.inline_password", "in_spec_file",
         [](World& w) { w.facts.database_password_in_spec = true; }},
        {"database.embedded_in_production", "embedded",
         [](World& w) {
             w.spec.database.url.reset();
             w.spec.database.embedded = EmbeddedDatabaseSpec{"/srv/chat/pg", 55432};
         }},
        {"admin.exposed_without_token", "all_interfaces",
         [](World& w) {
             w.spec.admin.listen = "0.0.0.0:9180";
             w.spec.admin.token = {};
         }},
        {"admin.exposed_without_token", "port_only",
         [](World& w) {
             w.spec.admin.listen = ":9180";
             w.spec.admin.token = {};
         }},
        {"admin.exposed_without_token", "name_starting_with_127",
         [](World& w) {
             w.spec.admin.listen = "127.admin.example.com:9180";
             w.spec.admin.token = {};
         }},
        {"admin.weak_token", "literal_word",
         [](World& w) {
             w.spec.admin.token = {"", "admin"};
         }},
        {"admin.weak_token", "password_kind_secret",
         [](World& w) {
             w.spec.secrets.push_back(secret_spec("admin_pw", SecretSpec::Source::env, SecretKind::password));
             w.secrets["admin_pw"] = ok_secret("admin_pw", "mGbT8ranr5yUcMjD");
             w.spec.admin.token = {"admin_pw", ""};
         }},
        {"admin.inline_token", "literal",
         [](World& w) {
             w.spec.admin.token = {"", kAdminToken};
         }},
        {"operations.no_backups", "none",
         [](World& w) {
             w.spec.backups.reset();
             w.facts.backup_dir.reset();
         }},
        {"operations.no_backups", "no_schedule", [](World& w) { w.spec.backups->schedule.reset(); }},
        {"operations.backup_dir", "missing",
         [](World& w) {
             w.facts.backup_dir = PathFacts{false, false, false, ""};
         }},
        {"operations.backup_dir", "not_a_folder",
         [](World& w) {
             w.facts.backup_dir = PathFacts{true, false, false, ""};
         }},
        {"operations.backup_dir", "read_only",
         [](World& w) {
             w.facts.backup_dir = PathFacts{true, true, false, "Read-only file system"};
         }},
        {"operations.retention_too_short", "one",
         [](World& w) {
             w.spec.backups->retention = RetentionSpec{1, 1, 0, 0};
         }},
        {"operations.migrations_dir", "missing", [](World& w) { w.facts.migrations_dir = PathFacts{}; }},
        {"operations.no_probes", "none", [](World& w) { w.spec.probes.clear(); }},
        {"operations.service_command", "missing",
         [](World& w) {
             w.facts.service_programs["chat-api"] = ProgramFacts{"/srv/chat/chat-api", false, false};
         }},
        {"operations.service_command", "not_executable",
         [](World& w) {
             w.facts.service_programs["chat-api"] = ProgramFacts{"/srv/chat/chat-api", true, false};
         }},
        {"operations.service_workdir", "missing",
         [](World& w) {
             w.spec.services[0].workdir = "/srv/chat/nope";
             w.facts.service_workdirs["chat-api"] = PathFacts{};
         }},
        {"operations.service_env_file", "bad_line",
         [](World& w) {
             w.spec.services[0].env_file = "/etc/chat/env";
             w.facts.service_envs["chat-api"].env_file_errors = {"/etc/chat/env:3: expected KEY=VALUE"};
         }},
        {"operations.debug_logging", "debug", [](World& w) { w.spec.logging.level = "debug"; }},
        {"connect.database_unreachable", "refused",
         [](World& w) {
             connect(w, [](ConnectFacts& c) {
                 c.answered = false;
                 c.error = "connection refused";
             });
         }},
        {"connect.server_version", "reported", [](World& w) { connect(w); }},
        {"connect.pg_dump_version", "older",
         [](World& w) {
             connect(w, [](ConnectFacts& c) {
                 c.server_major = 16;
                 c.server_version = "16.1";
             });
         }},
        {"connect.pg_dump_version", "missing",
         [](World& w) {
             connect(w, [](ConnectFacts& c) {
                 c.pg_dump_major.reset();
                 c.pg_dump_error = "pg_dump is not on PATH";
             });
         }},
        {"connect.database_superuser", "superuser",
         [](World& w) {
             connect(w, [](ConnectFacts& c) {
                 c.role = "postgres";
                 c.superuser = true;
             });
         }},
        {"connect.cannot_create_database", "verify_restore",
         [](World& w) {
             w.spec.backups->verify = BackupsSpec::Verify::restore;
             connect(w, [](ConnectFacts& c) {
                 c.role = "chat";
                 c.superuser = false;
                 c.createdb = false;
             });
         }},
        {"connect.migration_lock_held", "held",
         [](World& w) {
             connect(w,
                     [](ConnectFacts& c) { c.migration_lock_holder = "pid 42 postgres@127.0.0.1 steward"; });
         }},
    };
    return all;
}

const RuleInfo& info(const std::string& id) {
    for (const auto& r : rules())
        if (r.id == id) return r;
    throw std::runtime_error("no rule " + id);
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.rule << "/" << c.name; }

class RuleCase : public ::testing::TestWithParam<Case> {};

TEST_P(RuleCase, FiresWithTableSeverityAndNotOnCleanSpec) {
    const Case& c = GetParam();
    const RuleInfo& rule = info(c.rule);
    for (Environment env : environments()) {
        SCOPED_TRACE(to_string(env));
        World clean = good_world(env);
        EXPECT_TRUE(with_id(clean.run(), c.rule).empty()) << "fires on the clean spec";

        World broken = good_world(env);
        c.breaks(broken);
        auto found = with_id(broken.run(), c.rule);
        auto expected = rule.severity_in(env);
        if (!expected) {
            EXPECT_TRUE(found.empty()) << c.rule << " must not run in " << to_string(env);
            continue;
        }
        ASSERT_FALSE(found.empty()) << c.rule << " did not fire";
        for (const auto& f : found) {
            EXPECT_EQ(f.severity, *expected);
            EXPECT_FALSE(f.path.empty());
            EXPECT_FALSE(f.message.empty());
            if (f.severity != Severity::info) {
                EXPECT_FALSE(f.hint.empty());
            }
            // A finding never echoes a secret value.
            for (const auto& [name, r] : broken.secrets) {
                if (!r.value || r.value->size() < 4) continue;
                EXPECT_EQ(f.message.find(r.value->reveal()), std::string::npos) << name;
                EXPECT_EQ(f.hint.find(r.value->reveal()), std::string::npos) << name;
            }
            for (const char* v : {kJwt, kAdminToken, kDbPassword}) {
                EXPECT_EQ(f.message.find(v), std::string::npos);
                EXPECT_EQ(f.hint.find(v), std::string::npos);
            }
        }
        // Pass/fail follows the severity: only errors fail the gate.
        EXPECT_EQ(gate_passes(found), *expected != Severity::error);
    }
}

INSTANTIATE_TEST_SUITE_P(Rules, RuleCase, ::testing::ValuesIn(cases()), [](const auto& p) {
    std::string n = p.param.rule + "_" + p.param.name;
    for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return n;
});

// libpq quotes the piece of a URL it cannot parse, and an unencoded '/', '?', '#' or '@' in a password makes
// it parse into a host or port made of password pieces: no finding may show any of them.
TEST(DatabaseUrl, NoPieceOfThePasswordInAnyFinding) {
    struct Url {
        std::string url;
        std::vector<std::string> pieces;
    };
    const std::vector<Url> urls = {
        {"postgresql://app:S3cr%ZZetPassw0rdXYZ@db.internal/chat", {"S3cr", "Passw0rd", "ZZet"}},
        {"postgresql://app:pw@db.internal/chat?password=Se%cretVal42", {"cretVal42"}},
        {"host=db.internal user=app password=Hunter2Xy SecretTailQ sslmode=require",
         {"Hunter2Xy", "SecretTailQ"}},
        {"postgresql://app:Ab3x/dEfGhIjKlMnOpQr@db.internal/chat", {"Ab3x", "dEfGhIjKlMnOpQr"}},
        {"postgresql://app:abcdEFGH@ijklMNOP@db.internal/chat", {"abcdEFGH", "ijklMNOP"}},
        {"postgresql://app:abcdEFGH@ijklMNOP@db.internal:5x/chat", {"abcdEFGH", "ijklMNOP"}},
    };
    for (const auto& u : urls) {
        SCOPED_TRACE(u.url);
        World w = good_world(Environment::production);
        set_url(w, u.url);
        auto findings = w.run();
        EXPECT_FALSE(with_id(findings, "database.url_invalid").empty());
        for (const auto& f : findings)
            for (const auto& piece : u.pieces) {
                EXPECT_EQ(f.message.find(piece), std::string::npos) << f.id << ": " << f.message;
                EXPECT_EQ(f.hint.find(piece), std::string::npos) << f.id << ": " << f.hint;
            }
        // --connect does not hand such a URL to libpq, whose connection error would quote the pieces.
        GateOptions options;
        options.connect = true;
        GateFacts facts = gather_facts(w.spec, options);
        ASSERT_TRUE(facts.connect);
        EXPECT_FALSE(facts.connect->answered);
        for (const auto& piece : u.pieces) EXPECT_EQ(facts.connect->error.find(piece), std::string::npos);
    }
}

TEST(DatabaseUrl, ParseErrorsKeepWhatIsNotThePassword) {
    World w = good_world(Environment::production);
    set_url(w, "postgresql://db.internal/chat?nosuchparameter=1");
    auto found = with_id(w.run(), "database.url_invalid");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_NE(found[0].message.find("\"nosuchparameter\""), std::string::npos) << found[0].message;
    // Percent-encoded special characters are the right way, and parse into the intended parts.
    set_url(w, "postgresql://app:Ab3x%2FdEfG%40hIjKlMnOpQr@db.internal:5432/chat?sslmode=verify-full");
    EXPECT_TRUE(with_id(w.run(), "database.url_invalid").empty());
    EXPECT_TRUE(with_id(w.run(), "database.weak_password").empty());
}

TEST(ServiceEnv, OnlySecretLikeLiteralsFire) {
    World w = good_world(Environment::production);
    auto& env = w.spec.services[0].env;
    env["JWT_SECRET_KEY"] = {EnvValue::Kind::secret, "jwt_secret"};
    env["DATABASE_URL"] = {EnvValue::Kind::database_url, ""};
    env["REPLICA_URL"] = {EnvValue::Kind::literal, "postgresql://reader@db.internal/chat"};  // no password
    for (const char* name :
         {"PORT", "TOKEN_EXPIRY_HOURS", "JWT_EXPIRATION_HOURS", "PASSWORD_MIN_LENGTH", "JWT_SECRET_FILE",
          "AWS_ACCESS_KEY_ID", "SUPABASE_ANON_KEY", "JWT_PUBLIC_KEY", "BCRYPT_ROUNDS", "JWT_ALGORITHM"})
        env[name] = {EnvValue::Kind::literal, "something"};
    env["EMPTY_SECRET"] = {EnvValue::Kind::literal, ""};
    for (const auto& f : with_id(w.run(), "secret.service_env_literal"))
        ADD_FAILURE() << f.path << ": " << f.message;
    for (const char* name :
         {"JWT_SECRET_KEY", "SUPABASE_JWT_SECRET", "DB_PASSWORD", "CLAUDE_API_KEY", "SECRET_KEY",
          "GITHUB_TOKEN", "smtp_password", "STRIPE_APIKEY", "SECRET_KEY_BASE"})
        EXPECT_TRUE(secret_like_env_name(name)) << name;
}

TEST(InlineValue, BackupKeysFromSecretsAreFine) {
    World w = good_world(Environment::production);
    w.spec.backups->encryption_key = {"admin_token", ""};
    SftpSpec sftp;
    sftp.key = {"admin_token", ""};
    w.spec.backups->sftp = sftp;
    EXPECT_TRUE(with_id(w.run(), "secret.inline_value").empty());
}

TEST(RuleTable, EveryRuleHasAFiringCase) {
    std::set<std::string> covered;
    for (const auto& c : cases()) covered.insert(c.rule);
    for (const auto& r : rules()) EXPECT_TRUE(covered.count(r.id)) << r.id << " has no test case";
    for (const auto& id : covered) EXPECT_NO_THROW(info(id)) << id;
}

TEST(RuleTable, IdsAreUniqueAndWhyIsOneLine) {
    std::set<std::string> ids;
    for (const auto& r : rules()) {
        EXPECT_TRUE(ids.insert(r.id).second) << r.id;
        EXPECT_FALSE(r.why.empty());
        EXPECT_EQ(r.why.find('\n'), std::string::npos);
    }
    EXPECT_GE(rules().size(), 30u);
}

TEST(RuleTable, ErrorEverywhereRules) {
    for (const char* id : {"operations.backup_dir", "operations.migrations_dir", "operations.service_command",
                           "database.url_invalid", "connect.database_unreachable"}) {
        for (Environment env : environments()) EXPECT_EQ(info(id).severity_in(env), Severity::error) << id;
    }
}

TEST(RuleTable, DevelopmentIsNeverStricterThanProduction) {
    for (const auto& r : rules())
        if (r.development == Severity::error) {
            EXPECT_EQ(r.production, Severity::error) << r.id;
        }
}

TEST(Evaluate, CleanSpecHasNoFindingsInAnyEnvironment) {
    for (Environment env : environments()) {
        auto findings = good_world(env).run();
        for (const auto& f : findings) ADD_FAILURE() << to_string(env) << ": " << f.id << " " << f.message;
    }
}

}  // namespace
}  // namespace steward::checks::test
