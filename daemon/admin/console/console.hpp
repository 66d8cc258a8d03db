// The status console's routes: GET / and its files, open to all (the page holds no data; the data comes
// from the token-protected API), served with the headers that confine what the page may do.
#pragma once

#include <vector>

#include "daemon/admin/router.hpp"

namespace steward::admin {

// The page may load only its own files and talk only to this origin; nothing may frame it.
inline constexpr const char* kConsoleContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Appends one open GET route per console file to the admin API's route table.
void add_console_routes(std::vector<Route>& routes);

}  // namespace steward::admin
