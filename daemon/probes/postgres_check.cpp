// The postgres check: libpq's asynchronous API on the loop, one kept connection per probe, reconnecting.
#include <fmt/format.h>
#include <libpq-fe.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/pg.hpp"
#include "core/secret.hpp"
#include "daemon/probes/check_internal.hpp"

namespace steward::probes {
namespace {

namespace asio = boost::asio;

std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return redact(std::move(text));
}

// Owns the connection; lives as long as the checker (and any callback still in flight).
class PgSession : public std::enable_shared_from_this<PgSession> {
  public:
    PgSession(asio::io_context& io, std::string conninfo, std::string query)
        : io_(io), timer_(io), conninfo_(std::move(conninfo)), query_(std::move(query)) {}
    ~PgSession() { drop(); }

    void run(Duration timeout, CheckCallback done) {
        ++generation_;
        done_ = std::move(done);
        start_ = std::chrono::steady_clock::now();
        timer_.expires_after(timeout);
        auto self = shared_from_this();
        auto gen = generation_;
        timer_.async_wait([self, gen, timeout](boost::system::error_code ec) {
            if (ec || gen != self->generation_ || !self->done_) return;
            self->drop();  // a hung server: start over with a new connection next time
            self->finish(false, fmt::format("timed out after {}", format_duration(timeout)));
        });
        if (conn_ && PQstatus(conn_) == CONNECTION_OK)
            send();
        else
            connect();
    }

    void cancel() {
        ++generation_;
        done_ = nullptr;
        timer_.cancel();
        drop();
    }

  private:
    void finish(bool ok, std::string error) {
        if (!done_) return;
        timer_.cancel();
        auto done = std::move(done_);
        done_ = nullptr;
        done(CheckResult{ok, std::move(error),
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count()});
    }

    void fail(const std::string& what) {
        std::string why = conn_ ? one_line(PQerrorMessage(conn_)) : std::string();
        drop();
        finish(false, why.empty() ? what : what + ": " + why);
    }

    // Forgets the socket without closing it (libpq owns it), then closes the connection.
    void drop() {
        if (socket_) {
            boost::system::error_code ec;
            socket_->cancel(ec);
            socket_->release();
            socket_.reset();
        }
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
    }

    // libpq may switch sockets while connecting (several hosts): follow it.
    bool track_socket() {
        int fd = PQsocket(conn_);
        if (fd < 0) return false;
        if (socket_ && socket_->native_handle() == fd) return true;
        if (socket_) socket_->release();
        socket_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
        return true;
    }

    template <class Next>
    void wait(asio::posix::stream_descriptor::wait_type type, Next next) {
        auto self = shared_from_this();
        auto gen = generation_;
        socket_->async_wait(type, [self, gen, next](boost::system::error_code ec) {
            if (gen != self->generation_ || !self->done_) return;
            if (ec) return self->fail("socket");
            next();
        });
    }

    void connect() {
        drop();
        conn_ = PQconnectStart(conninfo_.c_str());
        if (!conn_) return finish(false, "cannot allocate a connection");
        if (PQstatus(conn_) == CONNECTION_BAD) return fail("connect");
        PQsetnonblocking(conn_, 1);
        poll_connect(PGRES_POLLING_WRITING);
    }

    void poll_connect(PostgresPollingStatusType status) {
        if (status == PGRES_POLLING_FAILED) return fail("connect");
        if (status == PGRES_POLLING_OK) return send();
        if (!track_socket()) return fail("connect");
        auto type = status == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                    : asio::posix::stream_descriptor::wait_write;
        wait(type, [this] { poll_connect(PQconnectPoll(conn_)); });
    }

    void send() {
        if (!PQsendQuery(conn_, query_.c_str())) return fail("query");
        flush();
    }

    void flush() {
        int r = PQflush(conn_);
        if (r < 0) return fail("query");
        if (!track_socket()) return fail("query");
        if (r == 1) return wait(asio::posix::stream_descriptor::wait_write, [this] { flush(); });
        wait(asio::posix::stream_descriptor::wait_read, [this] { receive(); });
    }

    void receive() {
        if (!PQconsumeInput(conn_)) return fail("query");
        if (PQisBusy(conn_)) return wait(asio::posix::stream_descriptor::wait_read, [this] { receive(); });
        std::string error;
        while (PGresult* r = PQgetResult(conn_)) {
            auto st = PQresultStatus(r);
            if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && error.empty())
                error = one_line(PQresultErrorMessage(r));
            PQclear(r);
        }
        if (PQstatus(conn_) != CONNECTION_OK) return fail("query");
        if (!error.empty()) return finish(false, "query failed: " + error);
        finish(true, {});
    }

    asio::io_context& io_;
    asio::steady_timer timer_;
    std::string conninfo_;
    std::string query_;
    PGconn* conn_ = nullptr;
    std::unique_ptr<asio::posix::stream_descriptor> socket_;
    CheckCallback done_;
    std::chrono::steady_clock::time_point start_;
    std::uint64_t generation_ = 0;
};

class PostgresChecker : public Check {
  public:
    explicit PostgresChecker(std::shared_ptr<PgSession> s) : session_(std::move(s)) {}
    ~PostgresChecker() override { session_->cancel(); }
    void run(Duration timeout, CheckCallback done) override { session_->run(timeout, std::move(done)); }
    void cancel() override { session_->cancel(); }

  private:
    std::shared_ptr<PgSession> session_;
};

}  // namespace

std::unique_ptr<Check> make_postgres_check(const PostgresCheck& spec, const CheckEnvironment& env) {
    if (env.database_url.empty()) throw std::invalid_argument("postgres check: no database URL");
    pg::ConnInfo info = pg::parse_conninfo(env.database_url);
    if (info.get("application_name").empty()) info.params["application_name"] = "steward-probe";
    return std::make_unique<PostgresChecker>(
        std::make_shared<PgSession>(env.io, pg::to_conninfo(info), spec.query));
}

}  // namespace steward::probes
