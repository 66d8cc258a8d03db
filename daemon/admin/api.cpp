// The admin API's routes: health, readiness, metrics, status, services, probes, backups, migrations, reload.
#include "daemon/admin/api.hpp"

#include <boost/json.hpp>

#include "core/log.hpp"
#include "daemon/admin/console/console.hpp"
#include "daemon/run/daemon.hpp"

namespace steward::admin {
namespace json = boost::json;
namespace {

using run::TimePoint;

json::value when(const std::optional<TimePoint>& t) {
    if (!t) return nullptr;
    return json::value(std::chrono::duration<double>(t->time_since_epoch()).count());
}
json::value when(TimePoint t) { return when(std::optional<TimePoint>(t)); }

double seconds_since(TimePoint t) {
    return std::chrono::duration<double>(std::chrono::system_clock::now() - t).count();
}

Response ok_json(json::value body, int status = 200) {
    Response r;
    r.status = status;
    r.body = json_body(body);
    return r;
}

json::value record(const std::optional<run::BackupRecord>& r) {
    if (!r) return nullptr;
    json::object o{{"at", when(r->at)}, {"duration_seconds", r->duration_seconds}};
    if (!r->id.empty()) o["id"] = r->id;
    if (r->bytes) o["bytes"] = r->bytes;
    if (!r->error.empty()) o["error"] = r->error;
    return o;
}

Response command(const run::CommandResult& c) {
    using Code = run::CommandResult::Code;
    switch (c.code) {
        case Code::ok:
            return ok_json(json::object{{"ok", true}, {"message", c.message}});
        case Code::accepted: {
            json::object o{{"ok", true}, {"message", c.message}};
            if (!c.id.empty()) o["id"] = c.id;
            return ok_json(o, 202);
        }
        case Code::not_found:
            return error_response(404, "not_found", c.message);
        case Code::conflict:
            return error_response(409, "conflict", c.message);
        case Code::unavailable:
            return error_response(503, "unavailable", c.message);
    }
    return error_response(500, "internal", "unknown result");
}

}  // namespace

AdminApi::AdminApi(run::Daemon& daemon) : daemon_(daemon), metrics_(daemon), router_(routes()) {
    auto& events = daemon_.events();
    events.probe_result = [this](const std::string& probe, const probes::CheckResult& r) {
        metrics_.observe_probe(probe, r.duration_seconds);
        history_.probe_result(probe, r.ok, r.duration_seconds, std::chrono::system_clock::now());
    };
    events.event = [this](const std::string& kind, const std::string& text, bool ok) {
        history_.event(kind, text, ok, std::chrono::system_clock::now());
    };
}

AuthConfig AdminApi::auth() const {
    AuthConfig a;
    auto token = daemon_.admin_token();
    a.token_configured = token.has_value();
    a.metrics_auth = daemon_.spec().admin.metrics_auth;
    a.token_matches = [token](const std::string& presented) {
        return token && constant_time_equals(token->reveal(), presented);
    };
    return a;
}

Response AdminApi::handle(const Request& request) {
    Response r = router_.handle(request, auth());
    bool mutating = request.method == "POST";
    if (mutating) {
        std::string path = request.target.substr(0, request.target.find('?'));
        log::info("audit", "admin request",
                  {{"method", request.method}, {"path", path}, {"status", r.status}, {"peer", request.peer}});
    }
    return r;
}

std::vector<Route> AdminApi::routes() {
    auto& d = daemon_;
    std::vector<Route> rs;
    auto get = [&](std::string pattern, Access access, std::function<Response(const RouteCall&)> h,
                   std::string help) {
        rs.push_back({"GET", std::move(pattern), access, false, std::move(h), std::move(help)});
    };
    auto post = [&](std::string pattern, std::function<Response(const RouteCall&)> h, std::string help) {
        rs.push_back({"POST", std::move(pattern), Access::token, true, std::move(h), std::move(help)});
    };

    get(
        "/healthz", Access::open,
        [](const RouteCall&) {
            return ok_json(json::object{{"ok", true}});
        },
        "liveness: the loop answers");
    get(
        "/readyz", Access::open,
        [&d](const RouteCall&) {
            bool ready = d.state().phase == run::Phase::ready;
            return ok_json(json::object{{"ok", ready}, {"phase", run::to_string(d.state().phase)}},
                           ready ? 200 : 503);
        },
        "200 once the startup sequence finished; 503 before it and while stopping");
    get(
        "/metrics", Access::metrics,
        [this](const RouteCall&) {
            Response r;
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.body = metrics_.scrape();
            return r;
        },
        "Prometheus metrics (text format 0.0.4)");
    get(
        "/api/v1/help", Access::token,
        [this](const RouteCall&) {
            json::array list;
            for (const auto& route : router_.routes())
                list.push_back(json::object{{"method", route.method},
                                            {"path", route.pattern},
                                            {"token", route.access == Access::token},
                                            {"mutates", route.mutates},
                                            {"help", route.help}});
            return ok_json(json::object{{"ok", true}, {"routes", list}});
        },
        "this list");
    get(
        "/api/v1/status", Access::token,
        [&d](const RouteCall&) {
            const auto& st = d.state();
            json::array services;
            for (const auto& s : d.services()) {
                json::object o{
                    {"name", s.name},
                    {"state", run::to_string(s.state)},
                    {"pid", s.pid ? json::value(s.pid) : json::value(nullptr)},
                    {"restarts", s.restarts},
                    {"ready", s.ready},
                    {"crashloop", s.crashloop},
                    {"uptime_seconds", s.pid && s.started_at ? json::value(seconds_since(*s.started_at))
                                                             : json::value(nullptr)},
                    {"next_start", when(s.next_start)}};
                o["last_exit"] = s.last_exit
                                     ? json::value(json::object{{"status", s.last_exit->status},
                                                                {"description", s.last_exit->description},
                                                                {"at", when(s.last_exit->at)}})
                                     : json::value(nullptr);
                if (!s.last_error.empty()) o["last_error"] = s.last_error;
                services.push_back(std::move(o));
            }
            json::array probes;
            for (const auto& p : d.probes()) {
                const auto& ps = p->status();
                probes.push_back(
                    json::object{{"name", p->spec().name},
                                 {"up", ps.health == probes::Health::unknown
                                            ? json::value(nullptr)
                                            : json::value(ps.health == probes::Health::up)},
                                 {"health", probes::to_string(ps.health)},
                                 {"last_duration_seconds",
                                  ps.last ? json::value(ps.last->duration_seconds) : json::value(nullptr)},
                                 {"last_error", ps.last && !ps.last->ok ? json::value(ps.last->error)
                                                                        : json::value(nullptr)},
                                 {"last_run", when(ps.last_run)},
                                 {"since", when(ps.since)},
                                 {"failures_total", ps.failures_total}});
            }
            const auto& b = st.backups;
            json::object backups{
                {"configured", b.configured},
                {"running", b.running},
                {"running_kind", b.running ? json::value(b.running_kind) : json::value(nullptr)},
                {"last_success", record(b.last_success)},
                {"last_failure", record(b.last_failure)},
                {"next_run", when(b.next_run)},
                {"last_drill", json::object{{"at", when(b.last_drill)},
                                            {"success", record(b.last_drill_success)},
                                            {"failure", record(b.last_drill_failure)}}},
                {"next_drill", when(b.next_drill)},
                {"offsite_last_success", when(b.offsite_last_success)},
                {"failures_total", b.failures_total},
                {"drill_failures_total", b.drill_failures_total},
                {"count", b.published.size()}};
            // For the console: "not configured" reads differently from "never happened".
            backups["offsite_configured"] = d.spec().backups && d.spec().backups->sftp.has_value();
            backups["drill_configured"] = d.spec().backups && d.spec().backups->drill_schedule.has_value();
            const auto& m = st.migrations;
            json::object migrations{
                {"known", m.known},
                {"current_version",
                 m.current_version.empty() ? json::value(nullptr) : json::value(m.current_version)},
                {"applied", m.applied},
                {"pending", m.pending},
                {"failed", m.failed},
                {"running", m.running},
                {"checked_at", when(m.checked_at)},
                {"error", m.error.empty() ? json::value(nullptr) : json::value(m.error)}};
            return ok_json(json::object{
                {"ok", true},
                {"version", d.version()},
                {"name", d.spec().name},
                {"environment", to_string(d.spec().environment)},
                {"phase", run::to_string(st.phase)},
                {"status", st.status_line},
                {"uptime_seconds", seconds_since(st.started_at)},
                {"services", services},
                {"probes", probes},
                {"backups", backups},
                {"migrations", migrations},
                {"gate",
                 {{"errors", st.gate.errors}, {"warnings", st.gate.warnings}, {"info", st.gate.infos}}}});
        },
        "services, probes, backups, migrations and gate at a glance");
    get(
        "/api/v1/backups", Access::token,
        [&d](const RouteCall&) {
            json::array list;
            const auto& published = d.state().backups.published;
            for (auto it = published.rbegin(); it != published.rend(); ++it)
                list.push_back(json::object{{"id", it->id},
                                            {"finished", when(it->finished)},
                                            {"bytes", it->bytes},
                                            {"verified", it->verified},
                                            {"format", it->format},
                                            {"compression", it->compression},
                                            {"encrypted", it->encrypted}});
            return ok_json(json::object{
                {"ok", true}, {"backups", list}, {"listed_at", when(d.state().backups.listed_at)}});
        },
        "published backups in this host's folder, newest first");
    post(
        "/api/v1/backups", [&d](const RouteCall&) { return command(d.start_backup()); },
        "start a backup now: 202 with its id, 409 while one runs");
    get(
        "/api/v1/migrations", Access::token,
        [&d](const RouteCall&) {
            const auto& m = d.state().migrations;
            json::array entries;
            for (const auto& e : m.entries)
                entries.push_back(json::object{{"version", e.version},
                                               {"name", e.name},
                                               {"state", e.state},
                                               {"applied_at", e.applied_at}});
            return ok_json(json::object{{"ok", true},
                                        {"current_version", m.current_version},
                                        {"pending", m.pending},
                                        {"failed", m.failed},
                                        {"running", m.running},
                                        {"last_apply", m.last_apply},
                                        {"migrations", entries}});
        },
        "migration status as of the last check (refreshed every minute)");
    post(
        "/api/v1/migrations/apply", [&d](const RouteCall&) { return command(d.apply_migrations()); },
        "apply pending migrations: 202, 409 while they run");
    post(
        "/api/v1/services/{name}/restart",
        [&d](const RouteCall& c) { return command(d.restart_service(c.params.at("name"))); },
        "restart a service");
    post(
        "/api/v1/services/{name}/stop",
        [&d](const RouteCall& c) { return command(d.stop_service(c.params.at("name"))); },
        "stop a service (it stays stopped until started)");
    post(
        "/api/v1/services/{name}/start",
        [&d](const RouteCall& c) { return command(d.start_service(c.params.at("name"))); },
        "start a stopped service");
    post(
        "/api/v1/probes/{name}/run",
        [&d](const RouteCall& c) { return command(d.run_probe(c.params.at("name"))); }, "run a probe now");
    post(
        "/api/v1/reload",
        [&d](const RouteCall& c) {
            auto it = c.query.find("dry_run");
            bool dry = it != c.query.end() && (it->second == "1" || it->second == "true");
            auto r = d.reload(dry);
            if (!r.ok) {
                json::array errors;
                for (const auto& e : r.errors) errors.push_back(json::value(e));
                Response resp;
                resp.status = 422;
                resp.body =
                    json_body(json::object{{"error",
                                            {{"code", "reload_refused"},
                                             {"message", r.errors.empty() ? "refused" : r.errors.front()},
                                             {"errors", errors}}}});
                return resp;
            }
            return ok_json(
                json::object{{"ok", true}, {"applied", r.applied}, {"plan", run::to_json(r.plan)}});
        },
        "re-read the spec and apply it (?dry_run=1: only the plan)");
    get(
        "/api/v1/check", Access::token,
        [&d](const RouteCall&) {
            auto findings = d.check();
            json::array list;
            for (const auto& f : findings) {
                list.push_back(
                    json::object{{"id", f.id},
                                 {"severity", checks::to_string(f.severity)},
                                 {"path", f.path},
                                 {"message", f.message},
                                 {"hint", f.hint},
                                 {"waived", f.is_waived()},
                                 {"reason", f.is_waived() ? json::value(f.waived) : json::value()}});
            }
            // A waived error does not fail the gate, as in `steward check`.
            return ok_json(json::object{{"ok", checks::gate_passes(findings)}, {"findings", list}});
        },
        "run the gate on the running spec");
    get(
        "/api/v1/history", Access::token,
        [this](const RouteCall& c) {
            auto now = std::chrono::system_clock::now();
            auto since = now - std::chrono::hours(1);
            if (auto it = c.query.find("since"); it != c.query.end()) {
                try {
                    since = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
                        std::chrono::duration<double>(std::stod(it->second))));
                } catch (const std::exception&) {
                    return error_response(400, "bad_request", "since must be unix seconds");
                }
            }
            auto body = history_.since(since);
            body.as_object()["ok"] = true;
            return ok_json(body);
        },
        "events and per-probe latency of the last hour (?since=UNIX_SECONDS)");
    add_console_routes(rs);
    return rs;
}

}  // namespace steward::admin
