// ${VAR} and ${VAR:-default} interpolation of spec strings; $$ is a literal $.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace steward {

// An unset ${VAR} without a default, or a malformed ${...}.
class InterpolationError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

std::string interpolate(const std::string& text,
                        const std::function<std::optional<std::string>(const std::string&)>& lookup);

}  // namespace steward
