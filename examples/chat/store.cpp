// ChatStore on libpqxx 6.4: one connection per worker thread, short timeouts, one retry after a break.
#include "store.hpp"

#include <memory>
#include <pqxx/pqxx>

namespace chat {
namespace {

// Bounds every query so a stuck database cannot hold a worker (and a client) forever.
constexpr const char* kSessionSetup = "SET statement_timeout = '5s'";
std::string rfc3339(const std::string& column) {
    return "to_char(" + column + R"( AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))";
}

std::unique_ptr<pqxx::connection> open(const std::string& url) {
    try {
        auto c = std::make_unique<pqxx::connection>(url);
        pqxx::nontransaction setup(*c);
        setup.exec(kSessionSetup);
        return c;
    } catch (const pqxx::broken_connection& e) {
        throw DatabaseUnavailable(e.what());
    }
}

// Runs `work` on this thread's connection, reconnecting once if the cached one had broken.
template <typename Work>
auto with_connection(const std::string& url, Work&& work) {
    thread_local std::unique_ptr<pqxx::connection> conn;
    for (int attempt = 0;; ++attempt) {
        if (!conn || !conn->is_open()) conn = open(url);
        try {
            return work(*conn);
        } catch (const pqxx::in_doubt_error& e) {
            conn.reset();  // the commit's fate is unknown: never repeat it
            throw DatabaseUnavailable(e.what());
        } catch (const pqxx::broken_connection& e) {
            conn.reset();
            if (attempt > 0) throw DatabaseUnavailable(e.what());
        }
    }
}

StoredMessage message_from(const pqxx::row& row) {
    return {row[0].as<long long>(), row[1].as<std::string>(), row[2].as<std::string>(),
            row[3].as<std::string>()};
}

}  // namespace

void ChatStore::ping() const {
    auto c = open(url_);
    try {
        pqxx::nontransaction t(*c);
        t.exec("SELECT 1");
    } catch (const pqxx::broken_connection& e) {
        throw DatabaseUnavailable(e.what());
    }
}

StoredExchange ChatStore::add_exchange(const std::string& subject, const std::string& message,
                                       const std::string& reply) const {
    return with_connection(url_, [&](pqxx::connection& c) {
        pqxx::work t(c);
        // DO UPDATE (not DO NOTHING) so RETURNING yields the id of an existing user too.
        auto user = t.exec_params1(
                         "INSERT INTO users (subject) VALUES ($1) "
                         "ON CONFLICT (subject) DO UPDATE SET subject = EXCLUDED.subject RETURNING id",
                         subject)[0]
                        .as<long long>();
        auto found =
            t.exec_params("SELECT id FROM conversations WHERE user_id = $1 ORDER BY id DESC LIMIT 1", user);
        long long conversation = found.empty() ? t.exec_params1(
                                                      "INSERT INTO conversations (user_id, title) "
                                                      "VALUES ($1, left($2, 80)) RETURNING id",
                                                      user, message)[0]
                                                     .as<long long>()
                                               : found[0][0].as<long long>();
        const std::string insert = std::string(
                                       "INSERT INTO messages (conversation_id, role, content) "
                                       "VALUES ($1, $2, $3) RETURNING id, role, content, ") +
                                   rfc3339("created_at");
        StoredExchange e;
        e.conversation_id = conversation;
        e.message = message_from(t.exec_params1(insert, conversation, "user", message));
        e.reply = message_from(t.exec_params1(insert, conversation, "assistant", reply));
        t.commit();
        return e;
    });
}

std::vector<StoredMessage> ChatStore::history(const std::string& subject, int limit) const {
    return with_connection(url_, [&](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        auto rows = t.exec_params(
            "SELECT * FROM (SELECT m.id, m.role, m.content, " + rfc3339("m.created_at") +
                " FROM messages m "
                "JOIN conversations c ON c.id = m.conversation_id JOIN users u ON u.id = c.user_id "
                "WHERE u.subject = $1 ORDER BY m.id DESC LIMIT $2) newest ORDER BY id",
            subject, limit);
        std::vector<StoredMessage> out;
        out.reserve(rows.size());
        for (const auto& row : rows) out.push_back(message_from(row));
        return out;
    });
}

}  // namespace chat
