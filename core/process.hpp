// The one child-process spawner: process group, parent-death signal, env, user, output capture.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace steward {

struct ProcessOptions {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
    std::optional<std::filesystem::path> cwd;
    std::map<std::string, std::string> env;  // added to (or replacing) the inherited environment
    bool inherit_env = true;                 // false: `env` is the child's whole environment
    std::optional<std::string> user;         // run as this OS user (needs root); HOME set when inheriting
    // Standard streams: -1 keeps steward's own, kDevNull discards/gives empty input,
    // kPipe makes a pipe readable/writable through Child, >=0 is an fd to dup2.
    static constexpr int kInherit = -1;
    static constexpr int kDevNull = -2;
    static constexpr int kPipe = -3;
    int stdin_fd = kDevNull;
    int stdout_fd = kInherit;
    int stderr_fd = kInherit;
    // Descriptors the child keeps open at the same numbers (every other one above 2 is closed at exec).
    std::vector<int> inherit_fds;
    bool new_process_group = true;
    // SIGKILL; 0 for none. Linux ties it to the spawning *thread*: spawn long-lived children
    // (postgres, services) from a thread that lives as long as they should.
    int parent_death_signal = 9;
};

class Child {
  public:
    Child() = default;
    Child(Child&&) noexcept;
    Child& operator=(Child&&) noexcept;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child();  // kills (SIGKILL to the group) and reaps a child that is still running

    pid_t pid() const { return pid_; }
    int stdin_fd() const { return in_; }    // kPipe only; close_stdin() to send EOF
    int stdout_fd() const { return out_; }  // kPipe only
    int stderr_fd() const { return err_; }  // kPipe only
    void close_stdin();

    // Exit status as a shell reports it: the exit code, or 128+signal.
    int wait();
    std::optional<int> try_wait();
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    void signal(int sig, bool whole_group = true);
    bool running() const { return pid_ > 0 && !status_; }

  private:
    friend Child spawn(const ProcessOptions&);
    void reset();  // kill + reap if running, close pipes
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1, err_ = -1;
    bool group_ = false;
    std::optional<int> status_;
};

// Throws std::system_error when the program cannot be started (not found, not executable,
// unknown user), with the reason in what().
Child spawn(const ProcessOptions& options);

struct ProcessResult {
    int status = 0;  // exit code or 128+signal; 124 on timeout (like timeout(1))
    bool timed_out = false;
    std::string out;
    std::string err;
    bool ok() const { return status == 0; }
};

// Runs to completion capturing stdout/stderr (stdin from `input`), killing the group on timeout.
[[nodiscard]] ProcessResult run_process(ProcessOptions options, std::chrono::milliseconds timeout,
                                        const std::string& input = {});

// Resolves a program name against PATH (or checks an explicit path); nullopt if not executable.
std::optional<std::filesystem::path> find_program(const std::string& name);

// Makes this process (and its children) never write a core file: RLIMIT_CORE 0, soft and hard, and
// not dumpable. A core of steward holds resolved secrets and database passwords.
void disable_core_dumps();

}  // namespace steward
