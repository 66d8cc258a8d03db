// steward never writes a core file (one held the database password): RLIMIT_CORE is 0, soft and hard, even
// when it was started with `ulimit -c unlimited`, and its children inherit that.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <sstream>

#include "core/embedded_postgres.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

namespace {

// "Max core file size  <soft>  <hard>  bytes" of /proc/<pid>/limits.
std::string core_limits(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("Max core file size", 0) == 0) {
            std::istringstream fields(line.substr(18));
            std::string soft, hard;
            fields >> soft >> hard;
            return soft + " " + hard;
        }
    return "";
}

}  // namespace

TEST(CoreDumps, StewardTurnsThemOffAtStart) {
    struct rlimit before {
    }, unlimited{RLIM_INFINITY, RLIM_INFINITY};
    ::getrlimit(RLIMIT_CORE, &before);
    ASSERT_EQ(::setrlimit(RLIMIT_CORE, &unlimited), 0) << "this test needs root (ulimit -c unlimited)";
    test::TempDir dir("steward-core");
    std::filesystem::create_directories(dir / "migrations");
    // Waits for a server that never comes: long enough to look at the process.
    std::string url =
        "postgresql://app:pw-0123456789@127.0.0.1:" + std::to_string(free_loopback_port()) + "/db";
    auto child = test::spawn_steward(
        {"migrate", "up", "--wait", "60s", "--dir", (dir / "migrations").string(), "--database-url", url});
    ASSERT_EQ(core_limits(::getpid()), "unlimited unlimited");
    // Polled: the limit changes once main() runs (a sanitizer runtime may lower the soft limit before).
    std::string seen;
    test::wait_until(
        [&] {
            seen = core_limits(child.pid());
            return seen == "0 0";
        },
        std::chrono::seconds(30));
    ::setrlimit(RLIMIT_CORE, &before);  // this test binary keeps its own setting
    EXPECT_EQ(seen, "0 0");
    child.signal(SIGKILL);
    child.wait();
}
