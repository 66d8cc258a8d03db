// A running `steward run` for daemon tests: its log in a file, waits on log lines, signals, exit.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/process.hpp"

namespace steward::test {

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

class DaemonProcess {
  public:
    // Starts `steward --spec SPEC run` (plus `extra_args` before `run`); stdout and stderr go to `log_file`.
    DaemonProcess(const std::filesystem::path& spec, const std::filesystem::path& log_file,
                  std::map<std::string, std::string> env = {}, std::vector<std::string> extra_args = {});
    ~DaemonProcess();  // SIGTERM, then SIGKILL after 30 s, and reap
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    pid_t pid() const { return child_.pid(); }
    std::string log() const;
    int count(const std::string& needle) const;  // occurrences in the log
    // Waits until the log holds `needle` at least `times` times.
    bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout, int times = 1) const;
    void signal(int sig) { child_.signal(sig, false); }
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) { return child_.wait_for(timeout); }
    bool running() { return !child_.try_wait(); }

  private:
    std::filesystem::path log_file_;
    Child child_;
};

// Reads a small file (a pid file); "" when missing.
std::string read_text(const std::filesystem::path& p);
// Processes whose process group is `pgid` (from /proc).
std::vector<pid_t> processes_in_group(pid_t pgid);
// Zombie children of `parent` (from /proc).
std::vector<pid_t> zombie_children(pid_t parent);
// Direct children of `parent` (from /proc).
std::vector<pid_t> children_of(pid_t parent);
// Every process on the machine (from /proc).
std::vector<pid_t> all_processes();
// Every descendant of `root`: children, grandchildren, ... (from /proc).
std::vector<pid_t> descendants_of(pid_t root);
bool process_alive(pid_t pid);  // exists and is not a zombie
long rss_kib(pid_t pid);        // VmRSS; -1 when the process is gone
int open_fds(pid_t pid);        // entries in /proc/PID/fd

// A TCP connection to 127.0.0.1:`port`; -1 when refused.
int connect_loopback(int port);
// Sends raw `bytes` to 127.0.0.1:`port` (then half-closes when `half_close`), and returns what came back
// before the server closed or `wait` passed; "connect failed" when refused.
std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds wait, bool half_close);

}  // namespace steward::test
