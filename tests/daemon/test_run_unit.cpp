// Pure daemon logic: restart decisions, dependency order, probe thresholds, reload plans, line reading.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "daemon/probes/child_watch.hpp"
#include "daemon/probes/prober.hpp"
#include "daemon/run/reload.hpp"
#include "daemon/run/service.hpp"
#include "daemon/run/supervisor.hpp"

using namespace steward;
using namespace std::chrono_literals;
using run::RestartHistory;

namespace {

RestartSpec restart(RestartSpec::Policy policy = RestartSpec::Policy::always) {
    RestartSpec r;
    r.policy = policy;
    r.backoff_initial = 1s;
    r.backoff_max = 60s;
    r.max_restarts = 3;
    r.window = std::chrono::minutes(10);
    return r;
}

Spec parse(const std::string& yaml) {
    return parse_spec(
        "version: 1\nname: chat\nenvironment: development\ndatabase: { url: postgresql://a@127.0.0.1/c }\n" +
            yaml,
        "/srv/steward.yaml", [](const std::string&) { return std::nullopt; });
}

}  // namespace

TEST(RestartDecision, PolicyDecidesWhetherToRestart) {
    auto now = std::chrono::steady_clock::now();
    RestartHistory h;
    EXPECT_FALSE(run::decide_restart(restart(RestartSpec::Policy::never), h, 1, 1s, now, 0).restart);
    h = {};
    EXPECT_FALSE(run::decide_restart(restart(RestartSpec::Policy::on_failure), h, 0, 1s, now, 0).restart);
    h = {};
    EXPECT_TRUE(run::decide_restart(restart(RestartSpec::Policy::on_failure), h, 1, 1s, now, 0).restart);
    h = {};
    EXPECT_TRUE(run::decide_restart(restart(RestartSpec::Policy::always), h, 0, 1s, now, 0).restart);
}

TEST(RestartDecision, AStableServiceRestartsAtOnce) {
    RestartHistory h;
    h.quick_failures = 5;
    auto d = run::decide_restart(restart(), h, 137, std::chrono::minutes(2), std::chrono::steady_clock::now(),
                                 0.9);
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay.count(), 0);
    EXPECT_EQ(h.quick_failures, 0);
}

TEST(RestartDecision, RepeatedQuickCrashesBackOffExponentiallyWithJitterUpToTheMaximum) {
    RestartHistory h;
    auto spec = restart();
    spec.max_restarts = 1000;
    auto now = std::chrono::steady_clock::now();
    std::vector<long long> low, high;
    for (int i = 0; i < 9; ++i) {
        RestartHistory a = h, b = h;
        low.push_back(run::decide_restart(spec, a, 1, 100ms, now, 0.0).delay.count());
        high.push_back(run::decide_restart(spec, b, 1, 100ms, now, 0.999).delay.count());
        h = a;
    }
    // First quick crash: at once; then 1s, 2s, 4s, ... capped at 60s; jitter keeps it in [base/2, base].
    EXPECT_EQ(low[0], 0);
    EXPECT_EQ(high[0], 0);
    EXPECT_EQ(low[1], 500);
    EXPECT_NEAR(high[1], 1000, 2);
    EXPECT_EQ(low[2], 1000);
    EXPECT_EQ(low[3], 2000);
    EXPECT_EQ(low[8], 30000);
    EXPECT_NEAR(high[8], 60000, 60);
}

TEST(RestartDecision, MoreThanMaxRestartsInTheWindowIsACrashLoopAtMaximumBackoff) {
    RestartHistory h;
    auto spec = restart();
    auto now = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i)
        EXPECT_FALSE(run::decide_restart(spec, h, 1, 10ms, now + i * 1s, 0).crashloop);
    auto d = run::decide_restart(spec, h, 1, 10ms, now + 3s, 0);
    EXPECT_TRUE(d.crashloop);
    EXPECT_TRUE(d.restart);  // retries go on
    EXPECT_EQ(d.delay, spec.backoff_max);
    // A stable run leaves the loop.
    d = run::decide_restart(spec, h, 1, std::chrono::minutes(5), now + 10min, 0);
    EXPECT_FALSE(d.crashloop);
    EXPECT_EQ(d.delay.count(), 0);
}

TEST(RestartDecision, RestartsOutsideTheWindowDoNotCount) {
    RestartHistory h;
    auto spec = restart();
    auto now = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i)
        EXPECT_FALSE(run::decide_restart(spec, h, 1, 10ms, now + i * 11min, 0).crashloop);
}

TEST(StartOrder, DependenciesComeFirstOtherwiseFileOrder) {
    Spec s = parse(
        "services:\n"
        "  web: { command: [a], depends_on: [api] }\n"
        "  worker: { command: [a] }\n"
        "  api: { command: [a], depends_on: [cache] }\n"
        "  cache: { command: [a] }\n");
    EXPECT_EQ(run::start_order(s.services), (std::vector<std::string>{"cache", "api", "web", "worker"}));
}

TEST(StartOrder, ACycleIsNamed) {
    std::vector<ServiceSpec> services(2);
    services[0].name = "a";
    services[0].depends_on = {"b"};
    services[1].name = "b";
    services[1].depends_on = {"a"};
    try {
        run::start_order(services);
        FAIL() << "no error for a cycle";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("a -> b -> a"), std::string::npos) << e.what();
    }
}

