// Dependency order and the sequencing of starts, stops and reloads over the services.
#include "daemon/run/supervisor.hpp"

#include <fmt/format.h>

#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace steward::run {

std::vector<std::string> start_order(const std::vector<ServiceSpec>& services) {
    std::vector<std::string> order;
    std::map<std::string, int> mark;  // 0 new, 1 in progress, 2 done
    std::map<std::string, const ServiceSpec*> by_name;
    for (const auto& s : services) by_name[s.name] = &s;
    std::vector<std::string> path;
    std::function<void(const ServiceSpec&)> visit = [&](const ServiceSpec& s) {
        if (mark[s.name] == 2) return;
        if (mark[s.name] == 1) {
            auto from = std::find(path.begin(), path.end(), s.name);
            std::vector<std::string> cycle(from, path.end());
            cycle.push_back(s.name);
            throw std::invalid_argument(
                fmt::format("services depend on each other in a cycle: {}", fmt::join(cycle, " -> ")));
        }
        mark[s.name] = 1;
        path.push_back(s.name);
        for (const auto& dep : s.depends_on)
            if (auto it = by_name.find(dep); it != by_name.end()) visit(*it->second);
        path.pop_back();
        mark[s.name] = 2;
        order.push_back(s.name);
    };
    for (const auto& s : services) visit(s);
    return order;
}

Supervisor::Supervisor(boost::asio::io_context& io, probes::CheckEnvironment readiness_env)
    : io_(io), readiness_env_(readiness_env) {}

Supervisor::~Supervisor() { *alive_ = false; }

void Supervisor::define(std::vector<ServiceLaunch> launches) {
    std::vector<ServiceSpec> specs;
    for (const auto& l : launches) specs.push_back(l.spec);
    order_ = start_order(specs);
    runners_.clear();
    for (auto& l : launches) {
        std::string name = l.spec.name;
        runners_[name] = std::make_unique<ServiceRunner>(io_, std::move(l), readiness_env_);
    }
}

ServiceRunner* Supervisor::find(const std::string& name) {
    auto it = runners_.find(name);
    return it == runners_.end() ? nullptr : it->second.get();
}

std::vector<ServiceStatus> Supervisor::statuses() const {
    std::vector<ServiceStatus> out;
    for (const auto& name : order_)
        if (auto it = runners_.find(name); it != runners_.end()) out.push_back(it->second->status());
    return out;
}

void Supervisor::start_all(std::function<void(bool, std::string)> done) {
    start_from(0, order_, false, std::move(done));
}

void Supervisor::start_from(std::size_t i, std::vector<std::string> names, bool keep_going,
                            std::function<void(bool, std::string)> done) {
    if (i >= names.size()) return done(true, {});
    ServiceRunner* r = find(names[i]);
    if (!r) return start_from(i + 1, std::move(names), keep_going, std::move(done));
    std::weak_ptr<bool> alive = alive_;
    std::string name = names[i];
    r->start([this, alive, i, keep_going, names = std::move(names), done = std::move(done), name](
                 bool ok, std::string why) mutable {
        if (alive.expired()) return;
        if (!ok) {
            std::string what = fmt::format("service {}: {}", name, why);
            if (!keep_going) return done(false, what);
            log::error("supervisor", "service not ready", {{"service", name}, {"error", why}});
        }
        // Continue from the loop, not from inside the service's callback.
        boost::asio::post(
            io_, [this, alive, i, keep_going, names = std::move(names), done = std::move(done)]() mutable {
                if (!alive.expired()) start_from(i + 1, std::move(names), keep_going, std::move(done));
            });
    });
}

void Supervisor::stop_all(std::function<void()> done) {
    std::vector<std::string> reverse(order_.rbegin(), order_.rend());
    stop_from(0, std::move(reverse), std::move(done));
}

void Supervisor::stop_from(std::size_t i, std::vector<std::string> names, std::function<void()> done) {
    if (i >= names.size()) return done();
    ServiceRunner* r = find(names[i]);
    if (!r) return stop_from(i + 1, std::move(names), std::move(done));
    std::weak_ptr<bool> alive = alive_;
    r->stop([this, alive, i, names = std::move(names), done = std::move(done)]() mutable {
        if (alive.expired()) return;
        boost::asio::post(io_, [this, alive, i, names = std::move(names), done = std::move(done)]() mutable {
            if (!alive.expired()) stop_from(i + 1, std::move(names), std::move(done));
        });
    });
}

void Supervisor::apply(std::vector<ServiceLaunch> next, const std::set<std::string>& changed,
                       std::function<void()> done) {
    std::set<std::string> next_names;
    for (const auto& l : next) next_names.insert(l.spec.name);
    std::vector<std::string> to_stop;  // reverse of the current order
    for (auto it = order_.rbegin(); it != order_.rend(); ++it)
        if (!next_names.count(*it) || changed.count(*it)) to_stop.push_back(*it);
    std::vector<ServiceSpec> specs;
    for (const auto& l : next) specs.push_back(l.spec);
    auto next_order = start_order(specs);
    std::weak_ptr<bool> alive = alive_;
    stop_from(0, to_stop,
              [this, alive, next = std::move(next), next_order, changed, done = std::move(done)]() mutable {
                  if (alive.expired()) return;
                  std::vector<std::string> to_start;
                  std::set<std::string> existing;
                  for (auto& [name, r] : runners_) existing.insert(name);
                  for (const auto& name : existing)
                      if (std::none_of(next.begin(), next.end(),
                                       [&](const ServiceLaunch& l) { return l.spec.name == name; }))
                          runners_.erase(name);
                  for (auto& l : next) {
                      std::string name = l.spec.name;
                      if (!existing.count(name)) {
                          runners_[name] = std::make_unique<ServiceRunner>(io_, std::move(l), readiness_env_);
                          to_start.push_back(name);
                      } else if (changed.count(name)) {
                          runners_[name]->update(std::move(l));
                          to_start.push_back(name);
                      }
                  }
                  order_ = next_order;
                  std::vector<std::string> ordered;
                  for (const auto& n : order_)
                      if (std::find(to_start.begin(), to_start.end(), n) != to_start.end())
                          ordered.push_back(n);
                  start_from(0, ordered, true, [done = std::move(done)](bool, std::string) { done(); });
              });
}

}  // namespace steward::run
