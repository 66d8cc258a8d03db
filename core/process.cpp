// The one place steward forks: process groups, parent-death signals, user switch, pipes.
#include "core/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace steward {
namespace {

int status_code(int st) {
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return 255;
}

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

struct Credentials {
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups;
    std::string home;
};

Credentials lookup_user(const std::string& name) {
    struct passwd pw {};
    struct passwd* res = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res)
        throw std::system_error(ENOENT, std::generic_category(), "unknown OS user '" + name + "'");
    Credentials c{pw.pw_uid, pw.pw_gid, {}, pw.pw_dir};
    int n = 64;
    c.groups.resize(n);
    if (getgrouplist(name.c_str(), pw.pw_gid, c.groups.data(), &n) < 0) {
        c.groups.resize(n);
        getgrouplist(name.c_str(), pw.pw_gid, c.groups.data(), &n);
    }
    c.groups.resize(n);
    return c;
}

}  // namespace

std::optional<std::filesystem::path> find_program(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (name.find('/') != std::string::npos) {
        if (::access(name.c_str(), X_OK) == 0 && !std::filesystem::is_directory(name))
            return std::filesystem::path(name);
        return std::nullopt;
    }
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        auto end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::filesystem::path candidate = std::filesystem::path(dirs.substr(start, end - start)) / name;
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate))
            return candidate;
        start = end + 1;
    }
    return std::nullopt;
}

void disable_core_dumps() {
    struct rlimit none {
        0, 0
    };
    ::setrlimit(RLIMIT_CORE, &none);
    // Also covers a core_pattern pipe (systemd-coredump), which the rlimit alone may not stop.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

Child::Child(Child&& o) noexcept { *this = std::move(o); }

Child& Child::operator=(Child&& o) noexcept {
    if (this != &o) {
        reset();
        pid_ = std::exchange(o.pid_, -1);
        in_ = std::exchange(o.in_, -1);
        out_ = std::exchange(o.out_, -1);
        err_ = std::exchange(o.err_, -1);
        group_ = o.group_;
        status_ = std::exchange(o.status_, std::nullopt);
    }
    return *this;
}

Child::~Child() { reset(); }

void Child::reset() {
    if (pid_ > 0 && !status_) {
        signal(SIGKILL);
        wait();
    }
    close_fd(in_);
    close_fd(out_);
    close_fd(err_);
    pid_ = -1;
}

void Child::close_stdin() { close_fd(in_); }

void Child::signal(int sig, bool whole_group) {
    if (pid_ <= 0 || status_) return;
    if (whole_group && group_)
        ::kill(-pid_, sig);
    else
        ::kill(pid_, sig);
}

int Child::wait() {
    if (status_) return *status_;
    if (pid_ <= 0) return 255;
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0) {
        if (errno != EINTR) {
            status_ = 255;
            return 255;
        }
    }
    status_ = status_code(st);
    return *status_;
}

std::optional<int> Child::try_wait() {
    if (status_) return status_;
    if (pid_ <= 0) return 255;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_)
        status_ = status_code(st);
    else if (r < 0 && errno == ECHILD)
        status_ = 255;
    return status_;
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
    if (try_wait()) return try_wait();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        if (pidfd >= 0) {
            pollfd p{pidfd, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(left.count()));
        } else {
            std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(10)));
        }
        if (try_wait()) break;
    }
    if (pidfd >= 0) ::close(pidfd);
    return try_wait();
}

