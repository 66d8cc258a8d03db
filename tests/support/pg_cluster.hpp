// Test harness: one real PostgreSQL 15 per test binary, fresh databases per test.
#pragma once

#include <string>

#include "core/embedded_postgres.hpp"

namespace steward::test {

// Started on first use (initdb into a temp dir, loopback port, as `postgres` when root),
// stopped when the test binary exits.
EmbeddedPostgres& cluster();

// postgresql://postgres@127.0.0.1:PORT/<database>
std::string cluster_url(const std::string& database = "postgres");

// Creates an empty database with a unique name starting with `prefix`; returns its URL.
std::string fresh_database(const std::string& prefix = "t");

// Name of the database in a URL made by fresh_database().
std::string database_name(const std::string& url);

// Runs one SQL statement (or several, simple protocol) against `url`; returns the first
// column of the first row, or "" when there is none.
std::string query_value(const std::string& url, const std::string& sql);

}  // namespace steward::test
