// The deployment spec: typed model of steward.yaml, filled by load_spec().
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace steward {

using Duration = std::chrono::milliseconds;

// Where a key sat in the spec file; line/column are 1-based, 0 when the key is absent.
struct Mark {
    int line = 0;
    int column = 0;
    bool present() const { return line > 0; }
};

// A spec error: exit 2. Carries file:line:col for the message and for --json.
class SpecError : public std::runtime_error {
  public:
    SpecError(std::string message, std::string file = {}, Mark mark = {})
        : std::runtime_error(format(message, file, mark)),
          message_(std::move(message)),
          file_(std::move(file)),
          mark_(mark) {}
    const std::string& message() const { return message_; }  // without the location prefix
    const std::string& file() const { return file_; }
    Mark mark() const { return mark_; }

  private:
    static std::string format(const std::string& m, const std::string& f, Mark k);
    std::string message_;
    std::string file_;
    Mark mark_;
};

enum class Environment { development, staging, production };
std::string to_string(Environment);

enum class SecretKind { token, password, key };
std::string to_string(SecretKind);

// secrets.<name>: exactly one of env/file/value/credential.
struct SecretSpec {
    enum class Source { env, file, value, credential };
    std::string name;
    Source source = Source::env;
    std::string env;             // Source::env
    std::filesystem::path file;  // Source::file, resolved against the spec folder
    std::string value;           // Source::value (inline; the gate refuses it in production)
    SecretKind kind = SecretKind::token;
    std::string
        credential{};       // Source::credential: a systemd credential, $CREDENTIALS_DIRECTORY/<credential>
    bool optional = false;  // unset is no finding, and service env entries that use it are left out
    std::optional<std::size_t> min_length{};  // raises (never lowers) the kind's minimum length
    bool operator==(const SecretSpec&) const = default;
};

// A string that is either a literal or "secret:NAME".
struct SecretOrValue {
    std::string secret;   // name in secrets.*, empty for a literal
    std::string literal;  // the literal text, empty for a reference
    bool is_secret() const { return !secret.empty(); }
    bool empty() const { return secret.empty() && literal.empty(); }
    bool operator==(const SecretOrValue&) const = default;
};

struct EmbeddedDatabaseSpec {
    std::filesystem::path dir;
    int port = 55432;
    bool operator==(const EmbeddedDatabaseSpec&) const = default;
};

struct DatabaseSpec {
    std::optional<std::string> url;  // after interpolation; may carry a password
    // The variable database.url is read from as a whole ("${VAR}", no default); "" otherwise.
    std::string url_variable;
    std::optional<EmbeddedDatabaseSpec> embedded;
    SecretOrValue password{};  // database.password: "secret:NAME" for a url without a password
    bool operator==(const DatabaseSpec&) const = default;
};

struct SecuritySpec {
    bool require_auth = true;
    std::vector<std::string> cors_origins;
    bool cookie_secure = true;
    std::optional<std::string> base_url;
    bool hsts = true;
    bool debug = false;
    std::optional<int> rate_limit_per_minute;  // absent or 0: no rate limit
    bool operator==(const SecuritySpec&) const = default;
};

struct MigrationsSpec {
    std::filesystem::path dir;  // default <spec folder>/migrations
    std::string table = "steward_migrations";
    enum class OnStart { apply, validate, skip } on_start = OnStart::apply;
    Duration lock_wait = std::chrono::seconds(60);
    Duration lock_timeout = std::chrono::seconds(10);
    std::optional<Duration> statement_timeout;
    SecretOrValue database_url{};  // a privileged URL for migrations only; empty: database.url
    bool operator==(const MigrationsSpec&) const = default;
};

struct Compression {
    enum class Algorithm { zstd, gzip, none } algorithm = Algorithm::zstd;
    int level = 3;
    bool operator==(const Compression&) const = default;
};
std::string to_string(const Compression&);

struct SftpSpec {
    std::string host;
    int port = 22;
    std::string user;
    SecretOrValue key;  // private key text, usually "secret:NAME"
    std::filesystem::path known_hosts;
    std::string path;
    bool verify_remote = false;
    bool operator==(const SftpSpec&) const = default;
};

struct RetentionSpec {
    int keep_last = 3;
    int daily = 7;
    int weekly = 4;
    int monthly = 6;
    int keep_failed = 3;  // newest <id>.failed folders kept for diagnosis; older ones deleted after each backup
    bool operator==(const RetentionSpec&) const = default;
};

struct BackupsSpec {
    std::filesystem::path dir;
    std::optional<std::string> schedule;  // cron text; parsed by backup/
    enum class Format { custom, directory } format = Format::custom;
    Compression compression;
    int jobs = 2;
    enum class Verify { full, restore, none } verify = Verify::full;
    bool catch_up = true;
    Duration lock_wait_timeout = std::chrono::seconds(30);
    SecretOrValue encryption_key;  // backups.encryption.key
    RetentionSpec retention;
    std::optional<SftpSpec> sftp;               // backups.offsite.sftp
    std::optional<std::string> drill_schedule;  // backups.drill.schedule: restore drills of the newest backup
    bool operator==(const BackupsSpec&) const = default;
};

// services.<name>.env values: literal, "secret:NAME", "database:url", or a setting of the spec
// ("security:cors_origins", "spec:environment", ...: see kEnvSettings).
struct EnvValue {
    enum class Kind { literal, secret, database_url, setting } kind = Kind::literal;
    std::string text;  // literal text, secret name, or the setting reference ("security:debug")
    bool operator==(const EnvValue&) const = default;
};

// The settings a service env value may reference, so the value the gate judged is the value the app gets.
inline constexpr const char* kEnvSettings[] = {
    "security:cors_origins", "security:require_auth",  "security:debug",
    "security:base_url",     "security:cookie_secure", "security:rate_limit_per_minute",
    "security:hsts",         "spec:environment",       "spec:name"};

struct HttpCheck {
    std::string url;
    std::string method = "GET";
    std::vector<int> expect_status;  // empty: any 200-399
    std::optional<std::string> body_contains;
    std::map<std::string, std::string> headers;
    bool operator==(const HttpCheck&) const = default;
};
struct TcpCheck {
    std::string address;  // host:port
    bool operator==(const TcpCheck&) const = default;
};
struct PostgresCheck {
    std::string query = "SELECT 1";
    bool operator==(const PostgresCheck&) const = default;
};
struct ExecCheck {
    std::vector<std::string> command;
    bool operator==(const ExecCheck&) const = default;
};

// A readiness check or a probe target: exactly one of the four.
struct CheckTarget {
    std::optional<HttpCheck> http;
    std::optional<TcpCheck> tcp;
    std::optional<PostgresCheck> postgres;
    std::optional<ExecCheck> exec;
    bool operator==(const CheckTarget&) const = default;
};

struct RestartSpec {
    enum class Policy { always, on_failure, never } policy = Policy::on_failure;
    Duration backoff_initial = std::chrono::seconds(1);
    Duration backoff_max = std::chrono::seconds(60);
    int max_restarts = 10;
    Duration window = std::chrono::minutes(10);
    bool operator==(const RestartSpec&) const = default;
};

struct StopSpec {
    int signal = 15;  // SIGTERM
    Duration timeout = std::chrono::seconds(20);
    bool operator==(const StopSpec&) const = default;
};

struct ServiceSpec {
    std::string name;
    std::vector<std::string> command;
    std::optional<std::filesystem::path> workdir;
    std::optional<std::string> user;  // run as this OS user (steward must be root or hold CAP_SETUID)
    std::map<std::string, EnvValue> env;
    std::vector<std::string> depends_on;
    std::optional<CheckTarget> readiness;
    Duration readiness_timeout = std::chrono::seconds(60);
    RestartSpec restart;
    StopSpec stop;
    std::optional<std::filesystem::path> env_file{};  // KEY=VALUE lines loaded before `env` (which wins)
    bool operator==(const ServiceSpec&) const = default;
};

struct ProbeSpec {
    std::string name;
    CheckTarget target;
    Duration interval = std::chrono::seconds(10);
    Duration timeout = std::chrono::seconds(2);
    int failure_threshold = 3;
    int success_threshold = 1;
    bool operator==(const ProbeSpec&) const = default;
};

struct AdminSpec {
    std::string listen = "127.0.0.1:9180";
    SecretOrValue token;
    bool metrics_auth = false;
    bool operator==(const AdminSpec&) const = default;
};

// checks.waive: a finding the operator accepted, with the reason; shown as waived, never hidden.
struct Waiver {
    std::string rule;    // a rule id
    std::string path;    // the finding's path; empty: every finding of the rule
    std::string reason;  // required
    Mark mark;           // where it sits in the spec
    // Same waiver: where it sits does not matter.
    bool operator==(const Waiver& o) const { return rule == o.rule && path == o.path && reason == o.reason; }
};

struct ChecksSpec {
    std::vector<Waiver> waive;
    std::optional<std::size_t> min_secret_length;  // raises the built-in minimums, never lowers them
    bool operator==(const ChecksSpec&) const = default;
};

struct LoggingSpec {
    std::string level = "info";
    std::string format = "text";  // text | json
    bool operator==(const LoggingSpec&) const = default;
};

struct Spec {
    std::filesystem::path file;    // the spec file, absolute
    std::filesystem::path folder;  // its folder: relative paths resolve here
    int version = 1;
    std::string name;
    Environment environment = Environment::development;
    std::string timezone = "UTC";
    DatabaseSpec database;
    std::vector<SecretSpec> secrets;  // in file order
    SecuritySpec security;
    MigrationsSpec migrations;
    std::optional<BackupsSpec> backups;
    std::vector<ServiceSpec> services;  // in file order
    std::vector<ProbeSpec> probes;
    AdminSpec admin;
    LoggingSpec logging;
    ChecksSpec checks;

    // steward check --lint: spec paths whose value uses a ${VAR} unset on this machine, with the
    // variables. Their value is unknown ("" or the type's neutral value); rules that need it skip it.
    std::map<std::string, std::vector<std::string>> unknown;
    bool is_unknown(const std::string& path) const;

    // Dotted spec path ("secrets.jwt_secret", "security.cors_origins", "probes[0].http.url")
    // to where it sat in the file. Every key that was present has an entry.
    std::map<std::string, Mark> marks;
    Mark mark_of(const std::string& path) const;

    const SecretSpec* find_secret(const std::string& name) const;
};

// Reads, interpolates and validates a spec; throws SpecError (exit 2).
// `env` looks up ${VAR}; default is the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
Spec load_spec(const std::filesystem::path& file, EnvLookup env = {});
Spec parse_spec(const std::string& yaml_text, const std::filesystem::path& file, EnvLookup env = {});

struct LoadOptions {
    // An unset ${VAR} without default is unknown (recorded in Spec::unknown), not an error.
    bool lint = false;
    // The environment when the spec takes it from a variable (`check --lint --environment`).
    std::optional<Environment> environment;
};
Spec load_spec(const std::filesystem::path& file, EnvLookup env, const LoadOptions& options);
Spec parse_spec(const std::string& yaml_text, const std::filesystem::path& file, EnvLookup env,
                const LoadOptions& options);

// "development", "staging", "production"; nullopt otherwise.
std::optional<Environment> parse_environment(const std::string& text);

// Default spec location: ./steward.yaml, then /etc/steward/steward.yaml; nullopt when neither exists.
std::optional<std::filesystem::path> default_spec_path();

// The longest duration a spec or flag may give: PostgreSQL's timeouts (lock_timeout, statement_timeout)
// take at most 2^31-1 milliseconds, and every duration is bounded alike (no overflow downstream).
inline constexpr Duration kMaxDuration{2147483647};
// "500ms", "10s", "5m", "1h", "7d"; throws std::invalid_argument (with the limit) beyond kMaxDuration.
Duration parse_duration(const std::string& text);
std::string format_duration(Duration d);

// Signal name ("TERM", "SIGTERM") to number; nullopt for an unknown name.
std::optional<int> parse_signal(const std::string& name);

// "zstd:3", "gzip:6", "none"; throws std::invalid_argument.
Compression parse_compression(const std::string& text);

}  // namespace steward
