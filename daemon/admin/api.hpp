// The admin API of a running daemon: routes bound to its state and commands, metrics and history.
#pragma once

#include <memory>

#include "daemon/admin/history.hpp"
#include "daemon/admin/metrics.hpp"
#include "daemon/admin/router.hpp"

namespace steward::run {
class Daemon;
}

namespace steward::admin {

class AdminApi {
  public:
    // Subscribes to the daemon's events (probe results for the histograms, history entries).
    explicit AdminApi(run::Daemon& daemon);
    // Request in, response out (no socket): what the server calls, and tests and fuzzers too.
    Response handle(const Request& request);
    const Router& router() const { return router_; }
    History& history() { return history_; }

  private:
    std::vector<Route> routes();
    AuthConfig auth() const;

    run::Daemon& daemon_;
    DaemonMetrics metrics_;
    History history_;
    Router router_;
};

}  // namespace steward::admin
