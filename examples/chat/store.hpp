// The chat API's PostgreSQL access: users by token subject, conversations, messages.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace chat {

struct StoredMessage {
    long long id = 0;
    std::string role;  // user | assistant
    std::string content;
    std::string created_at;  // RFC 3339, UTC
};

struct StoredExchange {
    long long conversation_id = 0;
    StoredMessage message;
    StoredMessage reply;
};

// The database could not be reached or the connection broke; the request may be retried later.
struct DatabaseUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Blocking calls: run them on worker threads, never on the event loop. Each worker thread keeps
// its own connection, reopened after it breaks. Other database errors throw std::exception.
class ChatStore {
  public:
    explicit ChatStore(std::string url) : url_(std::move(url)) {}

    // Opens a fresh connection and runs SELECT 1; throws DatabaseUnavailable when it cannot.
    void ping() const;

    // Stores the user's message and the reply in the user's conversation, in one transaction.
    StoredExchange add_exchange(const std::string& subject, const std::string& message,
                                const std::string& reply) const;

    // The user's newest `limit` messages, oldest first.
    std::vector<StoredMessage> history(const std::string& subject, int limit) const;

  private:
    std::string url_;
};

}  // namespace chat