TEST(ProbeThresholds, HealthChangesOnlyAfterConsecutiveResults) {
    probes::ProbeStatus s;
    auto t = std::chrono::system_clock::now();
    probes::CheckResult ok{true, "", 0.01}, bad{false, "refused", 0.01};
    EXPECT_FALSE(probes::apply_result(s, bad, 3, 2, t));
    EXPECT_FALSE(probes::apply_result(s, bad, 3, 2, t));
    EXPECT_EQ(s.health, probes::Health::unknown);
    EXPECT_TRUE(probes::apply_result(s, bad, 3, 2, t));
    EXPECT_EQ(s.health, probes::Health::down);
    EXPECT_FALSE(probes::apply_result(s, ok, 3, 2, t));  // one success is not yet enough
    EXPECT_FALSE(probes::apply_result(s, bad, 3, 2, t));
    EXPECT_FALSE(probes::apply_result(s, ok, 3, 2, t));
    EXPECT_TRUE(probes::apply_result(s, ok, 3, 2, t));
    EXPECT_EQ(s.health, probes::Health::up);
    EXPECT_EQ(s.failures_total, 4u);
    EXPECT_EQ(s.runs_total, 7u);
}

TEST(ReloadPlan, UnchangedServiceKeepsRunningChangedOneRestartsWithReasons) {
    Spec a =
        parse("services:\n  api: { command: [a], env: { DEBUG: 'false' } }\n  worker: { command: [w] }\n");
    Spec b =
        parse("services:\n  api: { command: [a], env: { DEBUG: 'true' } }\n  worker: { command: [w] }\n");
    run::ServiceEnvs ea{{"api", {{"DEBUG", "false"}}}, {"worker", {}}};
    run::ServiceEnvs eb{{"api", {{"DEBUG", "true"}}}, {"worker", {}}};
    auto p = run::plan_reload(a, ea, b, eb);
    ASSERT_EQ(p.services_changed.size(), 1u);
    EXPECT_EQ(p.services_changed[0].name, "api");
    EXPECT_EQ(p.services_unchanged, std::vector<std::string>{"worker"});
    auto reasons = p.services_changed[0].reasons;
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), "env DEBUG"), reasons.end());
}

TEST(ReloadPlan, ARotatedSecretRestartsItsServicesWithoutShowingTheValue) {
    Spec a = parse(
        "secrets: { jwt: { env: JWT } }\nservices:\n  api: { command: [a], env: { JWT: 'secret:jwt' } }\n");
    run::ServiceEnvs ea{{"api", {{"JWT", "old-value-0123456789"}}}};
    run::ServiceEnvs eb{{"api", {{"JWT", "new-value-9876543210"}}}};
    auto p = run::plan_reload(a, ea, a, eb);
    ASSERT_EQ(p.services_changed.size(), 1u);
    std::string text = run::to_text(p);
    EXPECT_EQ(text.find("old-value"), std::string::npos);
    EXPECT_EQ(text.find("new-value"), std::string::npos);
    EXPECT_NE(text.find("JWT"), std::string::npos) << text;
}

TEST(ReloadPlan, RestartOnlyKeysAreReportedAndKeepTheirValue) {
    Spec a = parse("admin: { listen: '127.0.0.1:9180' }\n");
    Spec b = parse("admin: { listen: '127.0.0.1:9999' }\nlogging: { level: debug }\n");
    auto p = run::plan_reload(a, {}, b, {});
    EXPECT_EQ(p.restart_required, std::vector<std::string>{"admin.listen"});
    EXPECT_EQ(p.settings_changed, std::vector<std::string>{"logging"});
    EXPECT_EQ(run::keep_restart_keys(a, b).admin.listen, "127.0.0.1:9180");
}

TEST(ReloadPlan, ProbesAddedRemovedChanged) {
    Spec a = parse(
        "probes:\n  - { name: x, tcp: { address: '127.0.0.1:1' } }\n  - { name: y, tcp: { address: "
        "'127.0.0.1:2' } }\n");
    Spec b = parse(
        "probes:\n  - { name: x, tcp: { address: '127.0.0.1:1' }, interval: 5s }\n  - { name: z, tcp: { "
        "address: '127.0.0.1:3' } }\n");
    auto p = run::plan_reload(a, {}, b, {});
    EXPECT_EQ(p.probes_changed, std::vector<std::string>{"x"});
    EXPECT_EQ(p.probes_added, std::vector<std::string>{"z"});
    EXPECT_EQ(p.probes_removed, std::vector<std::string>{"y"});
    EXPECT_TRUE(p.changes_anything());
    EXPECT_FALSE(run::plan_reload(a, {}, a, {}).changes_anything());
}

TEST(LineReader, SplitsLinesCutsLongOnesAndFlushesTheLastAtEof) {
    boost::asio::io_context io;
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    std::vector<std::pair<std::string, bool>> lines;
    bool eof = false;
    auto reader = probes::LineReader::start(
        io, p[0], 8, [&](std::string_view l, bool cut) { lines.emplace_back(std::string(l), cut); },
        [&] { eof = true; });
    std::string input = "one\ntwo\n0123456789abcdef\nthree\nlast";
    ASSERT_EQ(::write(p[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
    ::close(p[1]);
    io.run();
    ASSERT_TRUE(eof);
    std::vector<std::pair<std::string, bool>> want{
        {"one", false}, {"two", false}, {"01234567", true}, {"three", false}, {"last", false}};
    EXPECT_EQ(lines, want);
}
