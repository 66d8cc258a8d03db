// The supervised services together: dependency order, start all with readiness, stop all in reverse.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/run/service.hpp"

namespace steward::run {

// Services in an order where each comes after what it depends on (file order otherwise).
// Throws std::invalid_argument naming a dependency cycle.
std::vector<std::string> start_order(const std::vector<ServiceSpec>& services);

class Supervisor {
  public:
    Supervisor(boost::asio::io_context& io, probes::CheckEnvironment readiness_env);
    ~Supervisor();

    // The services to run (replaces nothing that runs: call before start_all).
    void define(std::vector<ServiceLaunch> launches);
    // Starts them one by one in dependency order, each waiting for its readiness;
    // `done(false, why)` at the first that does not become ready (the others are left as they are).
    void start_all(std::function<void(bool, std::string)> done);
    // Stops them one by one in reverse dependency order.
    void stop_all(std::function<void()> done);
    // Applies a reload: stops `removed` and `changed` (reverse order), swaps definitions, starts `changed`
    // and `added` (dependency order). Services not named keep running untouched.
    void apply(std::vector<ServiceLaunch> next, const std::set<std::string>& changed,
               std::function<void()> done);

    ServiceRunner* find(const std::string& name);
    std::vector<ServiceStatus> statuses() const;  // in dependency order
    const std::vector<std::string>& order() const { return order_; }

  private:
    // `keep_going`: start the rest after one that does not become ready (a reload), else stop there.
    void start_from(std::size_t i, std::vector<std::string> names, bool keep_going,
                    std::function<void(bool, std::string)> done);
    void stop_from(std::size_t i, std::vector<std::string> names, std::function<void()> done);

    boost::asio::io_context& io_;
    probes::CheckEnvironment readiness_env_;
    std::vector<std::string> order_;
    std::map<std::string, std::unique_ptr<ServiceRunner>> runners_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace steward::run
