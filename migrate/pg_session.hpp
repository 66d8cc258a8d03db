// One libpq session for migrations: full error fields (position, detail, hint) that libpqxx hides.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace steward::migrate {

struct SqlError {
    std::string sqlstate;
    std::string message;
    std::string detail;
    std::string hint;
    long position = 0;  // 1-based character index into the sent text; 0 when absent
};

using Row = std::vector<std::optional<std::string>>;

struct SqlResult {
    bool ok = true;
    std::vector<Row> rows;
    SqlError error;
};

class PgSession {
  public:
    // Throws MigrateError with a redacted message when the server cannot be reached.
    PgSession(const std::string& url, std::chrono::seconds connect_timeout);
    ~PgSession();
    PgSession(const PgSession&) = delete;
    PgSession& operator=(const PgSession&) = delete;

    // Simple protocol: `sql` may hold several statements (one implicit transaction).
    [[nodiscard]] SqlResult exec(const std::string& sql);
    // As exec(sql), and counts the statements of `sql` that completed before an error, so an
    // error without a position can still be placed on its statement.
    [[nodiscard]] SqlResult exec_script(const std::string& sql, int& completed);
    // Extended protocol with text parameters (nullopt is NULL); one statement.
    [[nodiscard]] SqlResult exec(const std::string& sql,
                                 const std::vector<std::optional<std::string>>& params);
    // As exec, but throws MigrateError(`what`: message) on failure.
    std::vector<Row> run(const std::string& sql, const std::vector<std::optional<std::string>>& params = {},
                         const std::string& what = "query failed");

    std::string literal(const std::string& text) const;  // quoted SQL literal
    bool in_failed_transaction() const;
    bool in_transaction() const;
    bool connected() const;
    std::string database() const;
    std::string user() const;
    int server_version() const;  // e.g. 150004

  private:
    SqlResult collect(pg_result* res);
    pg_conn* conn_ = nullptr;
};

// True when the server accepts connections now. Throws MigrateError (password withheld) when
// the URL itself is malformed, since waiting would not help.
bool server_accepts_connections(const std::string& url);

// libpq's connection error text, with any password from `url` taken out: libpq quotes the
// offending part of a malformed URL ("invalid percent-encoded token: \"<password>\"").
std::string scrub_connection_error(std::string message, const std::string& url);

}  // namespace steward::migrate
