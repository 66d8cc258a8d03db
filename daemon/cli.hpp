// The steward command line: global options, the shared command context, and command registration.
#pragma once

#include <boost/json/value.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/spec.hpp"

namespace CLI {
class App;
}

namespace steward {
class EmbeddedPostgres;
}

namespace steward::cli {

// Exit codes, everywhere.
inline constexpr int kOk = 0;
inline constexpr int kProblem = 1;  // the job found a problem
inline constexpr int kUsage = 2;    // usage or spec error

struct GlobalOptions {
    std::string spec_path;  // --spec; empty: ./steward.yaml then /etc/steward/steward.yaml
    bool json = false;
    std::string log_level = "info";
    std::string log_format = "text";
    bool log_level_given = false;  // the flags win over the spec's logging section
    bool log_format_given = false;
};

// What a database command works against.
struct DatabaseTarget {
    std::string url;             // may carry a password: print only through pg::redact_url
    const Spec* spec = nullptr;  // null in spec-less mode (--database-url/DATABASE_URL + --dir)
};

// State shared by one steward invocation.
class Context {
  public:
    Context();
    ~Context();
    GlobalOptions global;
    LoadOptions load;  // how spec() loads the spec (check --lint sets it before the first call)

    // The spec from --spec or the default locations. Throws SpecError (exit 2) when none
    // is found or it is invalid. Loaded once.
    const Spec& spec();
    bool spec_loaded() const { return spec_ != nullptr; }

    // For commands that need only a database (migrate, backup):
    //  --database-url flag, else the spec's database. Spec-less mode: a URL from the flag or
    // DATABASE_URL plus `dir_given`, and no --spec: then no spec is loaded at all.
    // Starts the embedded PostgreSQL when the spec asks for one (kept until exit).
    DatabaseTarget database(const std::string& url_flag, bool dir_given);

    // The spec's effective database URL, starting database.embedded if needed.
    std::string spec_database_url();

    // Writes one JSON document to stdout.
    void print_json(const boost::json::value& doc) const;

    // Set by the chosen subcommand's callback; run after parsing.
    std::function<int()> action;

  private:
    std::unique_ptr<Spec> spec_;
    std::unique_ptr<EmbeddedPostgres> embedded_;
};

// Loads a spec and checks the keys whose syntax lives in a subsystem (schedule, time zone): the one load
// path of every command and of a reload. Throws SpecError.
Spec load_checked_spec(const std::filesystem::path& path);

// Each command lives in its own file and registers itself here.
void add_check_command(CLI::App& app, Context& ctx);
void add_migrate_command(CLI::App& app, Context& ctx);
void add_backup_command(CLI::App& app, Context& ctx);
void add_render_command(CLI::App& app, Context& ctx);
void add_run_command(CLI::App& app, Context& ctx);
void add_status_command(CLI::App& app, Context& ctx);

// The command line names a command that does not exist, or stops where one is needed: the message
// naming the valid ones, else "" (cli_commands.cpp).
std::string command_problem(CLI::App& app, int argc, char** argv);
// Every subcommand's --help also lists the options of the commands above it that work there.
void add_inherited_options_help(CLI::App& app);

// Parses argv, runs the command, maps every failure to an exit code.
int run(int argc, char** argv);

// The JSON document for an exit-2 error: {"ok": false, "error": {...}}.
boost::json::value error_json(const std::string& message, const std::string& file = {}, Mark mark = {});

}  // namespace steward::cli
