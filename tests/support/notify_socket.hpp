// A unix datagram socket standing in for systemd's NOTIFY_SOCKET: records every message with its arrival
// time.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace steward::test {

class NotifySocket {
  public:
    struct Message {
        std::string text;  // e.g. "READY=1\nSTATUS=ready: 1 service, 0 probes"
        std::chrono::steady_clock::time_point at;
    };
    NotifySocket();
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    const std::string& path() const { return path_; }
    // The first message (from index `from` on) containing `needle`, waiting up to `timeout`.
    std::optional<Message> wait_for(const std::string& needle, std::chrono::milliseconds timeout,
                                    std::size_t from = 0);
    std::vector<Message> messages() const;

  private:
    void receive();
    std::filesystem::path dir_;
    std::string path_;
    int fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    mutable std::mutex mutex_;
    std::vector<Message> messages_;
    std::thread thread_;
};

}  // namespace steward::test
