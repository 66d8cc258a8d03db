// Daemon test harness: the real steward binary with its log in a file, and /proc readers.
#include "tests/support/daemon_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
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
        if (f.size() == 3 && pred(pid, f)) out.push_back(pid);
    }
    return out;
}
}  // namespace

std::vector<pid_t> processes_in_group(pid_t pgid) {
    return scan([&](pid_t, const auto& f) { return f[2] == std::to_string(pgid) && f[0] != "Z"; });
}

std::vector<pid_t> zombie_children(pid_t parent) {
    return scan([&](pid_t, const auto& f) { return f[1] == std::to_string(parent) && f[0] == "Z"; });
}

std::vector<pid_t> children_of(pid_t parent) {
    return scan([&](pid_t, const auto& f) { return f[1] == std::to_string(parent); });
}

std::vector<pid_t> all_processes() {
    return scan([](pid_t, const auto&) { return true; });
}

std::vector<pid_t> descendants_of(pid_t root) {
    std::map<pid_t, pid_t> parent;
    scan([&](pid_t pid, const auto& f) {
        parent[pid] = static_cast<pid_t>(std::stol(f[1]));
        return false;  // collected here rather than in scan's list
    });
    std::vector<pid_t> out;
    for (auto [p, pp] : parent)
        for (pid_t up = pp; up > 1; up = parent.count(up) ? parent[up] : 0)
            if (up == root) {
                out.push_back(p);
                break;
            }
    return out;
}

long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

int open_fds(pid_t pid) {
    int n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

int connect_loopback(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds wait, bool half_close) {
    int fd = connect_loopback(port);
    if (fd < 0) return "connect failed";
    (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (half_close) ::shutdown(fd, SHUT_WR);
    timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

bool process_alive(pid_t pid) {
    auto f = stat_fields(pid);
    return f.size() == 3 && f[0] != "Z";
}

}  // namespace steward::test
