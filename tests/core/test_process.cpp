// The spawner: exit codes, capture, env, cwd, timeouts, process groups, missing programs.
#include <gtest/gtest.h>
#include <signal.h>

#include <fcntl.h>
#include <unistd.h>

#include <set>
#include <sstream>
#include <thread>

#include "core/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using namespace std::chrono_literals;

TEST(Process, CapturesOutputAndExitCode) {
    ProcessOptions o;
    o.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
    auto r = run_process(o, 10s);
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    EXPECT_FALSE(r.timed_out);
}

TEST(Process, PassesInputEnvAndCwd) {
    test::TempDir dir;
    ProcessOptions o;
    o.argv = {"sh", "-c", "cat; printf ' %s ' \"$STEWARD_X\"; pwd"};
    o.env = {{"STEWARD_X", "42"}};
    o.cwd = dir.path();
    auto r = run_process(o, 10s, "hello");
    EXPECT_EQ(r.out, "hello 42 " + dir.path().string() + "\n");
}

TEST(Process, TimeoutKillsTheWholeGroup) {
    ProcessOptions o;
    o.argv = {"sh", "-c", "sleep 30 & sleep 30"};
    auto start = std::chrono::steady_clock::now();
    auto r = run_process(o, 300ms);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.status, 124);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(Process, MissingProgramThrowsWithName) {
    ProcessOptions o;
    o.argv = {"steward-no-such-program"};
    try {
        (void)spawn(o);
        FAIL();
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("steward-no-such-program"), std::string::npos);
    }
    o.argv = {"true"};
    o.cwd = "/nonexistent-dir";
    EXPECT_THROW((void)spawn(o), std::system_error);
}

TEST(Process, SignalsAreReportedAs128PlusN) {
    ProcessOptions o;
    o.argv = {"sleep", "30"};
    Child c = spawn(o);
    EXPECT_FALSE(c.wait_for(50ms));
    c.signal(SIGTERM);
    auto st = c.wait_for(10s);
    ASSERT_TRUE(st);
    EXPECT_EQ(*st, 128 + SIGTERM);
}

TEST(Process, RunsAsAnotherUser) {
    if (::geteuid() != 0) GTEST_FAIL() << "needs root to switch user";
    ProcessOptions o;
    o.argv = {"id", "-un"};
    o.user = "postgres";
    auto r = run_process(o, 10s);
    EXPECT_EQ(r.out, "postgres\n");
}

// PR_SET_PDEATHSIG is cleared by a credential change, so the spawner sets it after switching user.
// The signal fires when the thread that spawned the child ends: spawn from a thread that then exits,
// and the child (running as postgres) must die with SIGKILL instead of sleeping on.
TEST(Process, ParentDeathSignalSurvivesTheUserSwitch) {
    if (::geteuid() != 0) GTEST_FAIL() << "needs root to switch user";
    Child c;
    std::thread spawner([&] {
        ProcessOptions o;
        o.argv = {"sleep", "30"};
        o.user = "postgres";
        c = spawn(o);
    });
    spawner.join();
    auto st = c.wait_for(10s);
    ASSERT_TRUE(st) << "the child outlived the thread that spawned it";
    EXPECT_EQ(*st, 128 + SIGKILL);
}

TEST(Process, FindProgram) {
    EXPECT_TRUE(find_program("sh"));
    EXPECT_FALSE(find_program("steward-no-such-program"));
    EXPECT_FALSE(find_program("/etc/passwd"));
    EXPECT_TRUE(find_program("/bin/sh"));
}

TEST(Process, InheritsOnlyTheNamedDescriptors) {
    int kept[2], closed[2];
    ASSERT_EQ(::pipe2(kept, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe(closed), 0);  // not close-on-exec in steward, still closed in the child
    ProcessOptions o;
    std::string check;  // the shell's builtin test: no descriptor of its own opened meanwhile
    for (int fd : {kept[0], kept[1], closed[0], closed[1]})
        check += "[ -e /proc/self/fd/" + std::to_string(fd) + " ] && echo " + std::to_string(fd) + "; ";
    o.argv = {"sh", "-c", check + "true"};
    o.inherit_fds = {kept[0]};
    o.stdout_fd = ProcessOptions::kPipe;
    auto r = run_process(o, std::chrono::seconds(10));
    ASSERT_TRUE(r.ok());
    std::istringstream fds(r.out);
    std::set<int> seen;
    for (int fd; fds >> fd;) seen.insert(fd);
    EXPECT_TRUE(seen.count(kept[0])) << r.out;
    EXPECT_FALSE(seen.count(kept[1])) << r.out;
    EXPECT_FALSE(seen.count(closed[0])) << r.out;
    EXPECT_FALSE(seen.count(closed[1])) << r.out;
    for (int fd : {kept[0], kept[1], closed[0], closed[1]}) ::close(fd);
}
