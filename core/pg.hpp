// PostgreSQL helpers shared by every subsystem: URLs, redaction, connections, lock keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <string_view>

namespace steward::pg {

// A connection string (URI or key=value) broken into libpq keywords.
struct ConnInfo {
    std::map<std::string, std::string> params;  // host, port, user, password, dbname, sslmode, ...
    std::string get(const std::string& key, const std::string& fallback = {}) const;
    std::string host() const;    // "" means the default unix socket
    std::string dbname() const;  // defaults to user, as libpq does
    bool is_loopback() const;    // 127.x, ::1, localhost, or a unix socket
};

// Throws std::invalid_argument with libpq's message (password never included).
ConnInfo parse_conninfo(const std::string& url);
// libpq's parse error with every quoted piece that overlaps the URL's password replaced by ***.
std::string safe_parse_error(const std::string& url, const std::string& error);
// Any error text about `url` (libpq's, a tool's stderr) with every form of its password taken out: quoted
// pieces that overlap it, the password as written, decoded, or split by an unencoded '@' or '/'.
std::string scrub_error(const std::string& url, std::string message);

// Back to a key=value string libpq accepts, with `overrides` applied (e.g. dbname).
std::string to_conninfo(const ConnInfo& info, const std::map<std::string, std::string>& overrides = {});

// What libpq parses, printed back with every password and sslpassword value as ***:
// postgresql://user:***@host:5432/db?sslmode=require, or password=*** host=db for key=value strings. When
// libpq cannot parse it (or parses it only as an unencoded '@', '/', '?' in a password makes it), nothing
// after the scheme is printed: "postgresql://***".
std::string redact_url(std::string_view url);

// The environment of a PostgreSQL client tool (pg_dump, pg_restore, pg_dumpall): PATH, LANG=C.UTF-8 and
// libpq's own PG* connection variables from steward's environment (not PGPASSWORD), never anything else
// of steward's. backup::tool_connection adds the password, in a file.
std::map<std::string, std::string> tool_environment();

// Opens a connection with connect_timeout (seconds, at least 1) and application_name=steward.
// Throws pqxx::broken_connection with the password redacted from the message.
std::unique_ptr<pqxx::connection> connect(const std::string& url,
                                          std::chrono::seconds timeout = std::chrono::seconds(10));

// True when the server accepts connections (PQping).
bool ping(const std::string& url);

// Server major version, e.g. 15, from server_version_num.
int server_major_version(pqxx::connection& c);

// Advisory lock keys: stable 64-bit keys derived from the database name and a purpose.
std::int64_t migration_lock_key(std::string_view database, std::string_view table);
std::int64_t backup_lock_key(std::string_view database);

// Who holds an advisory lock: "pid 1234 user@host application (since ...)", or nullopt.
std::optional<std::string> advisory_lock_holder(pqxx::connection& c, std::int64_t key);

// Quotes an identifier for SQL text.
std::string quote_ident(std::string_view ident);

}  // namespace steward::pg
