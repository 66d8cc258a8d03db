// Status, plans and validation computed from files and history rows, without a database.
#include "migrate/planner.hpp"

#include <algorithm>
#include <map>

namespace steward::migrate {
namespace {

const char* kRepairHint = "run `steward migrate repair --yes`";

// The latest row per versioned version / repeatable name, plus the baseline row.
struct RowIndex {
    std::map<std::string, const HistoryRow*> versioned;   // normalized version
    std::map<std::string, const HistoryRow*> repeatable;  // name
    const HistoryRow* baseline = nullptr;

    explicit RowIndex(const std::vector<HistoryRow>& rows) {
        for (const auto& r : rows) {
            if (r.kind == "baseline") {
                if (!baseline || r.id > baseline->id) baseline = &r;
            } else if (r.kind == "repeatable") {
                auto& slot = repeatable[r.name];
                if (!slot || r.id > slot->id) slot = &r;
            } else {
                auto& slot = versioned[normalize_version(r.version)];
                if (!slot || r.id > slot->id) slot = &r;
            }
        }
    }
    bool below_baseline(const std::string& version) const {
        return baseline && compare_versions(version, baseline->version) <= 0;
    }
};

std::string label(const std::string& version, const std::string& name) {
    return version.empty() ? "repeatable " + name : version + " " + name;
}

std::string progress_detail(const HistoryRow& r) {
    std::string d = r.state == "running"
                        ? "started and never finished (the process died or lost its connection)"
                        : "failed";
    if (r.statements_total > 0) {
        d += "; " + std::to_string(r.statements_done) + " of " + std::to_string(r.statements_total) +
             " statements completed";
        if (r.statements_done > 0) d += " (1-" + std::to_string(r.statements_done) + ")";
    }
    if (!r.error.empty()) d += ": " + r.error;
    return d;
}

StatusEntry entry(std::string kind, std::string version, std::string name, std::string file,
                  std::string state, std::string mode, std::string checksum) {
    StatusEntry e;
    e.kind = std::move(kind);
    e.version = std::move(version);
    e.name = std::move(name);
    e.file = std::move(file);
    e.state = std::move(state);
    e.mode = std::move(mode);
    e.checksum = std::move(checksum);
    return e;
}

void fill_from_row(StatusEntry& e, const HistoryRow& r) {
    e.recorded_checksum = r.checksum;
    e.applied_at = r.applied_at;
    e.duration_ms = r.duration_ms;
}

}  // namespace

StatusReport compute_status(const MigrationSet& set, const std::vector<HistoryRow>& rows) {
    RowIndex idx(rows);
    StatusReport rep;
    std::vector<StatusEntry> versioned, repeatable;

    for (const auto& m : set.versioned) {
        StatusEntry e =
            entry("versioned", m.version, m.name, m.file.string(), "pending", to_string(m.mode), m.checksum);
        if (auto it = idx.versioned.find(m.version); it != idx.versioned.end()) {
            const auto& r = *it->second;
            fill_from_row(e, r);
            e.state = r.state;
            if (r.state != "applied") {
                e.detail = progress_detail(r);
            } else if (r.checksum != m.checksum) {
                e.state = "drifted";
                e.detail = "the file changed after it was applied (checksum " + r.checksum.substr(0, 12) +
                           "... now " + m.checksum.substr(0, 12) + "...)";
            }
        } else if (idx.below_baseline(m.version)) {
            e.state = "below_baseline";
            e.detail = "covered by baseline " + idx.baseline->version;
        }
        versioned.push_back(std::move(e));
    }
    for (const auto& [version, r] : idx.versioned) {
        if (set.find_version(version)) continue;
        StatusEntry e =
            entry("versioned", r->version, r->name, "", r->state == "applied" ? "missing" : r->state, "", "");
        fill_from_row(e, *r);
        e.detail = r->state == "applied" ? "applied, but its file is gone"
                                         : progress_detail(*r) + "; its file is gone";
        versioned.push_back(std::move(e));
    }
    if (idx.baseline) {
        StatusEntry e = entry("baseline", idx.baseline->version, idx.baseline->name, "", "baseline", "", "");
        fill_from_row(e, *idx.baseline);
        versioned.push_back(std::move(e));
    }
    std::stable_sort(versioned.begin(), versioned.end(),
                     [](const auto& a, const auto& b) { return compare_versions(a.version, b.version) < 0; });

    for (const auto& m : set.repeatable) {
        StatusEntry e =
            entry("repeatable", "", m.name, m.file.string(), "pending", to_string(m.mode), m.checksum);
        if (auto it = idx.repeatable.find(m.name); it != idx.repeatable.end()) {
            const auto& r = *it->second;
            fill_from_row(e, r);
            e.state = r.state;
            if (r.state != "applied") {
                e.detail = progress_detail(r);
            } else if (r.checksum != m.checksum) {
                e.state = "pending";
                e.detail = "changed since it was applied; up re-applies it";
            }
        }
        repeatable.push_back(std::move(e));
    }
    for (const auto& [name, r] : idx.repeatable) {
        if (set.find_repeatable(name)) continue;
        StatusEntry e =
            entry("repeatable", "", r->name, "", r->state == "applied" ? "missing" : r->state, "", "");
        fill_from_row(e, *r);
        e.detail = "applied, but its file is gone";
        repeatable.push_back(std::move(e));
    }

    for (auto* list : {&versioned, &repeatable})
        for (auto& e : *list) {
            if (e.state == "applied")
                ++rep.applied;
            else if (e.state == "pending")
                ++rep.pending;
            else if (e.state == "failed" || e.state == "running")
                ++rep.failed;
            else if (e.state == "drifted" || e.state == "missing")
                ++rep.drifted;
            if ((e.state == "applied" || e.state == "baseline" || e.state == "drifted" ||
                 e.state == "missing") &&
                e.kind != "repeatable" &&
                (rep.current_version.empty() || compare_versions(e.version, rep.current_version) > 0))
                rep.current_version = e.version;
        }
    for (auto& e : versioned)
        if (e.state == "pending" && !rep.current_version.empty() &&
            compare_versions(e.version, rep.current_version) < 0)
            e.detail =
                "older than the current version " + rep.current_version + "; up applies it out of order";
    rep.entries = std::move(versioned);
    rep.entries.insert(rep.entries.end(), std::make_move_iterator(repeatable.begin()),
                       std::make_move_iterator(repeatable.end()));
    return rep;
}

namespace {

// Failed/running rows and drift stop up and down.
std::vector<std::string> blockers_of(const StatusReport& st) {
    std::vector<std::string> out;
    for (const auto& e : st.entries) {
        const auto what = label(e.version, e.name);
        if (e.state == "failed" || e.state == "running")
            out.push_back(what + " is " + e.state + ": " + e.detail +
                          "; fix the database by hand (finish or undo those statements), then " +
                          kRepairHint + " and run up again");
        else if (e.state == "drifted")
            out.push_back(what + ": " + e.detail + "; restore the file, or " + kRepairHint + " to accept it");
        else if (e.state == "missing")
            out.push_back(what + ": " + e.detail + "; restore the file, or " + kRepairHint + " to forget it");
    }
    return out;
}

}  // namespace

Plan plan_up(const MigrationSet& set, const std::vector<HistoryRow>& rows,
             const std::optional<std::string>& to) {
    Plan plan;
    const auto st = compute_status(set, rows);
    plan.blockers = blockers_of(st);
    if (!plan.blockers.empty()) return plan;
    bool reaches_end = true;
    for (const auto& e : st.entries) {
        if (e.kind != "versioned" || e.state != "pending") continue;
        if (to && compare_versions(e.version, *to) > 0) {
            reaches_end = false;
            continue;
        }
        const auto* m = set.find_version(e.version);
        plan.steps.push_back({m, false, m->mode, m->file.string()});
    }
    if (!reaches_end) return plan;
    RowIndex idx(rows);
    for (const auto& m : set.repeatable) {
        auto it = idx.repeatable.find(m.name);
        if (it != idx.repeatable.end() && it->second->checksum == m.checksum) continue;
        plan.steps.push_back({&m, it != idx.repeatable.end(), m.mode, m.file.string()});
    }
    return plan;
}

Plan plan_down(const MigrationSet& set, const std::vector<HistoryRow>& rows, std::optional<int> count,
               const std::optional<std::string>& to) {
    Plan plan;
    const auto st = compute_status(set, rows);
    for (const auto& b : blockers_of(st))
        if (b.find(" is failed") != std::string::npos || b.find(" is running") != std::string::npos)
            plan.blockers.push_back(b);
    if (!plan.blockers.empty()) return plan;

    std::vector<const StatusEntry*> applied;  // newest first
    for (auto it = st.entries.rbegin(); it != st.entries.rend(); ++it)
        if (it->kind == "versioned" &&
            (it->state == "applied" || it->state == "drifted" || it->state == "missing"))
            applied.push_back(&*it);
    std::vector<const StatusEntry*> chosen;
    if (to) {
        for (auto* e : applied)
            if (compare_versions(e->version, *to) > 0) chosen.push_back(e);
    } else {
        const int n = count.value_or(1);
        for (int i = 0; i < n && i < static_cast<int>(applied.size()); ++i) chosen.push_back(applied[i]);
    }
    for (auto* e : chosen) {
        const auto* m = set.find_version(e->version);
        const auto what = label(e->version, e->name);
        if (!m) {
            plan.blockers.push_back(what + ": its file is gone, so there is no down file to run");
        } else if (!m->down_file) {
            plan.blockers.push_back(what + " has no down file; nothing was reverted");
        } else {
            plan.steps.push_back({m, false, m->down_mode, m->down_file->string()});
        }
    }
    if (!plan.blockers.empty()) plan.steps.clear();
    return plan;
}

std::vector<std::string> validation_problems(const StatusReport& status, bool no_pending) {
    std::vector<std::string> out;
    for (const auto& e : status.entries) {
        const auto what = label(e.version, e.name);
        if (e.state == "failed" || e.state == "running" || e.state == "drifted" || e.state == "missing")
            out.push_back(what + " is " + e.state + ": " + e.detail);
        else if (no_pending && e.state == "pending")
            out.push_back(what + " is pending" + (e.detail.empty() ? "" : ": " + e.detail));
    }
    return out;
}

std::vector<RepairAction> plan_repair(const MigrationSet& set, const std::vector<HistoryRow>& rows) {
    std::vector<RepairAction> out;
    RowIndex idx(rows);
    for (const auto& r : rows) {
        if (r.kind == "baseline") continue;
        const Migration* m =
            r.kind == "repeatable" ? set.find_repeatable(r.name) : set.find_version(r.version);
        const auto what = label(r.kind == "repeatable" ? "" : r.version, r.name);
        if (r.state != "applied") {
            out.push_back({RepairAction::Type::remove_failed, r.id, r.version, r.name, "",
                           "removed the " + r.state + " row of " + what});
        } else if (!m) {
            out.push_back({RepairAction::Type::remove_missing, r.id, r.version, r.name, "",
                           "removed the row of " + what + " (its file is gone)"});
        } else if (m->checksum != r.checksum && r.kind != "repeatable") {
            out.push_back({RepairAction::Type::realign_checksum, r.id, r.version, r.name, m->checksum,
                           "realigned the checksum of " + what + " to the file (" +
                               m->checksum.substr(0, 12) + "...)"});
        }
    }
    return out;
}

}  // namespace steward::migrate
