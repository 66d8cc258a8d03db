// JSON documents and terminal text for the results of each migrate command.
#include <boost/json.hpp>
#include <sstream>

#include "migrate/migrator.hpp"

namespace steward::migrate {
namespace json = boost::json;
namespace {

json::object ref_json(const MigrationRef& r) {
    return {{"kind", r.kind},
            {"version", r.version},
            {"name", r.name},
            {"file", r.file},
            {"mode", r.mode},
            {"reapply", r.reapply},
            {"duration_ms", r.duration_ms}};
}

json::array strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

json::object failure_json(const Failure& f) {
    return {{"file", f.file},
            {"line", f.line},
            {"column", f.column},
            {"sqlstate", f.sqlstate},
            {"message", f.message},
            {"detail", f.detail},
            {"hint", f.hint},
            {"mode", f.mode},
            {"statements_completed", f.statements_completed},
            {"statements_total", f.statements_total},
            {"needs_repair", f.recorded}};
}

std::string label(const MigrationRef& r) {
    return r.kind == "repeatable" ? "R " + r.name : r.version + " " + r.name;
}

}  // namespace

json::value to_json(const StatusResult& r) {
    json::array entries;
    for (const auto& e : r.entries) {
        auto o = ref_json(e.ref);
        o["state"] = e.state;
        o["checksum"] = e.checksum;
        o["recorded_checksum"] = e.recorded_checksum;
        o["applied_at"] = e.applied_at;
        o["detail"] = e.detail;
        entries.push_back(std::move(o));
    }
    return {{"ok", true},
            {"history_table_exists", r.history_exists},
            {"current_version", r.current_version},
            {"counts",
             {{"applied", r.applied}, {"pending", r.pending}, {"failed", r.failed}, {"drifted", r.drifted}}},
            {"migrations", std::move(entries)}};
}

json::value to_json(const PlanResult& r) {
    json::array steps;
    for (const auto& s : r.steps) steps.push_back(ref_json(s));
    return {{"ok", r.blockers.empty()}, {"steps", std::move(steps)}, {"blockers", strings(r.blockers)}};
}

json::value to_json(const RunResult& r) {
    json::array done;
    for (const auto& s : r.done) done.push_back(ref_json(s));
    json::object o{{"ok", r.ok()},
                   {"done", std::move(done)},
                   {"current_version", r.current_version},
                   {"blockers", strings(r.blockers)}};
    if (r.failure) {
        auto f = failure_json(*r.failure);
        if (r.failed) f["migration"] = ref_json(*r.failed);
        o["error"] = std::move(f);
    } else {
        o["error"] = nullptr;
    }
    return o;
}

json::value to_json(const ValidateResult& r) {
    auto status = to_json(r.status).as_object();
    return {{"ok", r.ok()},
            {"problems", strings(r.problems)},
            {"current_version", status["current_version"]},
            {"counts", status["counts"]},
            {"migrations", status["migrations"]}};
}

json::value to_json(const std::vector<RepairChange>& changes, bool applied) {
    json::array a;
    for (const auto& c : changes)
        a.push_back(json::object{
            {"action", c.action}, {"version", c.version}, {"name", c.name}, {"description", c.description}});
    return {{"ok", true}, {"applied", applied}, {"changes", std::move(a)}};
}

std::string to_text(const StatusResult& r) {
    std::ostringstream out;
    out << "current version: " << (r.current_version.empty() ? "none" : r.current_version) << "  ("
        << r.applied << " applied, " << r.pending << " pending, " << r.failed << " failed, " << r.drifted
        << " drifted)\n";
    for (const auto& e : r.entries) {
        out << "  " << e.state;
        for (std::size_t i = e.state.size(); i < 15; ++i) out << ' ';
        out << (e.ref.kind == "repeatable" ? "R" : e.ref.version) << "  " << e.ref.name;
        if (!e.ref.mode.empty() && e.ref.mode != "transaction") out << "  [" << e.ref.mode << "]";
        if (!e.applied_at.empty()) out << "  " << e.applied_at;
        if (!e.detail.empty()) out << "\n" << std::string(17, ' ') << e.detail;
        out << "\n";
    }
    return out.str();
}

std::string to_text(const PlanResult& r) {
    std::ostringstream out;
    for (const auto& b : r.blockers) out << "refused: " << b << "\n";
    if (r.blockers.empty() && r.steps.empty()) out << "nothing to do: the database is up to date\n";
    for (const auto& s : r.steps)
        out << "  " << label(s) << "  [" << s.mode << "]" << (s.reapply ? "  (changed; re-apply)" : "")
            << "  " << s.file << "\n";
    return out.str();
}

std::string to_text(const Failure& f) {
    std::ostringstream out;
    out << f.file;
    if (f.line > 0) out << ":" << f.line << ":" << f.column;
    out << ": error";
    if (!f.sqlstate.empty()) out << " " << f.sqlstate;
    out << ": " << f.message << "\n";
    if (!f.detail.empty()) out << "  detail: " << f.detail << "\n";
    if (!f.hint.empty()) out << "  hint: " << f.hint << "\n";
    if (f.recorded) {
        out << "  " << f.statements_completed << " of " << f.statements_total
            << " statements of this file completed (it runs without a transaction); the history row is "
               "marked "
               "failed and up refuses to go on: fix the database, then run `steward migrate repair --yes`\n";
    } else {
        out << "  the migration was rolled back with its history row; the database is as it was before it\n";
    }
    return out.str();
}

std::string to_text(const RunResult& r, const std::string& verb) {
    std::ostringstream out;
    for (const auto& s : r.done) out << verb << " " << label(s) << "  (" << s.duration_ms << " ms)\n";
    if (r.ok() && r.done.empty()) out << "nothing to do: the database is up to date\n";
    if (r.blockers.empty())
        out << "current version: " << (r.current_version.empty() ? "none" : r.current_version) << "\n";
    return out.str();
}

std::string to_text(const ValidateResult& r) {
    std::ostringstream out;
    for (const auto& p : r.problems) out << "problem: " << p << "\n";
    if (r.status.pending > 0) out << r.status.pending << " pending migration(s)\n";
    out << (r.ok() ? "valid" : "invalid") << ": current version "
        << (r.status.current_version.empty() ? "none" : r.status.current_version) << "\n";
    return out.str();
}

}  // namespace steward::migrate