Child spawn(const ProcessOptions& o) {
    if (o.argv.empty()) throw std::system_error(EINVAL, std::generic_category(), "empty command");
    auto program = find_program(o.argv[0]);
    if (!program)
        throw std::system_error(ENOENT, std::generic_category(),
                                "cannot run '" + o.argv[0] + "': not found or not executable");
    std::optional<Credentials> creds;
    if (o.user) creds = lookup_user(*o.user);

    // Everything the child needs is built before fork: no allocation after it.
    std::vector<std::string> env_strings;
    if (o.inherit_env)
        for (char** e = environ; e && *e; ++e) {
            std::string kv = *e;
            std::string key = kv.substr(0, kv.find('='));
            if (o.env.count(key)) continue;
            if (creds && (key == "HOME" || key == "USER" || key == "LOGNAME")) continue;
            env_strings.push_back(std::move(kv));
        }
    for (auto& [k, v] : o.env) env_strings.push_back(k + "=" + v);
    if (creds && o.inherit_env && !o.env.count("HOME")) {  // without inheritance the caller's env is all
        env_strings.push_back("HOME=" + creds->home);
        env_strings.push_back("USER=" + *o.user);
        env_strings.push_back("LOGNAME=" + *o.user);
    }
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = o.argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::string prog = program->string();
    std::string cwd = o.cwd ? o.cwd->string() : "";

    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, report[2] = {-1, -1};
    auto make_pipe = [](int p[2]) {
        if (::pipe2(p, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    };
    if (o.stdin_fd == ProcessOptions::kPipe) make_pipe(in_pipe);
    if (o.stdout_fd == ProcessOptions::kPipe) make_pipe(out_pipe);
    if (o.stderr_fd == ProcessOptions::kPipe) make_pipe(err_pipe);
    make_pipe(report);
    pid_t parent = ::getpid();

    sigset_t all, saved;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = ::fork();
    if (pid != 0) ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) {
        for (int* p : {&in_pipe[0], &in_pipe[1], &out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1],
                       &report[0], &report[1]})
            close_fd(*p);
        throw std::system_error(errno, std::generic_category(), "fork");
    }
    if (pid == 0) {
        auto die = [&](int stage) {
            int e[2] = {stage, errno};
            (void)!::write(report[1], e, sizeof e);
            ::_exit(127);
        };
        if (o.new_process_group) ::setpgid(0, 0);
        auto setup_fd = [&](int spec, int target, int pipe_end, int flags) {
            int fd = -1;
            if (spec == ProcessOptions::kInherit) return;
            if (spec == ProcessOptions::kDevNull)
                fd = ::open("/dev/null", flags);
            else if (spec == ProcessOptions::kPipe)
                fd = pipe_end;
            else
                fd = spec;
            if (fd < 0 || ::dup2(fd, target) < 0) die(1);
        };
        setup_fd(o.stdin_fd, 0, in_pipe[0], O_RDONLY);
        setup_fd(o.stdout_fd, 1, out_pipe[1], O_WRONLY);
        setup_fd(o.stderr_fd, 2, err_pipe[1], O_WRONLY);
        if (creds) {
            if (::setgroups(creds->groups.size(), creds->groups.data()) != 0 || ::setgid(creds->gid) != 0 ||
                ::setuid(creds->uid) != 0)
                die(2);
        }
        // After any user switch: a credential change clears the parent-death signal.
        if (o.parent_death_signal) {
            ::prctl(PR_SET_PDEATHSIG, o.parent_death_signal);
            if (::getppid() != parent) ::_exit(127);
        }
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) die(3);
        for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);  // handlers first, while still masked
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
        for (int fd : o.inherit_fds)
            if (::fcntl(fd, F_SETFD, 0) != 0) die(5);
        ::execve(prog.c_str(), argv.data(), envp.data());
        die(4);
    }
    if (o.new_process_group) ::setpgid(pid, pid);
    ::close(report[1]);
    for (int* p : {&in_pipe[0], &out_pipe[1], &err_pipe[1]}) close_fd(*p);
    int e[2] = {0, 0};
    ssize_t n;
    do n = ::read(report[0], e, sizeof e);
    while (n < 0 && errno == EINTR);
    ::close(report[0]);
    Child c;
    c.pid_ = pid;
    c.group_ = o.new_process_group;
    c.in_ = in_pipe[1];
    c.out_ = out_pipe[0];
    c.err_ = err_pipe[0];
    if (n == sizeof e) {
        c.wait();
        static const char* stages[] = {"", "redirecting standard streams", "switching user",
                                       "changing directory", "exec", "passing descriptors"};
        std::string what =
            "cannot run '" + o.argv[0] + "' (" + stages[(e[0] >= 1 && e[0] <= 5) ? e[0] : 4] + ")";
        if (e[0] == 3) what += " in " + cwd;
        throw std::system_error(e[1], std::generic_category(), what);
    }
    return c;
}

ProcessResult run_process(ProcessOptions options, std::chrono::milliseconds timeout,
                          const std::string& input) {
    if (!input.empty()) {
        // Writing to a child that exited early must fail with EPIPE, not kill us.
        static std::once_flag once;
        std::call_once(once, [] {
            struct sigaction sa {};
            if (::sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL)
                ::signal(SIGPIPE, SIG_IGN);
        });
    }
    options.stdout_fd = ProcessOptions::kPipe;
    options.stderr_fd = ProcessOptions::kPipe;
    options.stdin_fd = input.empty() ? ProcessOptions::kDevNull : ProcessOptions::kPipe;
    Child c = spawn(options);
    ProcessResult r;
    int in = c.stdin_fd(), out = c.stdout_fd(), err = c.stderr_fd();
    if (in >= 0) ::fcntl(in, F_SETFL, O_NONBLOCK);
    std::size_t written = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool out_open = true, err_open = true;
    char buf[65536];
    while (out_open || err_open) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            r.timed_out = true;
            c.signal(SIGKILL);
            break;
        }
        pollfd fds[3];
        int nfds = 0;
        if (out_open) fds[nfds++] = {out, POLLIN, 0};
        if (err_open) fds[nfds++] = {err, POLLIN, 0};
        bool want_in = in >= 0 && written < input.size();
        if (want_in) fds[nfds++] = {in, POLLOUT, 0};
        if (::poll(fds, nfds, static_cast<int>(std::min<long long>(left.count(), 1000))) < 0 &&
            errno != EINTR)
            break;
        for (int i = 0; i < nfds; ++i) {
            if (!fds[i].revents) continue;
            if (fds[i].fd == in) {
                ssize_t w = ::write(in, input.data() + written, input.size() - written);
                if (w > 0) written += static_cast<std::size_t>(w);
                if (w < 0 && errno != EAGAIN) written = input.size();
                if (written >= input.size()) {
                    c.close_stdin();
                    in = -1;
                }
                continue;
            }
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0)
                (fds[i].fd == out ? r.out : r.err).append(buf, static_cast<std::size_t>(got));
            else if (got == 0 || (errno != EINTR && errno != EAGAIN))
                (fds[i].fd == out ? out_open : err_open) = false;
        }
    }
    // Output closed, but the child may linger: wait for what is left of the timeout, then kill.
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!c.wait_for(std::max(left, std::chrono::milliseconds(0)))) {
        r.timed_out = true;
        c.signal(SIGKILL);
    }
    r.status = c.wait();
    if (r.timed_out) r.status = 124;
    return r;
}

}  // namespace steward
