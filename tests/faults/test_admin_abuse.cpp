// The admin API of a real `steward run` under abuse: random bytes, oversized headers and bodies, slowloris,
// a flood beyond the connection cap, pipelining, path tricks and wrong tokens, while a well-behaved client
// keeps asking /healthz; nothing without the token changes anything and memory stays bounded.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "daemon/admin/client.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/faults/fault_settings.hpp"

using namespace steward;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "Abuse-T0ken-7Gq2Lm9Xv4Rp8Kd3Nw6Bz1Hc5";

// Sends `bytes`, half-closes, and returns what came back before the server closed or `wait` passed.
std::string talk(int port, const std::string& bytes, std::chrono::milliseconds wait = 3s) {
    return test::raw_exchange(port, bytes, wait, true);
}

// A daemon with one service (its pid shows whether anything restarted it) and an admin token.
struct AbusedDaemon {
    test::DaemonFixture f;
    int port = free_loopback_port();
    std::unique_ptr<test::DaemonProcess> d;
    admin::AdminEndpoint endpoint;
    pid_t service_pid = 0;

    AbusedDaemon() {
        auto svc = f.script("svc.sh", "echo $$ > " + (f.dir / "pid").string() + "; exec sleep 1000");
        auto spec = f.spec(
            "secrets: { admin_token: { env: ADMIN_TOKEN } }\nservices:\n  svc:\n    command: [" + svc +
            "]\nadmin: { listen: '127.0.0.1:" + std::to_string(port) + "', token: 'secret:admin_token' }\n");
        d = std::make_unique<test::DaemonProcess>(
            spec, f.log(), std::map<std::string, std::string>{{"ADMIN_TOKEN", kToken}});
        endpoint.port = std::to_string(port);
        endpoint.token = kToken;
    }
    bool healthy(std::chrono::seconds timeout = 2s) {
        try {
            auto e = endpoint;
            e.token = std::nullopt;
            return admin::request(e, "GET", "/healthz", {}, timeout).status == 200;
        } catch (const std::exception&) {
            return false;
        }
    }
    void start() {
        ASSERT_TRUE(test::wait_until([&] { return healthy(); }, 60s)) << d->log();
        service_pid = f.wait_new_pid("pid", 0);
        ASSERT_NE(service_pid, 0) << d->log();
    }
    // Nothing without the token changed anything: the service kept its pid, no audited request succeeded.
    void expect_unchanged() {
        EXPECT_EQ(f.pid_in("pid"), service_pid);
        EXPECT_EQ(d->log().find("status=2"), std::string::npos) << d->log().substr(0, 4000);
        EXPECT_EQ(d->log().find(kToken), std::string::npos);
        EXPECT_TRUE(d->running());
    }
};

// A well-behaved client asking /healthz every 100 ms on a fresh connection, on its own thread.
class HealthWatch {
  public:
    explicit HealthWatch(AbusedDaemon& a) : a_(a), thread_([this] { loop(); }) {}
    ~HealthWatch() { stop(); }
    void stop() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
    }
    int answered() const { return answered_; }
    int failed() const { return failed_; }
    std::chrono::milliseconds slowest() const { return std::chrono::milliseconds(slowest_ms_.load()); }

  private:
    void loop() {
        while (!done_) {
            auto t0 = std::chrono::steady_clock::now();
            bool ok = a_.healthy(5s);
            auto ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
            (ok ? answered_ : failed_)++;
            if (ok) slowest_ms_ = std::max<long>(slowest_ms_, ms.count());
            std::this_thread::sleep_for(100ms);  // the client's pace, not a synchronisation
        }
    }
    AbusedDaemon& a_;
    std::atomic<bool> done_{false};
    std::atomic<int> answered_{0};
    std::atomic<int> failed_{0};
    std::atomic<long> slowest_ms_{0};
    std::thread thread_;
};

// Under `make faults` (Release build) /healthz must answer within 100 ms; under the sanitizers only answer.
void expect_answered_throughout(const HealthWatch& w, const std::string& fault_case) {
    EXPECT_GT(w.answered(), 0) << fault_case;
    EXPECT_EQ(w.failed(), 0) << fault_case;
    test::report_fault_figure(fault_case, "slowest /healthz ms", std::to_string(w.slowest().count()));
    if (test::long_faults()) {
        EXPECT_LE(w.slowest(), 100ms) << fault_case;
    }
}

}  // namespace

