// The exec check: run a command (through the one spawner), healthy when it exits 0 within the timeout.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>

#include "core/process.hpp"
#include "core/secret.hpp"
#include "daemon/probes/check_internal.hpp"
#include "daemon/probes/child_watch.hpp"

namespace steward::probes {
namespace {

namespace asio = boost::asio;

class ExecAttempt : public Attempt {
  public:
    ExecAttempt(asio::io_context& io, CheckCallback done) : Attempt(std::move(done)), io_(io), timer_(io) {}
    ~ExecAttempt() override { stop_child(); }

    void start(const ExecCheck& spec, const std::filesystem::path& workdir, Duration timeout) {
        ProcessOptions o;
        o.argv = spec.command;
        o.cwd = workdir;
        o.inherit_env = false;  // a probe gets a minimal environment, never steward's secrets
        o.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
        o.stdout_fd = ProcessOptions::kDevNull;
        o.stderr_fd = ProcessOptions::kPipe;
        try {
            child_ = spawn(o);
            watch_ = std::make_unique<ExitWatch>(io_, child_.pid());
        } catch (const std::exception& e) {
            return finish(false, e.what());
        }
        auto self = std::static_pointer_cast<ExecAttempt>(shared_from_this());
        std::weak_ptr<ExecAttempt> weak = self;
        int err = ::dup(child_.stderr_fd());
        if (err >= 0) {
            ::fcntl(err, F_SETFD, FD_CLOEXEC);
            reader_ = LineReader::start(
                io_, err, 512,
                [weak](std::string_view line, bool) {
                    if (auto a = weak.lock(); a && !line.empty()) a->last_line_ = std::string(line);
                },
                [weak] {
                    if (auto a = weak.lock()) a->on_output_closed();
                });
        } else {
            output_closed_ = true;
        }
        watch_->async_wait([self] { self->on_exit(); });
        timer_.expires_after(timeout);
        timer_.async_wait([self, timeout](boost::system::error_code ec) {
            if (ec) return;
            self->stop_child();
            self->finish(false, fmt::format("timed out after {}", format_duration(timeout)));
        });
    }

    void cancel() override {
        Attempt::cancel();
        timer_.cancel();
        stop_child();
    }

  private:
    void on_exit() {
        status_ = child_.try_wait().value_or(255);
        child_.signal(SIGKILL);  // what it left in its group; then its stderr closes
        report();
    }

    void on_output_closed() {
        output_closed_ = true;
        report();
    }

    // Once the command exited and its last stderr line is read.
    void report() {
        if (!status_ || !output_closed_) return;
        timer_.cancel();
        if (*status_ == 0) return finish(true, {});
        std::string why = *status_ > 128 ? fmt::format("killed by signal {}", *status_ - 128)
                                         : fmt::format("exit code {}", *status_);
        if (!last_line_.empty()) why += ": " + redact(last_line_);
        finish(false, why);
    }

    void stop_child() {
        watch_.reset();
        if (reader_) reader_->stop();
        if (child_.running()) child_.signal(SIGKILL);
        child_ = Child();  // reaps
    }

    asio::io_context& io_;
    asio::steady_timer timer_;
    Child child_;
    std::unique_ptr<ExitWatch> watch_;
    std::shared_ptr<LineReader> reader_;
    std::string last_line_;
    std::optional<int> status_;
    bool output_closed_ = false;
};

class ExecChecker : public Check {
  public:
    ExecChecker(asio::io_context& io, ExecCheck spec, std::filesystem::path workdir)
        : io_(io), spec_(std::move(spec)), workdir_(std::move(workdir)) {}
    ~ExecChecker() override { cancel(); }
    void run(Duration timeout, CheckCallback done) override {
        auto a = std::make_shared<ExecAttempt>(io_, std::move(done));
        current_ = a;
        a->start(spec_, workdir_, timeout);
    }
    void cancel() override {
        if (auto a = current_.lock()) a->cancel();
    }

  private:
    asio::io_context& io_;
    ExecCheck spec_;
    std::filesystem::path workdir_;
    std::weak_ptr<Attempt> current_;
};

}  // namespace

std::unique_ptr<Check> make_exec_check(const ExecCheck& spec, const CheckEnvironment& env) {
    return std::make_unique<ExecChecker>(env.io, spec, env.workdir);
}

}  // namespace steward::probes
