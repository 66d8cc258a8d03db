// The status console's routes: each embedded file under its path, with CSP, frame and sniffing headers.
#include "daemon/admin/console/console.hpp"

#include "daemon/admin/console/assets.hpp"

namespace steward::admin {

void add_console_routes(std::vector<Route>& routes) {
    for (const auto& asset : console::assets()) {
        auto handler = [&asset](const RouteCall&) {
            Response r;
            r.content_type = std::string(asset.content_type);
            r.body = std::string(asset.body);
            r.set("Content-Security-Policy", kConsoleContentSecurityPolicy);
            r.set("X-Frame-Options", "DENY");
            r.set("X-Content-Type-Options", "nosniff");
            r.set("Referrer-Policy", "no-referrer");
            // Small files from the binary: revalidate each time so an upgraded steward serves its own page.
            r.set("Cache-Control", "no-cache");
            return r;
        };
        routes.push_back({"GET", std::string(asset.path), Access::open, false, handler,
                          asset.path == "/"
                              ? "the status console (its data comes from the API with the token)"
                              : "a file of the status console"});
    }
}

}  // namespace steward::admin