TEST(AdminAbuse, RandomBytesOversizedRequestsAndPathTricksChangeNothing) {
    AbusedDaemon a;
    a.start();
    long rss_before = test::rss_kib(a.d->pid());
    HealthWatch watch(a);
    const int requests = test::fault_setting(1000, 10000);
    std::mt19937 rng(14);
    std::vector<std::string> prefixes = {
        "", "GET / HTTP/1.1\r\n", "POST /api/v1/reload HTTP/1.1\r\nHost: x\r\n",
        "POST /api/v1/services/svc/restart HTTP/1.1\r\nAuthorization: Bearer "};
    std::atomic<int> sent{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t)
        senders.emplace_back([&, t] {
            std::mt19937 r(static_cast<unsigned>(t) * 7919u + 1u);
            while (sent.fetch_add(1) < requests) {
                std::string bytes = prefixes[r() % prefixes.size()];
                std::size_t n = r() % 2048;
                for (std::size_t i = 0; i < n; ++i) bytes += static_cast<char>(r() % 256);
                talk(a.port, bytes, 2s);
            }
        });
    for (auto& s : senders) s.join();
    // Oversized headers and bodies: 431 and 413, never a crash.
    std::string big_header =
        talk(a.port, "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
    EXPECT_NE(big_header.find("431"), std::string::npos) << big_header.substr(0, 200);
    std::string many_headers = "GET /healthz HTTP/1.1\r\n";
    for (int i = 0; i < 2000; ++i) many_headers += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_NE(talk(a.port, many_headers + "\r\n").find("431"), std::string::npos);
    std::string big_body =
        talk(a.port,
             "POST /api/v1/reload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 10000000\r\n\r\n" +
                 std::string(100000, '{'));
    EXPECT_NE(big_body.find("413"), std::string::npos) << big_body.substr(0, 200);
    std::string chunked = "POST /api/v1/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) chunked += "1000\r\n" + std::string(4096, 'x') + "\r\n";
    EXPECT_NE(talk(a.port, chunked).find("413"), std::string::npos);
    // Path tricks without the token: never 2xx, never a file.
    for (const std::string& target : std::vector<std::string>{
             "/api/v1/../api/v1/status", "/api/v1/%2e%2e/status", "/api/v1/services/svc%2Frestart",
             "/api/v1//status", "/api%2Fv1%2Fstatus", "//api/v1/status", "/api/v1/services/svc/restart/",
             "/../../etc/passwd", "/api/v1/services/%00/restart",
             "/api/v1/status?" + std::string(4000, 'q')}) {
        for (const std::string method : {"GET", "POST"}) {
            auto r =
                talk(a.port, method + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
            EXPECT_EQ(r.find("HTTP/1.1 2"), std::string::npos) << method << " " << target << "\n" << r;
            EXPECT_EQ(r.find("root:"), std::string::npos);
        }
    }
    watch.stop();
    expect_answered_throughout(watch, "admin: random bytes, oversized, path tricks");
    a.expect_unchanged();
    long growth = test::rss_kib(a.d->pid()) - rss_before;
    test::report_fault_figure("admin: random bytes, oversized, path tricks", "requests",
                              std::to_string(requests));
    test::report_fault_figure("admin: random bytes, oversized, path tricks", "RSS growth KiB",
                              std::to_string(growth));
    EXPECT_LT(growth, 64 * 1024) << "RSS grew by " << growth << " KiB";
}

TEST(AdminAbuse, SlowlorisConnectionsDoNotStarveAWellBehavedClient) {
    AbusedDaemon a;
    a.start();
    const int slow = test::fault_setting(200, 500);
    std::vector<int> fds;
    for (int i = 0; i < slow; ++i) {
        int fd = test::connect_loopback(a.port);
        ASSERT_GE(fd, 0) << "connection " << i;
        fds.push_back(fd);
    }
    HealthWatch watch(a);
    // Each slow client dribbles its headers one byte at a time, never finishing; the server's whole-request
    // deadline (10 s) closes them.
    std::string header = "GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
    auto until = std::chrono::steady_clock::now() + test::fault_setting(4s, 15s);
    std::size_t at = 0;
    while (std::chrono::steady_clock::now() < until) {
        for (int fd : fds) (void)!::send(fd, &header[at % header.size()], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        ++at;
        std::this_thread::sleep_for(200ms);  // the slow clients' pace
    }
    watch.stop();
    for (int fd : fds) ::close(fd);
    expect_answered_throughout(watch, "admin: " + std::to_string(slow) + " slowloris connections");
    a.expect_unchanged();
}

TEST(AdminAbuse, AFloodBeyondTheConnectionCapIsRefusedAndTheDaemonRecovers) {
    AbusedDaemon a;
    a.start();
    const int flood = 1024 + 100;  // ServerLimits::max_connections + 100
    std::vector<int> fds;
    for (int i = 0; i < flood; ++i) {
        int fd = test::connect_loopback(a.port);
        if (fd >= 0) fds.push_back(fd);
    }
    // The ones beyond the cap are closed by the server at once: a read sees end-of-stream.
    int refused = 0;
    ASSERT_TRUE(test::wait_until(
        [&] {
            refused = 0;
            for (int fd : fds) {
                char c;
                ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) ++refused;
            }
            return refused >= 100;
        },
        10s))
        << "refused " << refused;
    test::report_fault_figure("admin: flood beyond the cap", "connections refused", std::to_string(refused));
    for (int fd : fds) ::close(fd);
    // Once the flood lets go, a well-behaved client is answered again.
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(test::wait_until([&] { return a.healthy(1s); }, 15s));
    test::report_fault_figure("admin: flood beyond the cap", "ms to answer again",
                              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - t0)
                                                 .count()));
    // The flooded connections are closed by then, or soon after.
    EXPECT_TRUE(test::wait_until([&] { return test::open_fds(a.d->pid()) < 200; }, 10s))
        << test::open_fds(a.d->pid()) << " descriptors open";
    a.expect_unchanged();
}

