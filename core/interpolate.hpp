// ${VAR} and ${VAR:-default} interpolation of spec strings; $$ is a literal $.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace steward {

// An unset ${VAR} without a default, or a malformed ${...}.
class InterpolationError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

using VarLookup = std::function<std::optional<std::string>(const std::string&)>;

std::string interpolate(const std::string& text, const VarLookup& lookup);

// What an interpolation used, for callers that judge where a value came from.
struct InterpolationTrace {
    std::vector<std::string> variables;  // every ${VAR} named
    std::vector<std::string> defaulted;  // those that were unset (or empty) and took their default
    std::vector<std::string> unset;      // unset without a default: only when allow_unset (then "")
};

// As interpolate(); with allow_unset an unset ${VAR} without default expands to "" and is listed in
// trace.unset instead of throwing (steward check --lint: the value is unknown on this machine).
std::string interpolate(const std::string& text, const VarLookup& lookup, InterpolationTrace& trace,
                        bool allow_unset = false);

}  // namespace steward
