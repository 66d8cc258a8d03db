// Fuzzes duration parsing: either an invalid_argument or a bounded value that formats and parses back equal.
#include <string>

#include "core/spec.hpp"
#include "fuzz/fuzz_target.hpp"

STEWARD_FUZZ_TARGET(duration) {
    std::string text(steward::fuzz::as_text(data, size));
    steward::Duration d;
    try {
        d = steward::parse_duration(text);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    STEWARD_FUZZ_CHECK(d.count() >= 0 && d <= steward::kMaxDuration, text);
    auto formatted = steward::format_duration(d);
    STEWARD_FUZZ_CHECK(steward::parse_duration(formatted) == d, text + " -> " + formatted);
    return 0;
}
