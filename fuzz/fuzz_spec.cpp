// Fuzzes the spec loader (YAML bytes to a validated Spec) and ${VAR} interpolation: errors are exceptions,
// never crashes.
#include <optional>
#include <string>

#include "core/interpolate.hpp"
#include "core/spec.hpp"
#include "fuzz/fuzz_target.hpp"

namespace {

std::optional<std::string> env(const std::string& name) {
    if (name == "DATABASE_URL") return "postgresql://app:fuzz-password-123@127.0.0.1:5432/app";
    if (name == "EMPTY") return "";
    if (name == "PORT") return "8000";
    return std::nullopt;
}

}  // namespace

STEWARD_FUZZ_TARGET(spec) {
    std::string text(steward::fuzz::as_text(data, size));
    try {
        steward::parse_spec(text, "/nonexistent/fuzz/steward.yaml", env);
    } catch (const std::exception&) {
    }
    try {
        steward::interpolate(text, env);
    } catch (const steward::InterpolationError&) {
    }
    try {
        steward::InterpolationTrace trace;
        steward::interpolate(text, env, trace, true);
    } catch (const steward::InterpolationError&) {
    }
    return 0;
}
