// A child process on the loop: its exit wakes the loop at once (pidfd), its output arrives line by line.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace steward::probes {

// Calls `on_exit` once when process `pid` has exited (it is not reaped: the owner of its Child reaps it).
// No polling: the loop waits on a pidfd. Destroying the watch cancels it.
class ExitWatch {
  public:
    ExitWatch(boost::asio::io_context& io, pid_t pid);  // throws std::system_error without pidfd support
    ~ExitWatch();
    ExitWatch(const ExitWatch&) = delete;
    ExitWatch& operator=(const ExitWatch&) = delete;
    void async_wait(std::function<void()> on_exit);

  private:
    boost::asio::posix::stream_descriptor fd_;
    std::shared_ptr<bool> alive_;
};

// Reads a pipe until EOF and hands over complete lines (without the newline). A line longer than
// `max_line` bytes is cut there and handed over with `truncated` set; the rest of it is dropped.
class LineReader : public std::enable_shared_from_this<LineReader> {
  public:
    using OnLine = std::function<void(std::string_view line, bool truncated)>;
    // Takes ownership of `fd`.
    static std::shared_ptr<LineReader> start(boost::asio::io_context& io, int fd, std::size_t max_line,
                                             OnLine on_line, std::function<void()> on_eof = {});
    void stop();

    LineReader(boost::asio::io_context& io, int fd, std::size_t max_line, OnLine on_line,
               std::function<void()> on_eof);

  private:
    void read();
    void deliver(std::string_view chunk);

    boost::asio::posix::stream_descriptor fd_;
    std::size_t max_line_;
    OnLine on_line_;
    std::function<void()> on_eof_;
    std::string pending_;
    bool dropping_ = false;  // inside a line that was already cut
    bool stopped_ = false;
    char buf_[8192];
};

}  // namespace steward::probes
