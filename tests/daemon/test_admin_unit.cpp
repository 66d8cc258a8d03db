// The admin router without sockets: routes, auth, limits, error shapes; the history ring; the metric table.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "daemon/admin/history.hpp"
#include "daemon/admin/metrics.hpp"
#include "daemon/admin/router.hpp"

using namespace steward;
using namespace steward::admin;

namespace {

Router test_router(int* calls) {
    auto ok = [calls](const RouteCall& c) {
        ++*calls;
        Response r;
        r.body = "{\"name\":\"" + (c.params.count("name") ? c.params.at("name") : std::string()) + "\"}";
        return r;
    };
    return Router({{"GET", "/healthz", Access::open, false, ok, "liveness"},
                   {"GET", "/metrics", Access::metrics, false, ok, "metrics"},
                   {"GET", "/api/v1/status", Access::token, false, ok, "status"},
                   {"POST", "/api/v1/services/{name}/restart", Access::token, true, ok, "restart"}});
}

AuthConfig with_token(const std::string& token, bool metrics_auth = false) {
    AuthConfig a;
    a.token_configured = true;
    a.metrics_auth = metrics_auth;
    a.token_matches = [token](const std::string& p) { return p == token; };
    return a;
}

Request req(std::string method, std::string target, std::string token = {}, std::string body = {},
            std::string content_type = "application/json") {
    Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    if (!content_type.empty()) r.headers["content-type"] = content_type;
    r.body = std::move(body);
    return r;
}

std::string code_of(const Response& r) {
    auto v = boost::json::parse(r.body);
    return std::string(v.at("error").at("code").as_string());
}

bool has_header(const Response& r, const std::string& name, const std::string& value) {
    for (const auto& [k, v] : r.headers)
        if (k == name && v == value) return true;
    return false;
}

}  // namespace

TEST(Router, OpenRoutesNeedNoTokenApiRoutesDo) {
    int calls = 0;
    auto router = test_router(&calls);
    auto auth = with_token("right-token-0123456789abcdef0123");
    EXPECT_EQ(router.handle(req("GET", "/healthz"), auth).status, 200);
    EXPECT_EQ(router.handle(req("GET", "/metrics"), auth).status, 200);
    auto none = router.handle(req("GET", "/api/v1/status"), auth);
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(code_of(none), "unauthorized");
    EXPECT_TRUE(has_header(none, "WWW-Authenticate", "Bearer"));
    auto wrong = router.handle(req("GET", "/api/v1/status", "wrong"), auth);
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(wrong.body, none.body);  // no detail about why
    EXPECT_EQ(router.handle(req("GET", "/api/v1/status", "right-token-0123456789abcdef0123"), auth).status,
              200);
    EXPECT_EQ(calls, 3);
}

TEST(Router, MetricsAuthPutsMetricsBehindTheToken) {
    int calls = 0;
    auto router = test_router(&calls);
    auto auth = with_token("t0k3n-0123456789abcdef0123456789", true);
    EXPECT_EQ(router.handle(req("GET", "/metrics"), auth).status, 401);
    EXPECT_EQ(router.handle(req("GET", "/metrics", "t0k3n-0123456789abcdef0123456789"), auth).status, 200);
}

TEST(Router, WithoutAConfiguredTokenApiRoutesAre403NamingTheKey) {
    int calls = 0;
    auto router = test_router(&calls);
    AuthConfig none;
    auto r = router.handle(req("GET", "/api/v1/status", "anything"), none);
    EXPECT_EQ(r.status, 403);
    EXPECT_NE(r.body.find("admin.token"), std::string::npos);
    EXPECT_EQ(router.handle(req("GET", "/healthz"), none).status, 200);
    EXPECT_EQ(calls, 1);
}

TEST(Router, UnknownRoutesAre404WrongMethods405WithAllow) {
    int calls = 0;
    auto router = test_router(&calls);
    auto auth = with_token("tok");
    EXPECT_EQ(router.handle(req("GET", "/nope"), auth).status, 404);
    EXPECT_EQ(router.handle(req("GET", "/api/v1/nope", "tok"), auth).status, 404);
    auto r = router.handle(req("GET", "/api/v1/services/api/restart", "tok"), auth);
    EXPECT_EQ(r.status, 405);
    EXPECT_TRUE(has_header(r, "Allow", "POST"));
    EXPECT_EQ(code_of(r), "method_not_allowed");
    EXPECT_NE(r.body.find("GET is not allowed"), std::string::npos) << r.body;
    // A method that is not HTTP's is the client's text: it is not echoed (fuzz/crashes/admin_http found a
    // token sent as part of the method coming back in the body).
    auto odd = router.handle(req("tok-in-the-METHOD", "/api/v1/services/api/restart", "tok"), auth);
    EXPECT_EQ(odd.status, 405);
    EXPECT_EQ(odd.body.find("METHOD"), std::string::npos) << odd.body;
    EXPECT_EQ(calls, 0);
}

