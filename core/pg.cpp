// PostgreSQL connection helpers: conninfo parsing, redaction, connecting, advisory lock keys.
#include "core/pg.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <pqxx/pqxx>
#include <stdexcept>
#include <vector>

#include "core/secret.hpp"

namespace steward::pg {

std::string ConnInfo::get(const std::string& key, const std::string& fallback) const {
    auto it = params.find(key);
    return it == params.end() || it->second.empty() ? fallback : it->second;
}

std::string ConnInfo::host() const {
    std::string h = get("host");
    if (h.empty()) h = get("hostaddr");
    return h;
}

std::string ConnInfo::dbname() const {
    std::string d = get("dbname");
    return d.empty() ? get("user") : d;
}

bool ConnInfo::is_loopback() const {
    std::string h = host();
    if (h.empty() || h[0] == '/') return true;  // unix socket
    // Several hosts: loopback only if every one is.
    std::size_t start = 0;
    while (start <= h.size()) {
        auto end = h.find(',', start);
        if (end == std::string::npos) end = h.size();
        std::string one = h.substr(start, end - start);
        bool lo = one == "localhost" || one == "::1" || one == "[::1]" || one.rfind("127.", 0) == 0 ||
                  (!one.empty() && one[0] == '/');
        if (!lo) return false;
        start = end + 1;
    }
    return true;
}

ConnInfo parse_conninfo(const std::string& url) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
    if (!opts) {
        std::string msg = err ? err : "invalid connection string";
        if (err) PQfreemem(err);
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        // libpq quotes the piece it could not parse, which may be part of the password.
        throw std::invalid_argument(redact(safe_parse_error(url, msg)));
    }
    ConnInfo info;
    for (auto* o = opts; o->keyword; ++o)
        if (o->val) info.params[o->keyword] = o->val;
    PQconninfoFree(opts);
    return info;
}

static std::string quote_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string to_conninfo(const ConnInfo& info, const std::map<std::string, std::string>& overrides) {
    auto params = info.params;
    for (auto& [k, v] : overrides) params[k] = v;
    std::string out;
    for (auto& [k, v] : params) {
        if (v.empty()) continue;
        if (!out.empty()) out += ' ';
        out += k + "=" + quote_value(v);
    }
    return out;
}

std::unique_ptr<pqxx::connection> connect(const std::string& url, std::chrono::seconds timeout) {
    ConnInfo info = parse_conninfo(url);
    std::map<std::string, std::string> extra;
    if (info.get("connect_timeout").empty())
        extra["connect_timeout"] = std::to_string(std::max<long long>(1, timeout.count()));
    if (info.get("application_name").empty()) extra["application_name"] = "steward";
    try {
        return std::make_unique<pqxx::connection>(to_conninfo(info, extra));
    } catch (const pqxx::broken_connection& e) {
        std::string msg = e.what();
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        // libpq quotes a host name it cannot resolve, which an unencoded '@' makes a piece of the password.
        throw pqxx::broken_connection(
            fmt::format("cannot connect to {}: {}", redact_url(url), scrub_error(url, msg)));
    }
}

bool ping(const std::string& url) {
    ConnInfo info;
    try {
        info = parse_conninfo(url);
    } catch (const std::invalid_argument&) {
        return false;
    }
    std::map<std::string, std::string> extra{{"connect_timeout", "2"}};
    return PQping(to_conninfo(info, extra).c_str()) == PQPING_OK;
}

std::map<std::string, std::string> tool_environment() {
    // libpq's documented connection variables: a tool connects as steward's own libpq would. Not
    // PGPASSWORD: a child's environment is readable in /proc (backup::tool_connection passes it on in a file).
    static const std::string libpq_vars =
        "PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSFILE PGCHANNELBINDING PGSERVICE "
        "PGSERVICEFILE PGOPTIONS PGAPPNAME PGSSLMODE PGREQUIRESSL PGSSLCOMPRESSION PGSSLCERT PGSSLKEY "
        "PGSSLROOTCERT PGSSLCRL PGSSLCRLDIR PGSSLSNI PGREQUIREPEER PGSSLMINPROTOCOLVERSION "
        "PGSSLMAXPROTOCOLVERSION PGGSSENCMODE PGKRBSRVNAME PGGSSLIB PGCONNECT_TIMEOUT PGCLIENTENCODING "
        "PGTARGETSESSIONATTRS PGDATESTYLE PGTZ PGGEQO PGSYSCONFDIR";
    std::map<std::string, std::string> env;
    // steward's PATH found the tool; pg_dumpall finds pg_dump through it too.
    const char* path = std::getenv("PATH");
    env["PATH"] = path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    env["LANG"] = "C.UTF-8";
    for (std::size_t start = 0; start < libpq_vars.size();) {
        auto end = libpq_vars.find(' ', start);
        if (end == std::string::npos) end = libpq_vars.size();
        std::string name = libpq_vars.substr(start, end - start);
        if (const char* v = std::getenv(name.c_str())) env[name] = v;
        start = end + 1;
    }
    return env;
}

int server_major_version(pqxx::connection& c) { return c.server_version() / 10000; }

static std::int64_t key_from(std::string_view text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | md[i];
    return static_cast<std::int64_t>(v);
}

std::int64_t migration_lock_key(std::string_view database, std::string_view table) {
    // "public.steward_migrations" and "steward_migrations" may name one table: one key for both
    // (two tables of one name in two schemas then share a lock, which only serialises them).
    if (auto dot = table.rfind('.'); dot != std::string_view::npos) table.remove_prefix(dot + 1);
    return key_from(fmt::format("steward:migrate:{}:{}", database, table));
}

std::int64_t backup_lock_key(std::string_view database) {
    return key_from(fmt::format("steward:backup:{}", database));
}

std::optional<std::string> advisory_lock_holder(pqxx::connection& c, std::int64_t key) {
    // A bigint advisory key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
    auto u = static_cast<std::uint64_t>(key);
    pqxx::nontransaction tx(c);
    auto r = tx.exec_params(
        "SELECT a.pid, coalesce(a.usename, ''), coalesce(host(a.client_addr), 'local'), "
        "coalesce(a.application_name, ''), "
        "coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS'), '') "
        "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::bigint::oid AND l.objid = "
        "$2::bigint::oid AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1",
        static_cast<long long>(u >> 32), static_cast<long long>(u & 0xffffffffu));
    if (r.empty()) return std::nullopt;
    return fmt::format("pid {} ({}@{}, application '{}', connected since {})", r[0][0].c_str(),
                       r[0][1].c_str(), r[0][2].c_str(), r[0][3].c_str(), r[0][4].c_str());
}

std::string quote_ident(std::string_view ident) {
    std::string out = "\"";
    for (char c : ident) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace steward::pg
