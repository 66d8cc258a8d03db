// Daemon test harness: the real steward binary with its log in a file, and /proc readers.
#include "tests/support/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/steward_process.hpp"

namespace steward::test {

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

DaemonProcess::DaemonProcess(const std::filesystem::path& spec, const std::filesystem::path& log_file,
                             std::map<std::string, std::string> env, std::vector<std::string> extra_args)
    : log_file_(log_file) {
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot open " + log_file.string());
    ProcessOptions o;
    o.argv = {steward_binary(), "--spec", spec.string()};
    o.argv.insert(o.argv.end(), extra_args.begin(), extra_args.end());
    o.argv.push_back("run");
    o.env = std::move(env);
    if (!o.env.count("ASAN_OPTIONS")) o.env["ASAN_OPTIONS"] = "abort_on_error=0:exitcode=99";
    o.stdout_fd = fd;
    o.stderr_fd = fd;
    o.parent_death_signal = SIGKILL;
    child_ = spawn(o);
    ::close(fd);
}

DaemonProcess::~DaemonProcess() {
    if (child_.running()) {
        child_.signal(SIGTERM, false);
        if (!child_.wait_for(std::chrono::seconds(30))) child_.signal(SIGKILL, false);
    }
    child_.wait();
}

std::string DaemonProcess::log() const { return read_text(log_file_); }

int DaemonProcess::count(const std::string& needle) const {
    std::string text = log();
    int n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
    return n;
}

bool DaemonProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout,
                                 int times) const {
    return wait_until([&] { return count(needle) >= times; }, timeout);
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {
// Fields of /proc/PID/stat after the command: state is [0], ppid [1], pgrp [2].
std::vector<std::string> stat_fields(pid_t pid) {
    std::string s = read_text("/proc/" + std::to_string(pid) + "/stat");
    auto close = s.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream in(s.substr(close + 2));
    std::vector<std::string> f;
    std::string x;
    while (in >> x && f.size() < 3) f.push_back(x);
    return f;
}

template <class Pred>
std::vector<pid_t> scan(Pred pred) {
    std::vector<pid_t> out;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = static_cast<pid_t>(std::stol(name));
        auto f = stat_fields(pid);
        if (f.size() == 3 && pred(f)) out.push_back(pid);
    }
    return out;
}
}  // namespace

std::vector<pid_t> processes_in_group(pid_t pgid) {
    return scan([&](const auto& f) { return f[2] == std::to_string(pgid) && f[0] != "Z"; });
}

std::vector<pid_t> zombie_children(pid_t parent) {
    return scan([&](const auto& f) { return f[1] == std::to_string(parent) && f[0] == "Z"; });
}

std::vector<pid_t> children_of(pid_t parent) {
    return scan([&](const auto& f) { return f[1] == std::to_string(parent); });
}

bool process_alive(pid_t pid) {
    auto f = stat_fields(pid);
    return f.size() == 3 && f[0] != "Z";
}

}  // namespace steward::test