TEST(AdminAbuse, PipelinedRequestsAreAnsweredInOrder) {
    AbusedDaemon a;
    a.start();
    const int n = 100;
    std::string bytes;
    for (int i = 0; i < n; ++i)
        bytes += "GET /healthz?i=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    bytes += "GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
             "\r\nConnection: close\r\n\r\n";
    auto out = talk(a.port, bytes, 10s);
    std::size_t responses = 0;
    for (auto at = out.find("HTTP/1.1 200"); at != std::string::npos; at = out.find("HTTP/1.1 200", at + 1))
        ++responses;
    EXPECT_EQ(responses, static_cast<std::size_t>(n + 1)) << out.substr(0, 500);
    EXPECT_NE(out.rfind("\"services\""), std::string::npos);  // the last answer is the status
    EXPECT_TRUE(a.healthy());
}

TEST(AdminAbuse, WrongTokensAreRefusedInTimeThatDoesNotDependOnTheirPrefix) {
    AbusedDaemon a;
    a.start();
    // One connection, keep-alive: the timing of the server's check, not of connection setup.
    auto time_token = [&](const std::string& token) {
        auto e = a.endpoint;
        e.token = token;
        auto t0 = std::chrono::steady_clock::now();
        auto r = admin::request(e, "GET", "/api/v1/status", {}, 5s);
        EXPECT_EQ(r.status, 401);
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    };
    std::string right_prefix = kToken.substr(0, kToken.size() - 1) + "X";
    std::string wrong_first = "X" + kToken.substr(1);
    const int rounds = test::fault_setting(300, 2000);
    std::vector<double> near, far;
    std::mt19937 order(14);
    for (int i = 0; i < rounds; ++i) {  // in random order, so neither kind always goes first
        if (order() % 2) {
            near.push_back(time_token(right_prefix));
            far.push_back(time_token(wrong_first));
        } else {
            far.push_back(time_token(wrong_first));
            near.push_back(time_token(right_prefix));
        }
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    double mn = median(near), mf = median(far);
    test::report_fault_figure("admin: token brute force", "attempts", std::to_string(2 * rounds));
    test::report_fault_figure(
        "admin: token brute force", "median us (right prefix / wrong first)",
        std::to_string(static_cast<int>(mn)) + " / " + std::to_string(static_cast<int>(mf)));
    // Over loopback this bounds gross leaks only (an early exit before slow work, a per-byte delay): a plain
    // memcmp's nanoseconds drown in the noise, which is why the check itself is constant-time by construction.
    // A floor of 0.5 ms keeps scheduling noise on a loaded machine from failing it (ASan medians are about
    // 2 ms); a leak of 15 us a byte over the 36-byte token would exceed it.
    EXPECT_LT(std::abs(mn - mf), std::max(0.25 * std::max(mn, mf), 500.0)) << mn << " us vs " << mf << " us";
    a.expect_unchanged();
    EXPECT_TRUE(a.healthy());
}
