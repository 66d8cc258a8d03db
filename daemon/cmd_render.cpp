// steward render: the deployment files (systemd, nginx, compose, k8s, Prometheus rules, env example) from the
// spec.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <set>
#include <sstream>

#include "backup/schedule.hpp"
#include "daemon/cli.hpp"
#include "templates/render.hpp"

namespace steward::cli {
namespace {

namespace fs = std::filesystem;

struct RenderFlags {
    std::string out;
    std::string only;
    std::string templates;
    std::string binary = "/usr/bin/steward";
};

// The installed templates: <prefix>/share/steward/templates beside <prefix>/bin/steward; a build
// tree uses the source folder's.
fs::path installed_templates() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path installed = exe.parent_path().parent_path() / "share" / "steward" / "templates";
        if (fs::is_directory(installed, ec)) return installed;
    }
    return STEWARD_SOURCE_TEMPLATES;
}

template <std::size_t N>
std::vector<int> values(const std::bitset<N>& bits) {
    std::vector<int> out;
    for (std::size_t i = 0; i < N; ++i)
        if (bits[i]) out.push_back(static_cast<int>(i));
    return out;
}

templates::CronFields cron_fields(const backup::CronSchedule& cron) {
    auto f = cron.fields();
    templates::CronFields c;
    c.seconds = values(f.seconds);
    c.minutes = values(f.minutes);
    c.hours = values(f.hours);
    c.days_of_month = values(f.days_of_month);
    c.days_of_month.erase(std::remove(c.days_of_month.begin(), c.days_of_month.end(), 0),
                          c.days_of_month.end());
    c.months = values(f.months);
    c.months.erase(std::remove(c.months.begin(), c.months.end(), 0), c.months.end());
    c.days_of_week = values(f.days_of_week);
    c.dom_restricted = f.dom_restricted;
    c.dow_restricted = f.dow_restricted;
    return c;
}

// The spec as a build machine sees it: no variable is read, so the files depend on the spec alone and
// no value from the environment (a secret, a password in DATABASE_URL) can reach them.
Spec load_for_render(const Context& ctx) {
    fs::path path = ctx.global.spec_path;
    if (path.empty()) {
        auto found = default_spec_path();
        if (!found)
            throw SpecError(
                "no spec found: pass --spec FILE, or create ./steward.yaml or /etc/steward/steward.yaml");
        path = *found;
    }
    LoadOptions options;
    options.lint = true;
    return load_spec(
        path, [](const std::string&) -> std::optional<std::string> { return std::nullopt; }, options);
}

backup::CronSchedule parse_schedule(const Spec& spec, const std::string& path, const std::string& text) {
    try {
        return backup::CronSchedule::parse(text);
    } catch (const std::exception& e) {
        throw SpecError(path + ": " + e.what(), spec.file.string(), spec.mark_of(path));
    }
}

int render_files(Context& ctx, const RenderFlags& flags) {
    Spec spec = load_for_render(ctx);
    const date::time_zone* tz = nullptr;
    try {
        tz = backup::find_time_zone(spec.timezone);
    } catch (const std::exception& e) {
        throw SpecError(std::string("timezone: ") + e.what(), spec.file.string(), spec.mark_of("timezone"));
    }
    templates::RenderInputs in;
    in.templates = installed_templates();
    if (!flags.templates.empty()) {
        if (!fs::is_directory(flags.templates))
            throw std::invalid_argument("--templates " + flags.templates + ": not a folder");
        in.overrides = fs::absolute(flags.templates);
    }
    std::stringstream only(flags.only);
    for (std::string t; std::getline(only, t, ',');)
        if (!t.empty()) in.only.insert(t);
    in.binary = flags.binary;
    auto now = std::chrono::system_clock::now();
    if (spec.backups && spec.backups->schedule && !spec.is_unknown("backups.schedule"))
        in.backup_on_calendar = templates::on_calendar_lines(
            cron_fields(parse_schedule(spec, "backups.schedule", *spec.backups->schedule)), spec.timezone);
    if (spec.backups && spec.backups->drill_schedule && !spec.is_unknown("backups.drill.schedule")) {
        auto drill = parse_schedule(spec, "backups.drill.schedule", *spec.backups->drill_schedule);
        in.drill_stale_seconds = static_cast<long>(drill.max_gap(now, tz).count()) + 3600;
    }
    std::set<std::string> vars;
    for (const auto& [path, names] : spec.unknown) vars.insert(names.begin(), names.end());
    in.variables.assign(vars.begin(), vars.end());

    std::vector<templates::RenderedFile> files;
    try {
        files = templates::render(spec, in);
    } catch (const templates::RenderError& e) {
        throw std::invalid_argument(e.what());  // a template or flag problem: exit 2
    }
    auto written = templates::write_rendered(flags.out, files);
    if (ctx.global.json) {
        boost::json::array list;
        for (const auto& w : written) list.push_back({{"path", w.path}, {"changed", w.changed}});
        ctx.print_json(boost::json::object{{"ok", true}, {"out", flags.out}, {"files", std::move(list)}});
    } else {
        for (const auto& w : written)
            std::cout << (w.changed ? "wrote     " : "unchanged ") << (fs::path(flags.out) / w.path).string()
                      << "\n";
    }
    return kOk;
}

}  // namespace

void add_render_command(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<RenderFlags>();
    auto* cmd = app.add_subcommand("render",
                                   "write the deployment files (systemd, nginx, compose, k8s, "
                                   "Prometheus rules, env example) from the spec");
    cmd->add_option("--out", flags->out, "folder to write into (files are replaced only when they change)")
        ->required();
    cmd->add_option("--only", flags->only, "comma-separated: systemd,nginx,compose,k8s,prometheus,env");
    cmd->add_option("--templates", flags->templates,
                    "folder of templates that replace the installed ones of the same path");
    cmd->add_option("--binary", flags->binary, "the steward path the files run (default /usr/bin/steward)");
    cmd->callback([&ctx, flags] { ctx.action = [&ctx, flags] { return render_files(ctx, *flags); }; });
}

}  // namespace steward::cli
