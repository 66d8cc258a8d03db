// The one JSON writer: every document steward prints or writes (CLI, logs, manifests, admin API).
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace steward {

// Compact JSON text of `v`. Unlike boost::json::serialize: numbers are plain decimals ("0.162",
// "0", never "1.62E-1"; NaN and infinities become null), and every string and key is valid UTF-8
// (an invalid byte sequence becomes U+FFFD), so any JSON parser accepts the output.
std::string write_json(const boost::json::value& v);

// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

}  // namespace steward
