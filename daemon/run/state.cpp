// Names of the state model's enums, as the API and /metrics show them.
#include "daemon/run/state.hpp"

namespace steward::run {

std::string to_string(Phase p) {
    switch (p) {
        case Phase::starting:
            return "starting";
        case Phase::ready:
            return "ready";
        case Phase::stopping:
            return "stopping";
    }
    return "starting";
}

std::string to_string(ServiceState s) {
    switch (s) {
        case ServiceState::stopped:
            return "stopped";
        case ServiceState::starting:
            return "starting";
        case ServiceState::running:
            return "running";
        case ServiceState::stopping:
            return "stopping";
        case ServiceState::backoff:
            return "backoff";
        case ServiceState::exited:
            return "exited";
    }
    return "stopped";
}

}  // namespace steward::run
