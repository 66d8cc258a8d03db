// The test's own NOTIFY_SOCKET: a bound unix datagram socket read by a background thread.
#include "tests/support/notify_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace steward::test {

NotifySocket::NotifySocket() {
    char tmpl[] = "/tmp/steward-notify-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    path_ = (dir_ / "notify").string();
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("cannot bind the notify socket " + path_);
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    thread_ = std::thread([this] { receive(); });
}

NotifySocket::~NotifySocket() {
    (void)!::write(stop_pipe_[1], "x", 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void NotifySocket::receive() {
    char buf[4096];
    for (;;) {
        pollfd p[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) continue;
        if (p[1].revents) return;
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::lock_guard lock(mutex_);
        messages_.push_back(
            {std::string(buf, static_cast<std::size_t>(n)), std::chrono::steady_clock::now()});
    }
}

std::vector<NotifySocket::Message> NotifySocket::messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::optional<NotifySocket::Message> NotifySocket::wait_for(const std::string& needle,
                                                            std::chrono::milliseconds timeout,
                                                            std::size_t from) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            for (std::size_t i = from; i < messages_.size(); ++i)
                if (messages_[i].text.find(needle) != std::string::npos) return messages_[i];
        }
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace steward::test
