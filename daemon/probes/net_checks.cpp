// http and tcp checks on Boost.Beast/Asio: one connection per run, one deadline for the whole run.
#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "daemon/probes/check_internal.hpp"

namespace steward::probes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxBody = 1 << 20;  // body_contains reads at most 1 MiB

struct Address {
    std::string host;  // without IPv6 brackets
    std::string port;
};

// Resolves `a` (numeric hosts without a resolver round trip), then connects `socket`; calls
// `next(error)` once.
template <class Handler>
void resolve_and_connect(const std::shared_ptr<void>& keep, tcp::resolver& resolver,
                         beast::tcp_stream& stream, const Address& a, Handler next) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(a.host, ec);
    bool numeric_port = !a.port.empty() && a.port.size() <= 5 &&
                        a.port.find_first_not_of("0123456789") == std::string::npos &&
                        std::stoi(a.port) <= 65535;
    // With nothing listening on a loopback port, the kernel may connect the socket to itself (TCP
    // simultaneous open): that is "refused", not "up".
    auto checked = [keep, &stream, next](boost::system::error_code e) {
        boost::system::error_code ignored;
        if (!e && stream.socket().local_endpoint(ignored) == stream.socket().remote_endpoint(ignored))
            e = asio::error::connection_refused;
        next(e);
    };
    if (!ec && numeric_port) {
        stream.async_connect(tcp::endpoint(ip, static_cast<unsigned short>(std::stoi(a.port))), checked);
        return;
    }
    resolver.async_resolve(
        a.host, a.port, [keep, &stream, next](boost::system::error_code e, tcp::resolver::results_type r) {
            if (e) return next(e);
            stream.async_connect(
                r, [keep, next](boost::system::error_code e2, const tcp::endpoint&) { next(e2); });
        });
}

std::string what_failed(const char* step, const boost::system::error_code& ec, bool timed_out) {
    if (timed_out) return fmt::format("timed out ({})", step);
    return fmt::format("{}: {}", step, ec.message());
}

// --- tcp ---------------------------------------------------------------------------------------------

class TcpAttempt : public Attempt {
  public:
    TcpAttempt(asio::io_context& io, Address a, CheckCallback done)
        : Attempt(std::move(done)), stream_(io), resolver_(io), address_(std::move(a)) {}

    void start(Duration timeout) {
        deadline_ = Clock::now() + timeout;
        stream_.expires_at(deadline_);
        auto self = std::static_pointer_cast<TcpAttempt>(shared_from_this());
        resolve_and_connect(self, resolver_, stream_, address_, [self](boost::system::error_code ec) {
            boost::system::error_code ignored;
            self->stream_.socket().close(ignored);
            if (ec) return self->finish(false, what_failed("connect", ec, Clock::now() >= self->deadline_));
            self->finish(true, {});
        });
    }
    void cancel() override {
        Attempt::cancel();
        resolver_.cancel();
        stream_.cancel();
    }

  private:
    beast::tcp_stream stream_;
    tcp::resolver resolver_;
    Address address_;
    Clock::time_point deadline_;
};

class TcpChecker : public Check {
  public:
    TcpChecker(asio::io_context& io, Address a) : io_(io), address_(std::move(a)) {}
    ~TcpChecker() override { cancel(); }
    void run(Duration timeout, CheckCallback done) override {
        auto a = std::make_shared<TcpAttempt>(io_, address_, std::move(done));
        current_ = a;
        a->start(timeout);
    }
    void cancel() override {
        if (auto a = current_.lock()) a->cancel();
    }

  private:
    asio::io_context& io_;
    Address address_;
    std::weak_ptr<Attempt> current_;
};

// --- http --------------------------------------------------------------------------------------------

struct HttpTarget {
    bool tls = false;
    Address address;
    std::string host_header;
    std::string resource;  // path?query
    HttpCheck spec;
};

template <bool Tls>
class HttpAttempt : public Attempt {
    using Stream = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  public:
    HttpAttempt(asio::io_context& io, asio::ssl::context* tls, std::shared_ptr<const HttpTarget> t,
                CheckCallback done)
        : Attempt(std::move(done)), stream_(make_stream(io, tls)), resolver_(io), target_(std::move(t)) {}

    void start(Duration timeout) {
        deadline_ = Clock::now() + timeout;
        layer().expires_at(deadline_);
        auto self = std::static_pointer_cast<HttpAttempt>(shared_from_this());
        resolve_and_connect(self, resolver_, layer(), target_->address,
                            [self](boost::system::error_code ec) { self->on_connect(ec); });
    }
    void cancel() override {
        Attempt::cancel();
        resolver_.cancel();
        layer().cancel();
    }

  private:
    static Stream make_stream(asio::io_context& io, asio::ssl::context* tls) {
        if constexpr (Tls)
            return Stream(io, *tls);
        else
            return Stream(io);
    }
    beast::tcp_stream& layer() { return beast::get_lowest_layer(stream_); }
    bool timed_out() const { return Clock::now() >= deadline_; }
    void fail(const char* step, boost::system::error_code ec) {
        boost::system::error_code ignored;
        layer().socket().close(ignored);
        finish(false, what_failed(step, ec, timed_out()));
    }

