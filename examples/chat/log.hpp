// One-line logs: requests and lifecycle on stdout, problems on stderr; safe from any thread.
#pragma once

#include <string_view>

namespace chat {

void log_info(std::string_view line);   // "<UTC time> <line>" on stdout, flushed
void log_error(std::string_view line);  // "<UTC time> error <line>" on stderr

}  // namespace chat
