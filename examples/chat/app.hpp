// The chat API's routes: request in, reply out; database work runs on a worker pool.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <string>

#include "config.hpp"
#include "store.hpp"

namespace chat {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Reply {
    Response response;
    std::string note;  // key=value fields for the request's log line (never a token or key)
};
using Respond = std::function<void(Reply)>;

// Builds a JSON error reply: {"error": message}.
Reply error_reply(http::status status, const std::string& message, std::string note = {});

class ChatApp {
  public:
    ChatApp(Config config, boost::asio::io_context& loop, boost::asio::thread_pool& pool);

    // Answers `request`; `respond` runs exactly once, on the loop's thread. The reply's version
    // and keep-alive are left to the caller.
    void handle(const Request& request, Respond respond);

  private:
    struct Route;
    struct Caller {
        bool ok = false;
        std::string subject;
        Reply refusal;  // when !ok
    };

    Caller authenticate(const Request& request) const;
    void health(Respond respond);
    void post_chat(const Request& request, const Caller& caller, Respond respond);
    void get_history(const Request& request, const Caller& caller, Respond respond);
    Reply preflight(const Request& request, const Route& route) const;
    std::string allowed_origin(const Request& request) const;  // "" when not allowed
    // Runs `work` (returning a Reply) on the pool and hands its reply back to the loop.
    void offload(Respond respond, std::function<Reply()> work);

    Config config_;
    ChatStore store_;
    boost::asio::io_context& loop_;
    boost::asio::thread_pool& pool_;
};

}  // namespace chat
