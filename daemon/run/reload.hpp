// Reload planning (pure): what a new spec would change in the running daemon, apart from applying it.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace steward::run {

// Each service's complete environment, by service name (values may be secrets: compared, never shown).
using ServiceEnvs = std::map<std::string, std::map<std::string, std::string>>;

struct ServiceChange {
    std::string name;
    std::vector<std::string> reasons;  // "command", "env DEBUG", "env JWT_SECRET_KEY (secret value)", ...
};

struct ReloadPlan {
    std::vector<std::string> services_added;
    std::vector<std::string> services_removed;
    std::vector<ServiceChange> services_changed;  // restarted in dependency order
    std::vector<std::string> services_unchanged;  // keep running, same pid
    std::vector<std::string> probes_added;
    std::vector<std::string> probes_removed;
    std::vector<std::string> probes_changed;
    std::vector<std::string> settings_changed;  // applied in place: "backups", "logging", "security", ...
    std::vector<std::string> restart_required;  // keys that keep their old value until steward restarts
    bool changes_anything() const;
};

// Compares the running spec and environments with the next ones.
ReloadPlan plan_reload(const Spec& current, const ServiceEnvs& current_envs, const Spec& next,
                       const ServiceEnvs& next_envs);

// `next` with the keys that need a restart of steward set back to `current`'s values.
Spec keep_restart_keys(const Spec& current, Spec next);

boost::json::value to_json(const ReloadPlan& plan);
std::string to_text(const ReloadPlan& plan);

}  // namespace steward::run
