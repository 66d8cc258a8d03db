// Bytes and rate on stderr while a backup or restore streams (only when stderr is a terminal).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace steward::backup {

class Progress {
  public:
    Progress(bool enabled, std::string what) : enabled_(enabled), what_(std::move(what)) {}
    ~Progress() {
        if (shown_) std::fputs("\n", stderr);
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // At most four updates a second.
    void update(std::uint64_t bytes) {
        if (!enabled_) return;
        auto now = Clock::now();
        if (now - last_ < std::chrono::milliseconds(250)) return;
        last_ = now;
        double secs = std::chrono::duration<double>(now - start_).count();
        double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
        std::fprintf(stderr, "\r%s: %.1f MiB, %.1f MiB/s   ", what_.c_str(), mib,
                     secs > 0 ? mib / secs : 0.0);
        shown_ = true;
    }

  private:
    using Clock = std::chrono::steady_clock;
    bool enabled_;
    std::string what_;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_{};
    bool shown_ = false;
};

}  // namespace steward::backup
