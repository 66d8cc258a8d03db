// libpq session wrapper: connection, simple and parameterised queries, diagnostic fields.
#include "migrate/pg_session.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <string_view>

#include "core/pg.hpp"
#include "core/secret.hpp"
#include "migrate/migrator.hpp"

namespace steward::migrate {
namespace {

std::string field(const PGresult* res, int code) {
    const char* v = PQresultErrorField(res, code);
    return v ? v : "";
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace

std::string scrub_connection_error(std::string message, const std::string& url) {
    return pg::scrub_error(url, std::move(message));
}

PgSession::PgSession(const std::string& url, std::chrono::seconds connect_timeout) {
    // expand_dbname turns the URL into parameters; the later keywords override it.
    const std::string timeout = std::to_string(std::max<long long>(1, connect_timeout.count()));
    const char* keys[] = {"dbname", "connect_timeout", "application_name", "client_encoding", nullptr};
    const char* values[] = {url.c_str(), timeout.c_str(), "steward migrate", "UTF8", nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
        std::string msg = conn_ ? trim(PQerrorMessage(conn_)) : "out of memory";
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
        throw MigrateError("cannot connect to " + pg::redact_url(url) + ": " +
                           scrub_connection_error(msg, url));
    }
}

PgSession::~PgSession() {
    if (conn_) PQfinish(conn_);
}

SqlResult PgSession::collect(PGresult* res) {
    SqlResult out;
    const auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR || status == PGRES_BAD_RESPONSE) {
        out.ok = false;
        if (res) {
            out.error.sqlstate = field(res, PG_DIAG_SQLSTATE);
            out.error.message = field(res, PG_DIAG_MESSAGE_PRIMARY);
            out.error.detail = field(res, PG_DIAG_MESSAGE_DETAIL);
            out.error.hint = field(res, PG_DIAG_MESSAGE_HINT);
            auto pos = field(res, PG_DIAG_STATEMENT_POSITION);
            if (!pos.empty()) out.error.position = std::stol(pos);
        }
        if (out.error.message.empty()) out.error.message = trim(PQerrorMessage(conn_));
        if (out.error.message.empty()) out.error.message = "the server connection was lost";
    } else if (status == PGRES_TUPLES_OK) {
        const int nrows = PQntuples(res), ncols = PQnfields(res);
        out.rows.reserve(nrows);
        for (int r = 0; r < nrows; ++r) {
            Row row;
            row.reserve(ncols);
            for (int c = 0; c < ncols; ++c) {
                if (PQgetisnull(res, r, c))
                    row.emplace_back(std::nullopt);
                else
                    row.emplace_back(std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
            }
            out.rows.push_back(std::move(row));
        }
    }
    if (res) PQclear(res);
    return out;
}

SqlResult PgSession::exec(const std::string& sql) {
    // With several statements PQexec keeps only the last result; an error ends the batch.
    return collect(PQexec(conn_, sql.c_str()));
}

SqlResult PgSession::exec_script(const std::string& sql, int& completed) {
    completed = 0;
    if (!PQsendQuery(conn_, sql.c_str())) return collect(nullptr);
    SqlResult out;
    bool failed = false;
    while (PGresult* res = PQgetResult(conn_)) {
        const auto status = PQresultStatus(res);
        if (status == PGRES_COPY_IN) {
            // There is no data to send: end the COPY with an error, which fails the statement.
            PQputCopyEnd(conn_, "COPY FROM STDIN is not supported in migration files");
        } else if (status == PGRES_COPY_OUT) {
            char* buf = nullptr;
            while (PQgetCopyData(conn_, &buf, 0) > 0) PQfreemem(buf);
        } else if (status == PGRES_COPY_BOTH) {
            PQclear(res);
            return collect(nullptr);
        }
        auto r = collect(res);
        if (failed) continue;
        if (!r.ok) {
            out = std::move(r);
            failed = true;
        } else if (status != PGRES_COPY_IN && status != PGRES_COPY_OUT) {
            ++completed;
            out = std::move(r);
        }
    }
    return out;
}

SqlResult PgSession::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return collect(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                nullptr, nullptr, 0));
}

std::vector<Row> PgSession::run(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                                const std::string& what) {
    auto r = params.empty() ? exec(sql) : exec(sql, params);
    if (!r.ok) {
        std::string msg = what + ": " + r.error.message;
        if (!r.error.sqlstate.empty()) msg += " (SQLSTATE " + r.error.sqlstate + ")";
        if (!r.error.detail.empty()) msg += "; detail: " + r.error.detail;
        if (!r.error.hint.empty()) msg += "; hint: " + r.error.hint;
        throw MigrateError(msg);
    }
    return std::move(r.rows);
}

std::string PgSession::literal(const std::string& text) const {
    char* q = PQescapeLiteral(conn_, text.data(), text.size());
    if (!q) throw MigrateError("cannot quote a literal: " + trim(PQerrorMessage(conn_)));
    std::string out(q);
    PQfreemem(q);
    return out;
}

bool PgSession::in_failed_transaction() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }
bool PgSession::in_transaction() const {
    auto s = PQtransactionStatus(conn_);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}
bool PgSession::connected() const { return PQstatus(conn_) == CONNECTION_OK; }
std::string PgSession::database() const { return PQdb(conn_); }
std::string PgSession::user() const { return PQuser(conn_); }
int PgSession::server_version() const { return PQserverVersion(conn_); }

bool server_accepts_connections(const std::string& url) {
    const char* keys[] = {"dbname", "connect_timeout", nullptr};
    const char* values[] = {url.c_str(), "2", nullptr};
    const auto ping = PQpingParams(keys, values, 1);
    if (ping == PQPING_NO_ATTEMPT) {
        char* err = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &err);
        std::string why = err ? trim(err) : "libpq did not try to connect";
        if (err) PQfreemem(err);
        if (parsed) PQconninfoFree(parsed);
        throw MigrateError("cannot connect to " + pg::redact_url(url) + ": " +
                           scrub_connection_error(why, url));
    }
    return ping == PQPING_OK;
}

}  // namespace steward::migrate
