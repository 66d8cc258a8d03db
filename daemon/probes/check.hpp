// One check of a target (http, tcp, postgres, exec), asynchronous on the daemon's loop: probes and readiness.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/spec.hpp"

namespace boost::asio::ssl {
class context;
}

namespace steward::probes {

struct CheckResult {
    bool ok = false;
    std::string error;  // why it failed, one line, never a secret
    double duration_seconds = 0;
};
using CheckCallback = std::function<void(CheckResult)>;

// What checks need besides their target.
struct CheckEnvironment {
    boost::asio::io_context& io;
    std::string database_url;                  // postgres checks; may carry a password
    std::filesystem::path workdir;             // exec checks run here
    boost::asio::ssl::context* tls = nullptr;  // https checks; verification of certificates
};

// A reusable checker of one target. run() calls `done` exactly once on the loop thread, within
// `timeout` (plus scheduling slack). One run at a time; destroying the checker (or cancel()) while a
// run is pending completes nothing further.
class Check {
  public:
    virtual ~Check() = default;
    virtual void run(Duration timeout, CheckCallback done) = 0;
    virtual void cancel() = 0;
};

std::unique_ptr<Check> make_check(const CheckTarget& target, const CheckEnvironment& env);

// "http GET http://127.0.0.1:8000/health", "tcp 127.0.0.1:5432", "postgres SELECT 1", "exec /bin/check".
std::string describe(const CheckTarget& target);

}  // namespace steward::probes