TEST(Router, PostsMustBeJsonObjectsWithinTheLimit) {
    int calls = 0;
    auto router = test_router(&calls);
    auto auth = with_token("tok");
    const std::string path = "/api/v1/services/api/restart";
    EXPECT_EQ(router.handle(req("POST", path, "tok", "", "text/plain"), auth).status, 415);
    EXPECT_EQ(router.handle(req("POST", path, "tok", "{}", ""), auth).status, 415);
    EXPECT_EQ(router.handle(req("POST", path, "tok", "{not json", "application/json"), auth).status, 400);
    EXPECT_EQ(router.handle(req("POST", path, "tok", "[1]", "application/json"), auth).status, 400);
    EXPECT_EQ(
        router.handle(req("POST", path, "tok", std::string(kMaxBody + 1, ' '), "application/json"), auth)
            .status,
        413);
    // Unauthenticated requests learn nothing about the body rules.
    EXPECT_EQ(router.handle(req("POST", path, "", "{not json", "text/plain"), auth).status, 401);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(router.handle(req("POST", path, "tok", "{}", "application/json; charset=utf-8"), auth).status,
              200);
    EXPECT_EQ(router.handle(req("POST", path, "tok", "", "application/json"), auth).status, 200);
    EXPECT_EQ(calls, 2);
}

TEST(Router, PathTricksAreNotFoundAndParamsAreDecodedOneSegment) {
    int calls = 0;
    auto router = test_router(&calls);
    auto auth = with_token("tok");
    for (std::string target : std::vector<std::string>{
             "/api/v1/../v1/status", "/api/v1/./status", "/api/v1//status", "/api/v1/%2e%2e/status",
             "/api/v1/services/a%2Fb/restart", "/api/v1/services/%00/restart", "/api/v1/services/%zz/restart",
             "relative", std::string(3000, '/')})
        EXPECT_NE(router.handle(req("POST", target, "tok", "{}"), auth).status, 200) << target;
    EXPECT_EQ(calls, 0);
    auto r = router.handle(req("POST", "/api/v1/services/chat%2Dapi/restart", "tok", "{}"), auth);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"name\":\"chat-api\"}");
}

TEST(Router, ApiResponsesAreNotCached) {
    int calls = 0;
    auto router = test_router(&calls);
    auto auth = with_token("tok");
    EXPECT_TRUE(
        has_header(router.handle(req("GET", "/api/v1/status", "tok"), auth), "Cache-Control", "no-store"));
    EXPECT_TRUE(has_header(router.handle(req("GET", "/api/v1/status"), auth), "Cache-Control", "no-store"));
}

TEST(Query, ParsesAndRejectsBrokenEncoding) {
    auto q = parse_query("dry_run=1&since=17%2E5&x=a+b");
    ASSERT_TRUE(q);
    EXPECT_EQ((*q)["dry_run"], "1");
    EXPECT_EQ((*q)["since"], "17.5");
    EXPECT_EQ((*q)["x"], "a b");
    EXPECT_FALSE(parse_query("a=%4"));
    EXPECT_FALSE(parse_query("a=%00"));
}

TEST(History, BoundedEventsAndOneHourOfBuckets) {
    History h(3, 6, std::chrono::seconds(10));
    auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    for (int i = 0; i < 10; ++i)
        h.event("service", "event " + std::to_string(i), true, t0 + std::chrono::seconds(i));
    EXPECT_EQ(h.event_count(), 3u);
    for (int i = 0; i < 200; ++i) h.probe_result("web", i % 10 != 0, 0.001 * i, t0 + std::chrono::seconds(i));
    auto v = h.since(t0);
    const auto& events = v.at("events").as_array();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].at("text").as_string(), "event 7");
    const auto& points = v.at("probes").at("web").as_array();
    EXPECT_EQ(points.size(), 6u);  // the ring keeps the newest six buckets only
    EXPECT_EQ(points.back().at("t").to_number<std::int64_t>(), 1'800'000'190);
    EXPECT_EQ(points.back().at("checks").to_number<int>(), 10);
    EXPECT_EQ(points.back().at("failures").to_number<int>(), 1);
}

TEST(MetricTable, NamesFollowPrometheusConventions) {
    for (const auto& m : metric_table()) {
        EXPECT_TRUE(m.name.rfind("steward_", 0) == 0 || m.name.rfind("process_", 0) == 0) << m.name;
        if (m.type == prometheus::MetricType::Counter) {
            EXPECT_TRUE(m.name.ends_with("_total")) << m.name;
        }
        EXPECT_FALSE(m.help.empty()) << m.name;
    }
}

TEST(MetricTable, TextfileSeriesLeaveOutWhatIsUnknown) {
    BackupFigures b;
    b.failures_total = 2;
    b.last_success_timestamp = 1796141101.5;
    std::string text = serialize(backup_families(b));
    EXPECT_NE(text.find("steward_backup_failures_total 2"), std::string::npos) << text;
    EXPECT_NE(text.find("steward_backup_last_success_timestamp_seconds 1796141101.5"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("steward_backup_last_size_bytes"), std::string::npos) << text;
}