    void on_connect(boost::system::error_code ec) {
        if (ec) return fail("connect", ec);
        if constexpr (Tls) {
            if (!SSL_set_tlsext_host_name(stream_.native_handle(), target_->address.host.c_str()))
                return fail("tls", boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                                             asio::error::get_ssl_category()));
            stream_.set_verify_mode(asio::ssl::verify_peer);
            stream_.set_verify_callback(asio::ssl::host_name_verification(target_->address.host));
            auto self = std::static_pointer_cast<HttpAttempt>(shared_from_this());
            stream_.async_handshake(asio::ssl::stream_base::client, [self](boost::system::error_code e) {
                if (e) return self->fail("tls handshake", e);
                self->send();
            });
        } else {
            send();
        }
    }

    void send() {
        request_.version(11);
        request_.method_string(target_->spec.method);
        request_.target(target_->resource);
        request_.set(http::field::host, target_->host_header);
        request_.set(http::field::user_agent, "steward-probe");
        request_.set(http::field::connection, "close");
        for (const auto& [k, v] : target_->spec.headers) request_.set(k, v);
        auto self = std::static_pointer_cast<HttpAttempt>(shared_from_this());
        http::async_write(stream_, request_, [self](boost::system::error_code ec, std::size_t) {
            if (ec) return self->fail("send request", ec);
            self->read_header();
        });
    }

    void read_header() {
        parser_.body_limit(kMaxBody);
        auto self = std::static_pointer_cast<HttpAttempt>(shared_from_this());
        http::async_read_header(stream_, buffer_, parser_, [self](boost::system::error_code ec, std::size_t) {
            if (ec) return self->fail("read response", ec);
            if (!self->status_ok()) return self->done_reading();
            if (!self->target_->spec.body_contains || self->parser_.is_done()) return self->done_reading();
            http::async_read(self->stream_, self->buffer_, self->parser_,
                             [self](boost::system::error_code e, std::size_t) {
                                 if (e && e != http::error::end_of_stream) return self->fail("read body", e);
                                 self->done_reading();
                             });
        });
    }

    bool status_ok() const {
        int status = static_cast<int>(parser_.get().result_int());
        const auto& expect = target_->spec.expect_status;
        if (expect.empty()) return status >= 200 && status < 400;
        return std::find(expect.begin(), expect.end(), status) != expect.end();
    }

    void done_reading() {
        boost::system::error_code ignored;
        layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
        layer().socket().close(ignored);
        int status = static_cast<int>(parser_.get().result_int());
        if (!status_ok()) {
            const auto& expect = target_->spec.expect_status;
            std::string wanted = expect.empty() ? "200-399" : fmt::format("{}", fmt::join(expect, " or "));
            return finish(false, fmt::format("status {}, expected {}", status, wanted));
        }
        if (target_->spec.body_contains &&
            parser_.get().body().find(*target_->spec.body_contains) == std::string::npos)
            return finish(false,
                          fmt::format("status {}, but the body does not contain the expected text", status));
        finish(true, {});
    }

    Stream stream_;
    tcp::resolver resolver_;
    std::shared_ptr<const HttpTarget> target_;
    Clock::time_point deadline_;
    beast::flat_buffer buffer_;
    http::request<http::empty_body> request_;
    http::response_parser<http::string_body> parser_;
};

class HttpChecker : public Check {
  public:
    HttpChecker(asio::io_context& io, asio::ssl::context* tls, std::shared_ptr<const HttpTarget> t)
        : io_(io), tls_(tls), target_(std::move(t)) {}
    ~HttpChecker() override { cancel(); }

    void run(Duration timeout, CheckCallback done) override {
        if (target_->tls && !tls_) {
            done({false, "https is not available", 0});
            return;
        }
        if (target_->tls) {
            auto a = std::make_shared<HttpAttempt<true>>(io_, tls_, target_, std::move(done));
            current_ = a;
            a->start(timeout);
        } else {
            auto a = std::make_shared<HttpAttempt<false>>(io_, tls_, target_, std::move(done));
            current_ = a;
            a->start(timeout);
        }
    }
    void cancel() override {
        if (auto a = current_.lock()) a->cancel();
    }

  private:
    asio::io_context& io_;
    asio::ssl::context* tls_;
    std::shared_ptr<const HttpTarget> target_;
    std::weak_ptr<Attempt> current_;
};

std::shared_ptr<HttpTarget> parse_http_target(const HttpCheck& spec) {
    auto parsed = boost::urls::parse_uri(spec.url);
    if (!parsed) throw std::invalid_argument("invalid URL: " + parsed.error().message());
    auto t = std::make_shared<HttpTarget>();
    t->spec = spec;
    t->tls = parsed->scheme() == "https";
    t->address.host = parsed->host_address();
    if (t->address.host.empty()) throw std::invalid_argument("URL has no host");
    t->address.port = parsed->has_port() ? std::string(parsed->port()) : (t->tls ? "443" : "80");
    t->host_header = std::string(parsed->encoded_host_and_port());
    t->resource = std::string(parsed->encoded_target());
    if (t->resource.empty()) t->resource = "/";
    return t;
}

Address parse_tcp_address(const std::string& text) {
    auto colon = text.rfind(':');
    Address a{text.substr(0, colon), text.substr(colon + 1)};
    if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']')
        a.host = a.host.substr(1, a.host.size() - 2);
    if (a.host.empty()) a.host = "127.0.0.1";
    return a;
}

}  // namespace

std::unique_ptr<Check> make_http_check(const HttpCheck& spec, const CheckEnvironment& env) {
    return std::make_unique<HttpChecker>(env.io, env.tls, parse_http_target(spec));
}

std::unique_ptr<Check> make_tcp_check(const TcpCheck& spec, const CheckEnvironment& env) {
    return std::make_unique<TcpChecker>(env.io, parse_tcp_address(spec.address));
}

}  // namespace steward::probes
