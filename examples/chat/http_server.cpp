// Connections of the chat API: read one request within limits, hand it to ChatApp, write, repeat.
#include "http_server.hpp"

#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "log.hpp"

namespace chat {
namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerBytes = 1024 * 1024;

bool is_http_parse_error(const beast::error_code& ec) {
    return ec.category() == beast::http::make_error_code(beast::http::error::bad_target).category();
}

}  // namespace

// One client connection. Lives as long as an operation on it is pending.
class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket socket, HttpServer& server) : stream_(std::move(socket)), server_(server) {
        beast::error_code ec;
        auto peer = stream_.socket().remote_endpoint(ec);
        peer_ = ec ? "-" : peer.address().to_string() + ":" + std::to_string(peer.port());
    }

    void start() { read_header(); }

    // Shutdown: an idle or reading connection closes now, a busy one after its reply.
    void stop() {
        stopping_ = true;
        if (state_ == State::reading || state_ == State::lingering) stream_.cancel();
    }

  private:
    enum class State { reading, handling, writing, lingering, closed };

    void read_header() {
        if (stopping_) return close();
        state_ = State::reading;
        method_ = "-";
        path_ = "-";
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(server_.limits_.header_bytes));
        parser_->body_limit(server_.limits_.body_bytes);
        stream_.expires_after(server_.limits_.read_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                beast::bind_front_handler(&Session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (!ec || ec == http::error::body_limit) {
            const auto& req = parser_->get();
            started_ = std::chrono::steady_clock::now();
            method_ = std::string(req.method_string());
            std::string_view target = req.target();
            path_ = std::string(target.substr(0, target.find('?')));  // a query may carry secrets
        }
        if (ec) return on_read_error(ec);
        // curl and others wait for "100 Continue" before sending a larger body.
        if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
            interim_.emplace(http::status::continue_, parser_->get().version());
            return http::async_write(stream_, *interim_,
                                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                         if (ec) return self->close();
                                         self->read_body();
                                     });
        }
        read_body();
    }

    void read_body() {
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&Session::on_body, shared_from_this()));
    }

    void on_body(beast::error_code ec, std::size_t) {
        if (ec) return on_read_error(ec);
        stream_.expires_never();  // the database has its own timeouts
        request_ = parser_->release();
        state_ = State::handling;
        server_.app_.handle(
            request_, [self = shared_from_this()](Reply reply) { self->send(std::move(reply), false); });
    }

    void on_read_error(const beast::error_code& ec) {
        if (method_ == "-") started_ = std::chrono::steady_clock::now();  // no header: nothing timed yet
        if (ec == http::error::body_limit)
            return send(error_reply(http::status::payload_too_large,
                                    "request body too large (limit " +
                                        std::to_string(server_.limits_.body_bytes) + " bytes)"),
                        true);
        if (ec == http::error::header_limit)
            return send(
                error_reply(http::status::request_header_fields_too_large, "request header too large"), true);
        if (ec != http::error::end_of_stream && ec != http::error::partial_message && is_http_parse_error(ec))
            return send(error_reply(http::status::bad_request, "malformed HTTP request"), true);
        close();  // end of stream, timeout, cancellation, reset
    }

    // `unread` means the request was not read to its end: close, after lingering to drain it.
    void send(Reply reply, bool unread) {
        if (state_ == State::closed) return;
        state_ = State::writing;
        unsigned version = request_.version() ? request_.version() : 11;
        bool keep = !unread && !stopping_ && request_.keep_alive();
        response_ = std::move(reply.response);
        note_ = std::move(reply.note);
        response_.version(version);
        response_.keep_alive(keep);
        response_.prepare_payload();
        if (response_.result() == http::status::no_content)
            response_.erase(http::field::content_length);  // RFC 9110: never on a 204
        log_request();
        stream_.expires_after(server_.limits_.write_timeout);
        http::async_write(stream_, response_,
                          [self = shared_from_this(), keep, unread](beast::error_code ec, std::size_t) {
                              self->on_write(ec, keep, unread);
                          });
    }

    // Logged before the reply is written, so a client that got the reply finds the line.
    void log_request() {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                        started_);
        std::string line = "request method=" + method_ + " path=" + path_ +
                           " status=" + std::to_string(response_.result_int()) +
                           " duration_ms=" + std::to_string(ms.count()) + " peer=" + peer_;
        if (!note_.empty()) line += " " + note_;
        log_info(line);
    }

    void on_write(beast::error_code ec, bool keep, bool unread) {
        request_ = {};
        if (ec) {
            log_error("writing the reply to " + peer_ + " failed: " + ec.message());
            return close();
        }
        if (unread) return linger();
        if (!keep) {
            stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
            return close();
        }
        read_header();
    }

    // Like nginx's lingering close: closing with unread input would reset the connection and
    // could destroy the error reply before the client reads it.
    void linger() {
        state_ = State::lingering;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.expires_after(kLingerTime);
        drain();
    }

    void drain() {
        stream_.async_read_some(asio::buffer(discard_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->drained_ += n;
                                    if (ec || self->drained_ > kLingerBytes) return self->close();
                                    self->drain();
                                });
    }

    void close() {
        if (state_ == State::closed) return;
        state_ = State::closed;
        beast::error_code ec;
        stream_.socket().close(ec);
        server_.closed(this);
    }

    beast::tcp_stream stream_;
    HttpServer& server_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<http::response<http::empty_body>> interim_;
    Request request_;
    Response response_;
    std::string note_;
    std::string peer_, method_ = "-", path_ = "-";
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    State state_ = State::reading;
    bool stopping_ = false;
    std::array<char, 16 * 1024> discard_{};
    std::size_t drained_ = 0;
};

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& at, ChatApp& app, ServerLimits limits)
    : io_(io), acceptor_(io), retry_(io), app_(app), limits_(limits) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void HttpServer::start() { accept(); }

void HttpServer::accept() {
    acceptor_.async_accept(io_, [this](beast::error_code ec, tcp::socket socket) {
        if (stopping_) return;
        if (ec) {
            // Out of file descriptors, for instance: try again shortly instead of spinning.
            log_error("accept failed: " + ec.message());
            retry_.expires_after(std::chrono::milliseconds(100));
            return retry_.async_wait([this](beast::error_code ec) {
                if (!ec && !stopping_) accept();
            });
        }
        if (sessions_.size() >= limits_.max_connections) {
            if (!limit_logged_)  // once per episode, so a flood cannot flood the log too
                log_error("connection limit reached (" + std::to_string(limits_.max_connections) +
                          "): closing new connections until others close");
            limit_logged_ = true;
            socket.close(ec);
        } else {
            auto session = std::make_shared<Session>(std::move(socket), *this);
            sessions_.emplace(session.get(), session);
            session->start();
        }
        accept();
    });
}

void HttpServer::stop(std::function<void()> drained) {
    stopping_ = true;
    drained_ = std::move(drained);
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
    auto sessions = sessions_;  // stop() never closes synchronously, but keep iteration safe
    for (auto& [raw, weak] : sessions)
        if (auto s = weak.lock()) s->stop();
    check_drained();
}

void HttpServer::closed(Session* session) {
    sessions_.erase(session);
    limit_logged_ = false;
    check_drained();
}

void HttpServer::check_drained() {
    if (!stopping_ || !sessions_.empty() || !drained_) return;
    auto drained = std::move(drained_);
    drained_ = nullptr;
    drained();
}

}  // namespace chat
