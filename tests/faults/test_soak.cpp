// Soak: `steward run` with the example deployment (embedded PostgreSQL, the chat API, probes, backups and
// restore drills made frequent) under a steady load of API calls. After a warm-up, steward's RSS and open
// descriptors stay flat and no child of it stays a zombie. 60 s in make test, 10 min in make faults;
// `make soak` sets STEWARD_SOAK_SECONDS (hours).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "core/embedded_postgres.hpp"
#include "daemon/admin/client.hpp"
#include "tests/faults/fault_settings.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/example_deployment.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::chrono::seconds soak_duration() {
    if (const char* v = std::getenv("STEWARD_SOAK_SECONDS"); v && *v) return std::chrono::seconds(std::stol(v));
    return test::fault_setting(60s, 600s);
}

template <typename T>
T median(std::vector<T> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? T{} : v[v.size() / 2];
}

// The example spec with its schedules and probe intervals made frequent; each replaced text must exist, so
// a change to the example shows here rather than quietly soaking something else.
std::string soak_spec(const fs::path& example) {
    std::string text = test::read_text(example);
    const std::vector<std::pair<std::string, std::string>> edits = {
        {"dir: ./migrations", "dir: " + (example.parent_path() / "migrations").string()},
        {"schedule: \"*/5 * * * *\"", "schedule: \"*/10 * * * * *\""},
        {"drill: { schedule: \"2-59/10 * * * *\" }", "drill: { schedule: \"5-59/30 * * * * *\" }"},
        {"interval: 10s", "interval: 500ms"},
        {"interval: 15s", "interval: 500ms"},
    };
    for (const auto& [from, to] : edits) {
        auto at = text.find(from);
        if (at == std::string::npos) {
            ADD_FAILURE() << "examples/chat/steward.yaml no longer holds '" << from << "'";
            continue;
        }
        text.replace(at, from.size(), to);
    }
    return text;
}

}  // namespace

