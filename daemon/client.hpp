// Finding a running daemon from the CLI: --admin-url/--token-file, else the spec's admin section alone.
#pragma once

#include <string>

#include "daemon/admin/client.hpp"
#include "daemon/cli.hpp"

namespace steward::cli {

struct ClientFlags {
    std::string admin_url;
    std::string token_file;
};

// A spec variable unset in the operator's shell (DATABASE_URL) does not stop this: unset variables
// load as a placeholder here, and only admin.listen and admin.token are used.
admin::AdminEndpoint client_endpoint(Context& ctx, const ClientFlags& flags);

// An API error as one line (or {"ok": false, "error": ...}); returns exit code 1.
int client_error(const Context& ctx, const admin::ClientResponse& response);

}  // namespace steward::cli
