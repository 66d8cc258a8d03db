// Timestamped one-line logs; a mutex keeps lines from worker threads whole.
#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace chat {
namespace {

std::mutex log_mutex;

void write_line(std::FILE* out, std::string_view prefix, std::string_view line) {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string text = std::string(stamp) + "." + std::to_string(1000 + ms).substr(1) + "Z ";
    text.append(prefix);
    // One event, one line: libpq's messages span lines, and a peer must not forge lines either.
    bool space = false;
    for (char c : line) {
        bool control = static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        if (control || c == ' ') {
            space = true;
            continue;
        }
        if (space && text.back() != ' ') text.push_back(' ');
        space = false;
        text.push_back(c);
    }
    text.push_back('\n');
    std::lock_guard lock(log_mutex);
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
}

}  // namespace

void log_info(std::string_view line) { write_line(stdout, "", line); }
void log_error(std::string_view line) { write_line(stderr, "error ", line); }

}  // namespace chat