TEST(Soak, UnderSteadyLoadRssAndDescriptorsStayFlatAndNoZombieStays) {
    const auto duration = soak_duration();
    test::TempDir dir("steward-soak");
    test::ExampleDeployment ex{dir.path()};
    auto spec = dir.write("steward.yaml", soak_spec(fs::path(test::source_dir()) / "examples/chat/steward.yaml"));
    auto env = ex.env(CHAT_API_BINARY);
    // The sanitizer build keeps freed memory in a quarantine (256 MiB by default) that would look like
    // growth; a small one keeps RSS about steward's own memory. A Release build ignores this.
    std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
    env["ASAN_OPTIONS"] = asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=4";
    test::DaemonProcess d(spec, dir / "steward.log", env);
    admin::AdminEndpoint api = ex.admin();
    ASSERT_TRUE(test::wait_ready(api, 180s)) << d.log();

    // The load: admin API calls and the chat API's health, one after another at a steady pace.
    std::atomic<bool> stop{false};
    std::atomic<int> calls{0}, failures{0};
    std::thread load([&] {
        admin::AdminEndpoint chat;
        chat.port = std::to_string(ex.chat_port);
        const std::vector<std::pair<const admin::AdminEndpoint*, std::string>> targets = {
            {&api, "/healthz"},        {&api, "/metrics"}, {&api, "/api/v1/status"},
            {&api, "/api/v1/backups"}, {&api, "/api/v1/history"}, {&chat, "/health"}};
        for (std::size_t i = 0; !stop; ++i) {
            const auto& [to, target] = targets[i % targets.size()];
            try {
                if (admin::request(*to, "GET", target, {}, 10s).status != 200) ++failures;
            } catch (const std::exception&) {
                ++failures;
            }
            ++calls;
            std::this_thread::sleep_for(20ms);  // the load's pace, not a synchronisation
        }
    });

    // One sample a second: RSS, descriptors, zombies.
    struct Sample {
        std::chrono::seconds at;
        long rss;
        int fds;
    };
    std::vector<Sample> samples;
    std::set<pid_t> zombies_before;
    std::vector<pid_t> stuck_zombies;
    auto t0 = std::chrono::steady_clock::now();
    for (auto next = t0; std::chrono::steady_clock::now() - t0 < duration;) {
        next += 1s;
        std::this_thread::sleep_until(next);  // the sampling period
        auto at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
        // The descriptor count as the least of five reads 20 ms apart: nearer the floor than one read that
        // may catch a request, a probe or a dump in flight.
        int fds = test::open_fds(d.pid());
        for (int i = 0; i < 4; ++i) {
            std::this_thread::sleep_for(20ms);  // spacing of the reads, not a synchronisation
            fds = std::min(fds, test::open_fds(d.pid()));
        }
        samples.push_back({at, test::rss_kib(d.pid()), fds});
        std::set<pid_t> zombies;
        for (pid_t z : test::zombie_children(d.pid())) {
            if (zombies_before.count(z)) stuck_zombies.push_back(z);  // still unreaped a second later
            zombies.insert(z);
        }
        zombies_before = std::move(zombies);
        ASSERT_TRUE(d.running()) << d.log();
    }
    stop = true;
    load.join();

    // Warm-up: the first third. Then the second third against the last.
    std::vector<long> rss_a, rss_b;
    std::vector<int> fds_a, fds_b;
    long peak = 0;
    for (const auto& s : samples) {
        peak = std::max(peak, s.rss);
        if (s.at < duration / 3) continue;
        bool late = s.at >= duration * 2 / 3;
        (late ? rss_b : rss_a).push_back(s.rss);
        (late ? fds_b : fds_a).push_back(s.fds);
    }
    ASSERT_GE(rss_a.size(), 5u);
    ASSERT_GE(rss_b.size(), 5u);
    long rss_drift = median(rss_b) - median(rss_a);
    // The floor of the descriptor count: what is open when no request, probe or backup holds one.
    int fd_drift = *std::min_element(fds_b.begin(), fds_b.end()) - *std::min_element(fds_a.begin(), fds_a.end());
    int published = 0;
    for (const auto& e : fs::directory_iterator(dir / "backups"))
        if (e.is_directory() && fs::exists(e.path() / "manifest.json")) ++published;
    std::string log = d.log();
    const std::string name = "soak: run under steady load";
    test::report_fault_figure(name, "seconds", std::to_string(duration.count()));
    test::report_fault_figure(name, "API calls (failed)", std::to_string(calls) + " (" + std::to_string(failures) + ")");
    test::report_fault_figure(name, "backups taken", std::to_string(d.count("backup published")));
    test::report_fault_figure(name, "peak RSS MiB", std::to_string(peak / 1024));
    test::report_fault_figure(name, "RSS drift KiB", std::to_string(rss_drift));
    test::report_fault_figure(name, "fd drift", std::to_string(fd_drift));
    test::report_fault_figure(name, "zombies left", std::to_string(stuck_zombies.size()));

    EXPECT_EQ(failures, 0) << "of " << calls << " calls";
    EXPECT_GE(calls, 10 * duration.count());
    EXPECT_GE(d.count("backup published"), static_cast<int>(duration.count() / 10 / 2)) << log;
    EXPECT_GE(published, 1);
    EXPECT_EQ(d.count("backup failed"), 0) << log;
    EXPECT_EQ(d.count("service exited"), 0) << log;
    // Flat: allocator noise stays within a few MiB (more under the sanitizers' allocator); a leak of a
    // request, a probe or a backup over ten minutes does not.
    const long allowed_kib = test::fault_setting(8 * 1024, 4 * 1024);
    EXPECT_LE(rss_drift, allowed_kib) << "RSS grew from " << median(rss_a) << " to " << median(rss_b) << " KiB";
    EXPECT_LE(fd_drift, 0) << "the descriptor floor rose by " << fd_drift;
    EXPECT_TRUE(stuck_zombies.empty()) << stuck_zombies.size() << " zombie children stayed unreaped";
    EXPECT_EQ(admin::request(api, "GET", "/readyz").status, 200);
    d.signal(SIGTERM);
    EXPECT_TRUE(d.wait_exit(60s)) << "steward did not stop";
}
