// The migration engine: loads files, reads history, and runs plans under the advisory lock.
#include "migrate/migrator.hpp"

#include <chrono>
#include <thread>

#include "core/log.hpp"
#include "core/pg.hpp"
#include "migrate/history.hpp"
#include "migrate/migration_files.hpp"
#include "migrate/pg_session.hpp"
#include "migrate/planner.hpp"

namespace steward::migrate {
namespace {

using Clock = std::chrono::steady_clock;

long long elapsed_ms(Clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

MigrationSet load(const Options& o) {
    try {
        return load_migrations(o.dir);
    } catch (const MigrationDirError& e) {
        throw MigrateError(e.what());
    }
}

MigrationRef ref_of(const PlanStep& step) {
    const auto& m = *step.migration;
    return {to_string(m.kind), m.version, m.name, step.file, to_string(step.mode), step.reapply, 0};
}

// A file that changes session settings (SET without LOCAL) would leak them into the next one.
bool changes_session(const ScanResult& scan) {
    for (const auto& st : scan.statements) {
        const auto& k = st.keywords;
        if ((k.rfind("SET ", 0) == 0 && k.rfind("SET LOCAL", 0) != 0 && k.rfind("SET CONSTRAINTS", 0) != 0 &&
             k.rfind("SET TRANSACTION", 0) != 0) ||
            k.rfind("RESET ", 0) == 0)
            return true;
    }
    return false;
}

// Everything one step needs: which text runs and how.
struct StepText {
    const Migration* m;
    std::string file;
    const std::string* sql;
    const ScanResult* scan;
    TxMode mode;
    bool down;
    bool reapply;
};

class Runner {
  public:
    Runner(PgSession& s, History& h, const Options& o, const std::vector<HistoryRow>& rows)
        : s_(s), h_(h), o_(o), rows_(rows) {}

    // Returns a failure, or nullopt when the step committed.
    std::optional<Failure> run(const StepText& t) {
        auto f = t.mode == TxMode::transaction ? run_in_transaction(t) : run_statementwise(t);
        if (!f && changes_session(*t.scan)) {
            (void)s_.exec("RESET ALL; RESET ROLE");  // role is not covered by RESET ALL
            apply_session_settings(s_, o_);
            (void)s_.exec("SET synchronous_commit = off");
        }
        return f;
    }

    long long last_duration_ms = 0;

  private:
    // `offset`: where in the file the error is, when known.
    Failure failure(const StepText& t, const SqlError& e, std::optional<std::size_t> offset, int done,
                    int total, bool recorded) {
        Failure f;
        f.file = t.file;
        if (offset) {
            const auto p = position_of(*t.sql, *offset);
            f.line = p.line;
            f.column = p.column;
        }
        f.sqlstate = e.sqlstate;
        f.message = e.message;
        f.detail = e.detail;
        f.hint = e.hint;
        f.mode = to_string(t.mode);
        f.statements_completed = done;
        f.statements_total = total;
        f.recorded = recorded;
        return f;
    }

    // The history change that commits with the migration; its duration is measured by the
    // server from the start of the one message that carries the file.
    std::string row_change_sql(const StepText& t) {
        if (t.down) return "DELETE FROM " + h_.quoted_table() + " WHERE id = " + std::to_string(row_id(t));
        const std::string duration =
            "(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint";
        const int n = static_cast<int>(t.scan->statements.size());
        return t.reapply ? h_.update_repeatable_sql(*t.m, duration)
                         : h_.insert_sql(*t.m, "applied", duration, n, n);
    }

    long long row_id(const StepText& t) const {
        long long id = 0;
        for (const auto& r : rows_)
            if (r.kind == to_string(t.m->kind) &&
                (t.m->kind == Kind::repeatable ? r.name == t.m->name : r.version == t.m->version))
                id = r.id;
        return id;
    }

    // One round trip: BEGIN, the file, its history row and COMMIT in one simple-protocol message.
    // The scanner has checked that the file does not end inside a quote or comment.
    std::optional<Failure> run_in_transaction(const StepText& t) {
        const int total = static_cast<int>(t.scan->statements.size());
        const auto start = Clock::now();
        static const std::string prefix = "BEGIN;";
        std::string text = prefix;
        if (total > 0) text += *t.sql + "\n;";
        text += row_change_sql(t) + ";COMMIT";
        int completed = 0;  // BEGIN and the file's statements that ran before the error
        auto r = s_.exec_script(text, completed);
        if (!r.ok) {
            if (s_.in_transaction()) (void)s_.exec("ROLLBACK");
            std::optional<std::size_t> offset;
            if (r.error.position > 0) {
                const auto at = byte_offset_of_char(text, r.error.position);
                if (at >= prefix.size() && at < prefix.size() + t.sql->size()) offset = at - prefix.size();
            } else if (completed >= 1 && completed - 1 < total) {
                // No position (a constraint violation, an error raised in a function): the
                // statement that failed is the one after those that completed.
                offset = t.scan->statements[completed - 1].begin;
            }
            return failure(t, r.error, offset, 0, total, false);
        }
        last_duration_ms = elapsed_ms(start);
        return std::nullopt;
    }

    std::optional<Failure> run_statementwise(const StepText& t) {
        const auto& stmts = t.scan->statements;
        const int total = static_cast<int>(stmts.size());
        const auto start = Clock::now();
        long long id = 0;
        if (t.down) {
            id = row_id(t);
            s_.run("UPDATE " + h_.quoted_table() +
                       " SET state = 'running', statements_done = 0, statements_total = " +
                       std::to_string(total) + " WHERE id = " + std::to_string(id),
                   {}, "cannot record the start of " + t.file);
        } else {
            if (t.reapply)
                s_.run("DELETE FROM " + h_.quoted_table() +
                           " WHERE kind = 'repeatable' AND name = " + s_.literal(t.m->name),
                       {}, "cannot replace the row of " + t.file);
            id = h_.insert_running(*t.m, total);
        }
        int done = 0;
        bool committed = false;  // did any statement's effect outlive a failure later on?
        auto fail = [&](Failure f) {
            // A file that manages its own transactions and committed nothing left no trace.
            if (t.mode == TxMode::as_written && !committed) {
                f.recorded = false;
                forget_start(t, id);
            } else {
                record_failure(id, start, done, f);
            }
            return f;
        };
        for (const auto& st : stmts) {
            const std::string_view text(t.sql->data() + st.begin, st.end - st.begin);
            int completed = 0;
            auto r = s_.exec_script(std::string(text), completed);
            if (!r.ok) {
                if (s_.in_transaction()) (void)s_.exec("ROLLBACK");
                const auto at =
                    r.error.position > 0 ? st.begin + byte_offset_of_char(text, r.error.position) : st.begin;
                return fail(failure(t, r.error, at, done, total, true));
            }
            ++done;
            if (!s_.in_transaction()) {
                if (st.keywords.rfind("ROLLBACK", 0) != 0 && st.keywords.rfind("ABORT", 0) != 0)
                    committed = true;
                h_.record_progress(id, done);
            }
        }
        if (s_.in_transaction()) {
            (void)s_.exec("ROLLBACK");
            SqlError e;
            e.message =
                "the file ends inside a transaction it opened (BEGIN without COMMIT); it was rolled back";
            return fail(failure(t, e, std::nullopt, done, total, true));
        }
        last_duration_ms = elapsed_ms(start);
        if (t.down) {
            s_.run("DELETE FROM " + h_.quoted_table() + " WHERE id = " + std::to_string(id), {},
                   "cannot remove the history row of " + t.file);
        } else {
            h_.finish(id, "applied", last_duration_ms, done, "");
        }
        return std::nullopt;
    }

    // Undoes the `running` mark of a file that failed without changing anything.
    void forget_start(const StepText& t, long long id) {
        try {
            if (t.down)
                s_.run("UPDATE " + h_.quoted_table() +
                       " SET state = 'applied' WHERE id = " + std::to_string(id));
            else
                s_.run("DELETE FROM " + h_.quoted_table() + " WHERE id = " + std::to_string(id));
        } catch (const std::exception& e) {
            log::warn("migrate", "could not clear the running mark",
                      {{"file", t.file}, {"error", std::string(e.what())}});
        }
    }

    void record_failure(long long id, Clock::time_point start, int done, const Failure& f) {
        try {
            h_.finish(id, "failed", elapsed_ms(start), done, f.message);
        } catch (const std::exception& e) {
            // The connection may be gone; the row stays `running`, which blocks up just the same.
            log::warn("migrate", "could not record the failure",
                      {{"file", f.file}, {"error", std::string(e.what())}});
        }
    }

    PgSession& s_;
    History& h_;
    const Options& o_;
    const std::vector<HistoryRow>& rows_;
};

StatusResult to_result(const StatusReport& rep, bool exists) {
    StatusResult out;
    out.history_exists = exists;
    out.current_version = rep.current_version;
    out.applied = rep.applied;
    out.pending = rep.pending;
    out.failed = rep.failed;
    out.drifted = rep.drifted;
    for (const auto& e : rep.entries) {
        StatusEntryView v;
        v.ref = {e.kind, e.version, e.name, e.file, e.mode, false, e.duration_ms};
        if (e.kind == "repeatable" && e.state == "pending" && !e.recorded_checksum.empty())
            v.ref.reapply = true;
        v.state = e.state;
        v.checksum = e.checksum;
        v.recorded_checksum = e.recorded_checksum;
        v.applied_at = e.applied_at;
        v.detail = e.detail;
        out.entries.push_back(std::move(v));
    }
    return out;
}

// status and validate run without the lock: a `running` row whose migration still holds the
// lock is in progress, not abandoned, and must not invite a repair.
void note_live_runs(StatusReport& r, const Options& o, const std::string& database) {
    static const std::string dead = "started and never finished (the process died or lost its connection)";
    bool any = false;
    for (const auto& e : r.entries) any = any || e.state == "running";
    if (!any) return;
    std::optional<std::string> holder;
    try {
        auto c = pg::connect(o.url, o.connect_timeout);
        holder = pg::advisory_lock_holder(*c, pg::migration_lock_key(database, o.table));
    } catch (const std::exception& e) {
        log::debug("migrate", "could not look up the migration lock", {{"error", std::string(e.what())}});
    }
    if (!holder) return;
    for (auto& e : r.entries)
        if (e.state == "running" && e.detail.rfind(dead, 0) == 0)
            e.detail.replace(0, dead.size(), "in progress: the migration lock is held by " + *holder);
}

std::vector<HistoryRow> read_rows(History& h, bool& exists) {
    exists = h.exists();
    return exists ? h.rows() : std::vector<HistoryRow>{};
}

}  // namespace

Options options_from_spec(const MigrationsSpec& spec, const std::string& url) {
    Options o;
    o.url = url;
    o.dir = spec.dir;
    o.table = spec.table;
    o.lock_wait = spec.lock_wait;
    o.lock_timeout = spec.lock_timeout;
    o.statement_timeout = spec.statement_timeout;
    return o;
}

Migrator::Migrator(Options options) : options_(std::move(options)) {}

void Migrator::wait_for_server(Duration wait) const {
    const auto deadline = Clock::now() + wait;
    bool logged = false;
    while (!server_accepts_connections(options_.url)) {
        if (Clock::now() >= deadline)
            throw MigrateError("the database at " + pg::redact_url(options_.url) +
                               " did not accept connections within " + format_duration(wait));
        if (!logged) {
            log::info("migrate", "waiting for the database", {{"url", pg::redact_url(options_.url)}});
            logged = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

StatusResult Migrator::status() const {
    auto set = load(options_);
    PgSession s(options_.url, options_.connect_timeout);
    History h(s, options_.table);
    bool exists = false;
    auto rows = read_rows(h, exists);
    auto rep = compute_status(set, rows);
    note_live_runs(rep, options_, s.database());
    return to_result(rep, exists);
}

PlanResult Migrator::plan(const std::optional<std::string>& to) const {
    auto set = load(options_);
    PgSession s(options_.url, options_.connect_timeout);
    History h(s, options_.table);
    bool exists = false;
    auto rows = read_rows(h, exists);
    auto p = plan_up(set, rows, to);
    PlanResult out;
    out.blockers = p.blockers;
    for (const auto& step : p.steps) out.steps.push_back(ref_of(step));
    return out;
}

ValidateResult Migrator::validate(bool no_pending) const {
    auto set = load(options_);
    PgSession s(options_.url, options_.connect_timeout);
    History h(s, options_.table);
    bool exists = false;
    auto rows = read_rows(h, exists);
    auto rep = compute_status(set, rows);
    note_live_runs(rep, options_, s.database());
    ValidateResult out;
    out.problems = validation_problems(rep, no_pending);
    out.status = to_result(rep, exists);
    return out;
}

namespace {

RunResult run_plan(PgSession& s, History& h, const Options& o, const MigrationSet& set,
                   const std::vector<HistoryRow>& rows, const Plan& plan, bool down) {
    RunResult out;
    out.blockers = plan.blockers;
    if (!out.blockers.empty()) return out;
    // Commits wait for no fsync until the last one, which flushes the WAL of all before it.
    (void)s.exec("SET synchronous_commit = off");
    Runner runner(s, h, o, rows);
    for (const auto& step : plan.steps) {
        const auto& m = *step.migration;
        StepText t{&m,   step.file,   down ? &m.down_sql : &m.sql, down ? &m.down_scan : &m.scan, step.mode,
                   down, step.reapply};
        auto ref = ref_of(step);
        if (auto f = runner.run(t)) {
            log::error(
                "migrate", down ? "down migration failed" : "migration failed",
                {{"file", f->file}, {"line", f->line}, {"sqlstate", f->sqlstate}, {"error", f->message}});
            out.failure = std::move(f);
            out.failed = ref;
            break;
        }
        ref.duration_ms = runner.last_duration_ms;
        log::info("migrate", down ? "reverted migration" : "applied migration",
                  {{"version", m.version}, {"name", m.name}, {"duration_ms", ref.duration_ms}});
        out.done.push_back(std::move(ref));
    }
    if (s.connected()) (void)s.exec("SET synchronous_commit = on; SELECT txid_current()");
    if (s.connected()) {
        try {
            out.current_version = compute_status(set, h.rows()).current_version;
        } catch (const MigrateError&) {
        }
    }
    return out;
}

}  // namespace

RunResult Migrator::up(const std::optional<std::string>& to) {
    auto set = load(options_);
    PgSession s(options_.url, options_.connect_timeout);
    MigrationLock lock(s, options_);
    History h(s, options_.table);
    if (!h.exists()) h.create();
    auto rows = h.rows();
    return run_plan(s, h, options_, set, rows, plan_up(set, rows, to), false);
}

RunResult Migrator::down(std::optional<int> count, const std::optional<std::string>& to) {
    auto set = load(options_);
    PgSession s(options_.url, options_.connect_timeout);
    MigrationLock lock(s, options_);
    History h(s, options_.table);
    if (!h.exists()) h.create();
    auto rows = h.rows();
    return run_plan(s, h, options_, set, rows, plan_down(set, rows, count, to), true);
}

void Migrator::baseline(const std::string& version) {
    if (!valid_version(version))
        throw MigrateError("baseline version " + version + " is not a version (digits, dot-separated)");
    PgSession s(options_.url, options_.connect_timeout);
    MigrationLock lock(s, options_);
    History h(s, options_.table);
    if (!h.exists()) h.create();
    if (auto rows = h.rows(); !rows.empty())
        throw MigrateError("the history table " + options_.table + " already has " +
                           std::to_string(rows.size()) +
                           " rows; baseline adopts a database that has no migration history");
    s.run("INSERT INTO " + h.quoted_table() +
              " (version, name, kind, checksum, applied_by, state) VALUES ($1, '<< baseline >>', 'baseline', "
              "'', $2, "
              "'applied')",
          {normalize_version(version), History::applied_by()}, "cannot record the baseline");
    log::info("migrate", "baseline recorded", {{"version", normalize_version(version)}});
}

std::vector<RepairChange> Migrator::repair(bool apply) {
    auto set = load(options_);
    PgSession s(options_.url, options_.connect_timeout);
    MigrationLock lock(s, options_);
    History h(s, options_.table);
    if (!h.exists()) return {};
    std::vector<RepairChange> out;
    const auto actions = plan_repair(set, h.rows());
    if (apply && !actions.empty()) s.run("BEGIN", {}, "cannot start the repair");
    for (const auto& a : actions) {
        const char* name = a.type == RepairAction::Type::remove_failed      ? "remove_failed"
                           : a.type == RepairAction::Type::realign_checksum ? "realign_checksum"
                                                                            : "remove_missing";
        out.push_back({name, a.version, a.name, a.description});
        if (!apply) continue;
        if (a.type == RepairAction::Type::realign_checksum)
            s.run("UPDATE " + h.quoted_table() + " SET checksum = $1 WHERE id = $2",
                  {a.new_checksum, std::to_string(a.row_id)}, "cannot realign a checksum");
        else
            s.run("DELETE FROM " + h.quoted_table() + " WHERE id = $1", {std::to_string(a.row_id)},
                  "cannot remove a history row");
        log::info("migrate", "repaired history", {{"change", a.description}});
    }
    if (apply && !actions.empty()) s.run("COMMIT", {}, "cannot commit the repair");
    return out;
}

}  // namespace steward::migrate
