// Inside the checks: one run of a check (an attempt) and the factories of each kind.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "daemon/probes/check.hpp"

namespace steward::probes {

// One run of a check. Completion handlers hold a shared_ptr to it; finish() reports once, and nothing
// after cancel().
class Attempt : public std::enable_shared_from_this<Attempt> {
  public:
    explicit Attempt(CheckCallback done) : done_(std::move(done)), start_(std::chrono::steady_clock::now()) {}
    virtual ~Attempt() = default;
    Attempt(const Attempt&) = delete;
    Attempt& operator=(const Attempt&) = delete;
    virtual void cancel() {
        cancelled_ = true;
        done_ = nullptr;
    }
    bool cancelled() const { return cancelled_; }

  protected:
    void finish(bool ok, std::string error) {
        if (cancelled_ || !done_) return;
        auto done = std::move(done_);
        done_ = nullptr;
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        done(CheckResult{ok, std::move(error), secs});
    }

  private:
    CheckCallback done_;
    std::chrono::steady_clock::time_point start_;
    bool cancelled_ = false;
};

std::unique_ptr<Check> make_http_check(const HttpCheck& spec, const CheckEnvironment& env);
std::unique_ptr<Check> make_tcp_check(const TcpCheck& spec, const CheckEnvironment& env);
std::unique_ptr<Check> make_postgres_check(const PostgresCheck& spec, const CheckEnvironment& env);
std::unique_ptr<Check> make_exec_check(const ExecCheck& spec, const CheckEnvironment& env);

}  // namespace steward::probes
