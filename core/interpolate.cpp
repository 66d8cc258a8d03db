// ${VAR} / ${VAR:-default} / $$ interpolation.
#include "core/interpolate.hpp"

#include <fmt/format.h>

namespace steward {

static bool valid_name(const std::string& n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

std::string interpolate(const std::string& text, const VarLookup& lookup) {
    InterpolationTrace trace;
    return interpolate(text, lookup, trace, false);
}

std::string interpolate(const std::string& text, const VarLookup& lookup, InterpolationTrace& trace,
                        bool allow_unset) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '$' || i + 1 >= text.size()) {
            out += c;
            continue;
        }
        char next = text[i + 1];
        if (next == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (next != '{') {
            out += c;
            continue;
        }
        auto close = text.find('}', i + 2);
        if (close == std::string::npos)
            throw InterpolationError("unterminated '${' (write $$ for a literal $)");
        std::string body = text.substr(i + 2, close - i - 2);
        std::string name = body;
        std::optional<std::string> fallback;
        if (auto dash = body.find(":-"); dash != std::string::npos) {
            name = body.substr(0, dash);
            fallback = body.substr(dash + 2);
        }
        if (!valid_name(name))
            throw InterpolationError(
                "'${...}' must hold a variable name of letters, digits and '_' (write $$ for a literal $)");
        auto value = lookup(name);
        trace.variables.push_back(name);
        if (value && !(value->empty() && fallback)) {
            out += *value;
        } else if (fallback) {
            trace.defaulted.push_back(name);
            out += *fallback;
        } else if (allow_unset) {
            trace.unset.push_back(name);
        } else {
            throw InterpolationError(fmt::format(
                "environment variable {} is not set (use ${{{}:-default}} for a default)", name, name));
        }
        i = close;
    }
    return out;
}

}  // namespace steward
