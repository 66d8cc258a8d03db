// steward render: the deployment files written from a spec by Mustache templates, and how they reach disk.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace steward::templates {

// The file groups a user can pick with --only; each is a folder of templates and of output.
inline constexpr const char* kTargets[] = {"systemd", "nginx", "compose", "k8s", "prometheus", "env"};

// A template that cannot be read, parsed or filled (exit 2), or a value that cannot go into a file safely.
class RenderError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A cron schedule's fields as sets of values (what backup::CronSchedule parsed).
struct CronFields {
    std::vector<int> seconds;        // {0} for a 5-field expression
    std::vector<int> minutes;        // 0..59
    std::vector<int> hours;          // 0..23
    std::vector<int> days_of_month;  // 1..31
    std::vector<int> months;         // 1..12
    std::vector<int> days_of_week;   // 0 = Sunday
    bool dom_restricted = false;     // cron's rule: both restricted means day-of-month OR day-of-week
    bool dow_restricted = false;
};

// systemd OnCalendar= lines for a cron schedule in a time zone: one line, or two when cron's
// day-of-month OR day-of-week rule applies (systemd ANDs the two within one line).
std::vector<std::string> on_calendar_lines(const CronFields& cron, const std::string& timezone);

// What the renderer needs beyond the spec.
struct RenderInputs {
    std::filesystem::path templates;                 // the installed templates (a folder per target)
    std::optional<std::filesystem::path> overrides;  // --templates: a file here replaces the installed one
    std::set<std::string> only;                      // empty: every target
    std::string binary = "/usr/bin/steward";         // ExecStart= and the image's entrypoint
    std::string spec_path = "/etc/steward/steward.yaml";  // where the spec sits on the deployed host
    std::vector<std::string> backup_on_calendar;          // from backups.schedule; empty: no timer
    long drill_stale_seconds = 0;  // backups.drill.schedule's longest gap plus a margin (the drill alert)
    std::string textfile = "/var/lib/prometheus/node-exporter/steward_backup.prom";
    // Spec paths -> ${VAR}s the spec names without a default (the variables production must set).
    std::vector<std::string> variables;
};

struct RenderedFile {
    std::string path;  // relative to --out: "systemd/steward.service"
    std::string content;
};

// Renders every template of the chosen targets; a template that renders to blank text writes no file
// (a timer without a schedule). Throws RenderError.
std::vector<RenderedFile> render(const Spec& spec, const RenderInputs& inputs);

struct WriteOutcome {
    std::string path;
    bool changed = false;  // false: the file already had this content and was left alone
};

// Writes each file under `out` (atomically, mode 0644) only when its content differs.
std::vector<WriteOutcome> write_rendered(const std::filesystem::path& out,
                                         const std::vector<RenderedFile>& files);

}  // namespace steward::templates
