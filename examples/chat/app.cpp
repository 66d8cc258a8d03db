// Routes of the chat API: /health, POST /api/chat, GET /api/history, CORS preflight, JSON errors.
#include "app.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <chrono>

#include "log.hpp"
#include "token.hpp"

namespace chat {
namespace json = boost::json;

struct ChatApp::Route {
    std::string_view path;
    http::verb method;
    std::string_view allow;  // the Allow header of a 405
};

namespace {

constexpr int kDefaultHistory = 50;
constexpr int kMaxHistory = 200;
constexpr std::string_view kAnonymous = "anonymous";

Reply json_reply(http::status status, const json::value& body, std::string note = {}) {
    Response r{status, 11};
    r.set(http::field::content_type, "application/json");
    r.set(http::field::cache_control, "no-store");
    r.set("X-Content-Type-Options", "nosniff");
    r.body() = json::serialize(body);
    return {std::move(r), std::move(note)};
}

json::object to_json(const StoredMessage& m) {
    return {{"id", m.id}, {"role", m.role}, {"content", m.content}, {"created_at", m.created_at}};
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool is_json_content_type(std::string_view value) {
    auto media = value.substr(0, value.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    constexpr std::string_view want = "application/json";
    if (media.size() != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(media[i])) != want[i]) return false;
    return true;
}

// The reply to a database failure: 503 when it is unreachable, 500 for anything else.
Reply database_failure(const char* what, const std::exception& e) {
    bool unavailable = dynamic_cast<const DatabaseUnavailable*>(&e) != nullptr;
    log_error(std::string(what) + ": " + e.what());
    return unavailable
               ? error_reply(http::status::service_unavailable, "database unavailable", "db=unavailable")
               : error_reply(http::status::internal_server_error, "internal error", "db=error");
}

}  // namespace

Reply error_reply(http::status status, const std::string& message, std::string note) {
    return json_reply(status, json::object{{"error", message}}, std::move(note));
}

ChatApp::ChatApp(Config config, boost::asio::io_context& loop, boost::asio::thread_pool& pool)
    : config_(std::move(config)), store_(config_.database_url), loop_(loop), pool_(pool) {}

void ChatApp::handle(const Request& request, Respond respond) {
    static const Route routes[] = {
        {"/health", http::verb::get, "GET, OPTIONS"},
        {"/api/chat", http::verb::post, "POST, OPTIONS"},
        {"/api/history", http::verb::get, "GET, OPTIONS"},
    };
    std::string_view target = request.target();
    auto path = target.substr(0, target.find('?'));
    const Route* route = nullptr;
    for (const auto& r : routes)
        if (r.path == path) route = &r;

    // Every reply, success or error, carries the CORS answer for its origin.
    auto origin = allowed_origin(request);
    auto finish = [respond = std::move(respond), origin](Reply reply) {
        reply.response.set(http::field::vary, "Origin");
        if (!origin.empty()) reply.response.set(http::field::access_control_allow_origin, origin);
        respond(std::move(reply));
    };

    if (!route) return finish(error_reply(http::status::not_found, "no such route"));
    if (request.method() == http::verb::options) return finish(preflight(request, *route));
    if (request.method() != route->method) {
        auto reply = error_reply(http::status::method_not_allowed, "method not allowed");
        reply.response.set(http::field::allow, route->allow);
        return finish(std::move(reply));
    }
    if (route->path == "/health") return health(std::move(finish));

    auto caller = authenticate(request);
    if (!caller.ok) return finish(std::move(caller.refusal));
    if (route->path == "/api/chat") return post_chat(request, caller, std::move(finish));
    return get_history(request, caller, std::move(finish));
}

std::string ChatApp::allowed_origin(const Request& request) const {
    auto it = request.find(http::field::origin);
    if (it == request.end()) return {};
    std::string_view origin = it->value();
    for (const auto& allowed : config_.cors_origins) {
        if (allowed == "*") return "*";
        if (allowed == origin) return std::string(origin);
    }
    return {};
}

Reply ChatApp::preflight(const Request& request, const Route& route) const {
    if (request.find(http::field::origin) == request.end()) {
        Reply reply{Response{http::status::no_content, 11}, {}};
        reply.response.set(http::field::allow, route.allow);
        return reply;
    }
    auto origin = allowed_origin(request);
    std::string_view wanted = request[http::field::access_control_request_method];
    if (origin.empty()) return error_reply(http::status::forbidden, "origin not allowed", "cors=refused");
    if (wanted != http::to_string(route.method))
        return error_reply(http::status::forbidden, "method not allowed for this route", "cors=refused");
    Reply reply{Response{http::status::no_content, 11}, "cors=preflight"};
    reply.response.set(http::field::access_control_allow_methods, route.allow);
    reply.response.set(http::field::access_control_allow_headers, "Authorization, Content-Type");
    reply.response.set(http::field::access_control_max_age, "600");
    return reply;
}

ChatApp::Caller ChatApp::authenticate(const Request& request) const {
    auto header = request.find(http::field::authorization);
    if (header == request.end()) {
        if (!config_.require_auth) return {true, std::string(kAnonymous), {}};
        auto refusal = error_reply(http::status::unauthorized, "missing bearer token", "auth=missing");
        refusal.response.set(http::field::www_authenticate, "Bearer");
        return {false, {}, std::move(refusal)};
    }
    // A token that is present is always checked, even when auth is optional.
    auto token = bearer_token(header->value());
    auto check = token ? verify_token(*token, config_.jwt_secret, unix_now())
                       : TokenCheck{false, {}, "not a bearer authorization"};
    if (check.ok) return {true, std::move(check.subject), {}};
    auto refusal = error_reply(http::status::unauthorized, "invalid or expired token",
                               "auth=rejected reason=\"" + check.error + "\"");
    refusal.response.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
    return {false, {}, std::move(refusal)};
}

void ChatApp::health(Respond respond) {
    offload(std::move(respond), [this] {
        try {
            store_.ping();
            return json_reply(http::status::ok, json::object{{"status", "ok"}});
        } catch (const DatabaseUnavailable& e) {
            log_error(std::string("health: database unreachable: ") + e.what());
            return json_reply(http::status::service_unavailable,
                              json::object{{"status", "unavailable"}, {"error", "database unreachable"}},
                              "db=unavailable");
        } catch (const std::exception& e) {
            log_error(std::string("health: database query failed: ") + e.what());
            return json_reply(http::status::service_unavailable,
                              json::object{{"status", "unavailable"}, {"error", "database query failed"}},
                              "db=error");
        }
    });
}

void ChatApp::post_chat(const Request& request, const Caller& caller, Respond respond) {
    auto note = "user=\"" + caller.subject + "\"";
    if (!is_json_content_type(request[http::field::content_type]))
        return respond(
            error_reply(http::status::unsupported_media_type, "Content-Type must be application/json", note));
    boost::system::error_code ec;
    auto body = json::parse(request.body(), ec);
    if (ec) return respond(error_reply(http::status::bad_request, "request body is not valid JSON", note));
    const json::value* field = body.is_object() ? body.get_object().if_contains("message") : nullptr;
    if (!field || !field->is_string())
        return respond(error_reply(http::status::bad_request,
                                   "body must be a JSON object with a string \"message\"", note));
    std::string message(field->get_string());
    if (message.find_first_not_of(" \t\r\n") == std::string::npos)
        return respond(error_reply(http::status::bad_request, "message must not be empty", note));
    if (message.find('\0') != std::string::npos)  // PostgreSQL text cannot hold NUL
        return respond(
            error_reply(http::status::bad_request, "message must not contain NUL characters", note));

    offload(std::move(respond), [this, subject = caller.subject, message = std::move(message), note] {
        try {
            auto e = store_.add_exchange(subject, message, "echo: " + message);
            return json_reply(http::status::ok,
                              json::object{{"user", subject},
                                           {"conversation_id", e.conversation_id},
                                           {"message", to_json(e.message)},
                                           {"reply", to_json(e.reply)}},
                              note);
        } catch (const std::exception& e) {
            return database_failure("chat: storing the exchange failed", e);
        }
    });
}

void ChatApp::get_history(const Request& request, const Caller& caller, Respond respond) {
    auto note = "user=\"" + caller.subject + "\"";
    int limit = kDefaultHistory;
    auto url = boost::urls::parse_origin_form(request.target());
    if (!url) return respond(error_reply(http::status::bad_request, "malformed request target", note));
    for (auto param : url->params()) {
        if (param.key != "limit") continue;
        const auto& v = param.value;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
        if (v.empty() || ec != std::errc() || end != v.data() + v.size() || limit < 1 || limit > kMaxHistory)
            return respond(error_reply(http::status::bad_request,
                                       "limit must be a number from 1 to " + std::to_string(kMaxHistory),
                                       note));
    }
    offload(std::move(respond), [this, subject = caller.subject, limit, note] {
        try {
            json::array messages;
            for (const auto& m : store_.history(subject, limit)) messages.push_back(to_json(m));
            return json_reply(http::status::ok,
                              json::object{{"user", subject}, {"messages", std::move(messages)}}, note);
        } catch (const std::exception& e) {
            return database_failure("history: reading messages failed", e);
        }
    });
}

void ChatApp::offload(Respond respond, std::function<Reply()> work) {
    // The guard keeps the loop running until the reply is back, even while it is shutting down.
    boost::asio::post(pool_, [&loop = loop_, guard = boost::asio::make_work_guard(loop_),
                              respond = std::move(respond), work = std::move(work)]() mutable {
        auto reply = work();
        boost::asio::post(loop, [respond = std::move(respond), reply = std::move(reply)]() mutable {
            respond(std::move(reply));
        });
    });
}

}  // namespace chat
