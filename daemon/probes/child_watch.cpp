// pidfd exit watches and line-by-line pipe readers on the loop.
#include "daemon/probes/child_watch.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace steward::probes {

namespace {
int open_pidfd(pid_t pid) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "pidfd_open");
    return fd;
}
}  // namespace

ExitWatch::ExitWatch(boost::asio::io_context& io, pid_t pid)
    : fd_(io, open_pidfd(pid)), alive_(std::make_shared<bool>(true)) {}

ExitWatch::~ExitWatch() {
    *alive_ = false;
    boost::system::error_code ec;
    fd_.cancel(ec);
}

void ExitWatch::async_wait(std::function<void()> on_exit) {
    std::weak_ptr<bool> alive = alive_;
    fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [alive, on_exit = std::move(on_exit)](boost::system::error_code ec) {
                       auto a = alive.lock();
                       if (!a || !*a || ec == boost::asio::error::operation_aborted) return;
                       on_exit();
                   });
}

std::shared_ptr<LineReader> LineReader::start(boost::asio::io_context& io, int fd, std::size_t max_line,
                                              OnLine on_line, std::function<void()> on_eof) {
    auto r = std::make_shared<LineReader>(io, fd, max_line, std::move(on_line), std::move(on_eof));
    r->read();
    return r;
}

LineReader::LineReader(boost::asio::io_context& io, int fd, std::size_t max_line, OnLine on_line,
                       std::function<void()> on_eof)
    : fd_(io, fd), max_line_(max_line), on_line_(std::move(on_line)), on_eof_(std::move(on_eof)) {}

void LineReader::stop() {
    stopped_ = true;  // the callbacks may be running right now: keep them alive, just never call them again
    boost::system::error_code ec;
    fd_.close(ec);
}

void LineReader::read() {
    auto self = shared_from_this();
    fd_.async_read_some(boost::asio::buffer(buf_), [self](boost::system::error_code ec, std::size_t n) {
        if (self->stopped_) return;
        if (n > 0) self->deliver(std::string_view(self->buf_, n));
        if (!ec && !self->stopped_) return self->read();
        if (!self->pending_.empty() && !self->stopped_) self->on_line_(self->pending_, false);
        self->pending_.clear();
        if (self->on_eof_ && !self->stopped_) self->on_eof_();
        self->stopped_ = true;
        boost::system::error_code ignored;
        self->fd_.close(ignored);
    });
}

void LineReader::deliver(std::string_view chunk) {
    while (!chunk.empty()) {
        auto nl = chunk.find('\n');
        std::string_view piece = chunk.substr(0, nl);
        if (!dropping_) {
            std::size_t room = max_line_ - pending_.size();
            if (piece.size() > room) {
                pending_.append(piece.substr(0, room));
                if (!stopped_) on_line_(pending_, true);
                pending_.clear();
                dropping_ = true;
            } else {
                pending_.append(piece);
            }
        }
        if (nl == std::string_view::npos) return;
        if (!dropping_ && !stopped_) on_line_(pending_, false);
        pending_.clear();
        dropping_ = false;
        chunk.remove_prefix(nl + 1);
    }
}

}  // namespace steward::probes
