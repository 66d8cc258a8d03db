// Fuzzes the admin API from request bytes to response: Beast's parser with the server's limits, the real
// route table and token check of a daemon that was built but not started (so no command can run).
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "core/spec.hpp"
#include "daemon/admin/api.hpp"
#include "daemon/admin/server.hpp"
#include "daemon/run/daemon.hpp"
#include "fuzz/fuzz_target.hpp"

namespace {

// The token the seed corpus carries, so the fuzzer reaches the routes behind it.
constexpr const char* kToken = "fuzz-admin-token-0123456789abcdef0123";

struct Harness {
    boost::asio::io_context io;
    std::unique_ptr<steward::run::Daemon> daemon;
    std::unique_ptr<steward::admin::AdminApi> api;

    Harness() {
        ::setenv("STEWARD_FUZZ_ADMIN_TOKEN", kToken, 1);
        auto spec = std::make_shared<const steward::Spec>(
            steward::parse_spec("version: 1\nname: fuzz\nenvironment: development\n"
                                "database: { url: 'postgresql://app@127.0.0.1:1/app' }\n"
                                "secrets: { admin_token: { env: STEWARD_FUZZ_ADMIN_TOKEN } }\n"
                                "admin: { listen: '127.0.0.1:0', token: 'secret:admin_token' }\n",
                                "/nonexistent/fuzz/steward.yaml"));
        steward::run::DaemonOptions o;
        o.spec = spec;
        daemon = std::make_unique<steward::run::Daemon>(io, o);
        api = std::make_unique<steward::admin::AdminApi>(*daemon);
    }
};

Harness& harness() {
    static Harness h;
    return h;
}

}  // namespace

STEWARD_FUZZ_TARGET(admin_http) {
    auto& h = harness();
    auto text = steward::fuzz::as_text(data, size);
    std::optional<steward::admin::Request> seen;
    auto r = steward::admin::respond_to_bytes(text, [&](const steward::admin::Request& req) {
        seen = req;
        return h.api->handle(req);
    });
    STEWARD_FUZZ_CHECK(r.status >= 200 && r.status < 600, text);
    STEWARD_FUZZ_CHECK(r.body.find(kToken) == std::string::npos, text);
    if (r.content_type == "application/json") {
        boost::system::error_code ec;
        boost::json::parse(r.body, ec);
        STEWARD_FUZZ_CHECK(!ec, r.body);
    }
    // Without the token nothing under /api/ answers 2xx.
    if (seen && seen->target.rfind("/api/", 0) == 0 &&
        seen->header("authorization").find(kToken) == std::string::npos)
        STEWARD_FUZZ_CHECK(r.status >= 400, text);
    return 0;
}
