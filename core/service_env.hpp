// What a supervised service receives: its environment resolved from the spec, for the gate and the
// supervisor.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/secret.hpp"
#include "core/spec.hpp"

namespace steward {

// One variable of a service's environment and where its value came from.
struct ServiceEnvVar {
    enum class Source { base, literal, secret, database_url };
    std::string name;
    std::string value;  // may be a secret's value: print only when `secret` is false
    Source source = Source::literal;
    std::string origin;   // the spec path it came from: "services.api.env.DEBUG"; "" for the base
    bool secret = false;  // never printed, logged or exported
};

struct ServiceEnvironment {
    std::vector<ServiceEnvVar> vars;    // by name, final values
    std::vector<std::string> problems;  // references that did not resolve (a missing secret, ...)
    bool ok() const { return problems.empty(); }
    const ServiceEnvVar* find(const std::string& name) const;
    std::map<std::string, std::string> to_map() const;
};

// The fixed base every service starts from: PATH, LANG, HOME, USER (of `svc.user` when set, else
// steward's own). Never NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS or anything else of steward's.
std::map<std::string, std::string> service_base_env(const ServiceSpec& svc);

// The service's environment on the fixed base, with `secret:NAME` and `database:url` values filled in.
// `database_url` is the effective URL (the embedded server's when database.embedded).
ServiceEnvironment resolve_service_env(const Spec& spec, const ServiceSpec& svc,
                                       const std::map<std::string, ResolvedSecret>& secrets,
                                       const std::string& database_url);

}  // namespace steward
