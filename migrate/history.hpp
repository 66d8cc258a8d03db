// The history table and the migration advisory lock, on one PgSession.
#pragma once

#include <string>
#include <vector>

#include "migrate/migrator.hpp"
#include "migrate/pg_session.hpp"
#include "migrate/planner.hpp"

namespace steward::migrate {

class History {
  public:
    History(PgSession& session, const std::string& table);

    bool exists();
    void create();  // only under the lock: concurrent CREATE TABLE IF NOT EXISTS races
    std::vector<HistoryRow> rows();
    const std::string& quoted_table() const { return quoted_; }

    // SQL text (literals inlined) so it can ride in the same round trip as COMMIT.
    std::string insert_sql(const Migration& m, const std::string& state, const std::string& duration_ms_sql,
                           int done, int total) const;
    std::string update_repeatable_sql(const Migration& m, const std::string& duration_ms_sql) const;
    long long insert_running(const Migration& m, int total);
    void record_progress(long long id, int done);
    void finish(long long id, const std::string& state, long long duration_ms, int done,
                const std::string& error);

    static std::string applied_by();

  private:
    PgSession& s_;
    std::string table_;
    std::string quoted_;
};

// Session settings and the advisory lock for up/down/baseline/repair.
class MigrationLock {
  public:
    // Waits up to options.lock_wait; throws MigrateError naming the holder after that.
    MigrationLock(PgSession& session, const Options& options);
    ~MigrationLock();

  private:
    PgSession& s_;
    long long key_ = 0;
};

// Sets lock_timeout, statement_timeout and client_connection_check_interval for the session.
void apply_session_settings(PgSession& session, const Options& options);

}  // namespace steward::migrate
