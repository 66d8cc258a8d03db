// The history table (steward_migrations), its rows, and the session-level migration lock.
#include "migrate/history.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/log.hpp"
#include "core/pg.hpp"

namespace steward::migrate {
namespace {

std::string quote_table(const std::string& table) {
    auto dot = table.find('.');
    if (dot == std::string::npos) return pg::quote_ident(table);
    return pg::quote_ident(table.substr(0, dot)) + "." + pg::quote_ident(table.substr(dot + 1));
}

std::string ms(Duration d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

History::History(PgSession& session, const std::string& table)
    : s_(session), table_(table), quoted_(quote_table(table)) {}

bool History::exists() {
    // Pin the schema now: a migration's SET search_path must not move the history table.
    auto rows = s_.run(
        "SELECT n.nspname, true FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = to_regclass($1)"
        " UNION ALL SELECT current_schema(), false LIMIT 1",
        {quoted_}, "cannot look up the history table");
    if (rows.empty() || !rows[0][0])
        throw MigrateError("cannot place the history table " + table_ + ": no schema in search_path exists");
    if (table_.find('.') == std::string::npos)
        quoted_ = pg::quote_ident(*rows[0][0]) + "." + pg::quote_ident(table_);
    return rows[0][1] == std::string("t");
}

void History::create() {
    s_.run("CREATE TABLE IF NOT EXISTS " + quoted_ +
               " (\n"
               "  id bigserial PRIMARY KEY,\n"
               "  version text,\n"
               "  name text NOT NULL,\n"
               "  kind text NOT NULL CHECK (kind IN ('versioned', 'repeatable', 'baseline')),\n"
               "  checksum text NOT NULL,\n"
               "  applied_at timestamptz NOT NULL DEFAULT now(),\n"
               "  duration_ms bigint NOT NULL DEFAULT 0,\n"
               "  applied_by text NOT NULL,\n"
               "  state text NOT NULL CHECK (state IN ('applied', 'running', 'failed')),\n"
               "  statements_done integer NOT NULL DEFAULT 0,\n"
               "  statements_total integer NOT NULL DEFAULT 0,\n"
               "  error text\n"
               ")",
           {}, "cannot create the history table " + table_);
}

std::vector<HistoryRow> History::rows() {
    auto raw = s_.run(
        "SELECT id, coalesce(version, ''), name, kind, checksum,"
        " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), duration_ms,"
        " applied_by, state, statements_done, statements_total, coalesce(error, '') FROM " +
            quoted_ + " ORDER BY id",
        {}, "cannot read the history table " + table_);
    std::vector<HistoryRow> out;
    out.reserve(raw.size());
    for (auto& r : raw) {
        HistoryRow h;
        h.id = std::stoll(*r[0]);
        h.version = *r[1];
        h.name = *r[2];
        h.kind = *r[3];
        h.checksum = *r[4];
        h.applied_at = *r[5];
        h.duration_ms = std::stoll(*r[6]);
        h.applied_by = *r[7];
        h.state = *r[8];
        h.statements_done = std::stoi(*r[9]);
        h.statements_total = std::stoi(*r[10]);
        h.error = *r[11];
        out.push_back(std::move(h));
    }
    return out;
}

std::string History::applied_by() {
    static const std::string who = [] {
        std::string user = "unknown";
        if (const passwd* pw = getpwuid(geteuid())) user = pw->pw_name;
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        return user + "@" + host;
    }();
    return who;
}

std::string History::insert_sql(const Migration& m, const std::string& state, const std::string& duration_ms,
                                int done, int total) const {
    return "INSERT INTO " + quoted_ +
           " (version, name, kind, checksum, duration_ms, applied_by, state, statements_done, "
           "statements_total)"
           " VALUES (" +
           (m.kind == Kind::versioned ? s_.literal(m.version) : std::string("NULL")) + ", " +
           s_.literal(m.name) + ", " + s_.literal(to_string(m.kind)) + ", " + s_.literal(m.checksum) + ", " +
           duration_ms + ", " + s_.literal(applied_by()) + ", " + s_.literal(state) + ", " +
           std::to_string(done) + ", " + std::to_string(total) + ")";
}

std::string History::update_repeatable_sql(const Migration& m, const std::string& duration_ms) const {
    return "UPDATE " + quoted_ + " SET checksum = " + s_.literal(m.checksum) +
           ", applied_at = now(), duration_ms = " + duration_ms +
           ", applied_by = " + s_.literal(applied_by()) +
           " WHERE kind = 'repeatable' AND name = " + s_.literal(m.name);
}

long long History::insert_running(const Migration& m, int total) {
    auto rows = s_.run(insert_sql(m, "running", "0", 0, total) + " RETURNING id", {},
                       "cannot record the start of " + m.file.filename().string());
    return std::stoll(*rows.at(0).at(0));
}

void History::record_progress(long long id, int done) {
    s_.run("UPDATE " + quoted_ + " SET statements_done = $1 WHERE id = $2",
           {std::to_string(done), std::to_string(id)}, "cannot record progress");
}

void History::finish(long long id, const std::string& state, long long duration_ms, int done,
                     const std::string& error) {
    s_.run("UPDATE " + quoted_ +
               " SET state = $1, duration_ms = $2, statements_done = $3, error = nullif($4, ''), applied_at "
               "= now()"
               " WHERE id = $5",
           {state, std::to_string(duration_ms), std::to_string(done), error, std::to_string(id)},
           "cannot record the outcome of a migration");
}

void apply_session_settings(PgSession& s, const Options& o) {
    std::string sql = "SET lock_timeout = '" + ms(o.lock_timeout) + "'";
    if (o.statement_timeout) sql += "; SET statement_timeout = '" + ms(*o.statement_timeout) + "'";
    // A killed steward leaves its backend running the statement; this makes the server notice.
    if (s.server_version() >= 140000) sql += "; SET client_connection_check_interval = '1s'";
    s.run(sql, {}, "cannot apply the session settings");
}

MigrationLock::MigrationLock(PgSession& s, const Options& o) : s_(s) {
    key_ = pg::migration_lock_key(s.database(), o.table);
    const auto key = std::to_string(key_);
    apply_session_settings(s, o);  // client_connection_check_interval covers the wait too
    // Poll with pg_try_advisory_lock instead of blocking in pg_advisory_lock: a blocked waiter
    // holds a snapshot, and CREATE INDEX CONCURRENTLY in the holder would wait for it forever.
    const auto deadline = std::chrono::steady_clock::now() + o.lock_wait;
    auto pause = std::chrono::milliseconds(10);
    SqlResult r;
    for (;;) {
        r = s.exec("SELECT pg_try_advisory_lock($1::bigint)", {key});
        if (!r.ok || r.rows.at(0).at(0) == std::string("t")) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            r.ok = false;
            r.error.sqlstate = "55P03";
            break;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(100));
    }
    if (!r.ok) {
        if (r.error.sqlstate != "55P03")
            throw MigrateError("cannot take the migration lock: " + r.error.message);
        std::string holder = "unknown (it ended while we looked)";
        try {
            auto c = pg::connect(o.url, o.connect_timeout);
            if (auto h = pg::advisory_lock_holder(*c, key_)) holder = *h;
        } catch (const std::exception& e) {
            holder = std::string("unknown (") + e.what() + ")";
        }
        throw MigrateError("another process holds the migration lock of database " + s.database() +
                           " (table " + o.table + ") after waiting " + format_duration(o.lock_wait) +
                           "; held by " + holder);
    }
    log::debug("migrate", "took the migration lock", {{"database", s.database()}, {"table", o.table}});
}

MigrationLock::~MigrationLock() {
    if (s_.connected()) (void)s_.exec("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(key_)});
}

}  // namespace steward::migrate
