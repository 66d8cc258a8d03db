// The admin API's one route table (method, path, auth, handler, help) and the router derived from it.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/admin/http.hpp"

namespace steward::admin {

enum class Access {
    open,     // no token, on any address: /healthz, /readyz, the console's files
    metrics,  // open unless admin.metrics_auth
    token,    // Authorization: Bearer <admin.token>
};

struct RouteCall {
    const Request& request;
    std::map<std::string, std::string> params;  // {name} pieces of the path
    std::map<std::string, std::string> query;
};

struct Route {
    std::string method;
    std::string pattern;  // "/api/v1/services/{name}/restart"
    Access access = Access::token;
    bool mutates = false;  // changes state: POST, audited
    std::function<Response(const RouteCall&)> handler;
    std::string help;
};

// Who may call: what the router needs to know about the token.
struct AuthConfig {
    bool token_configured = false;
    std::function<bool(const std::string& presented)> token_matches;  // constant time
    bool metrics_auth = false;
};

// Body limit for requests (413 beyond).
inline constexpr std::size_t kMaxBody = 64 * 1024;

class Router {
  public:
    explicit Router(std::vector<Route> routes) : routes_(std::move(routes)) {}
    // Request in, response out: no sockets, so it can be unit-tested and fuzzed.
    Response handle(const Request& request, const AuthConfig& auth) const;
    const std::vector<Route>& routes() const { return routes_; }

  private:
    std::vector<Route> routes_;
};

// Splits "a=1&b=x%20y"; nullopt for malformed percent-encoding.
std::optional<std::map<std::string, std::string>> parse_query(const std::string& query);
// Decodes one path segment; nullopt for malformed encoding, NUL, or an encoded '/'.
std::optional<std::string> decode_segment(const std::string& segment);

}  // namespace steward::admin
