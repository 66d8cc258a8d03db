// The off-site copy under faults: the SFTP server killed mid-upload (the local backup stays published and
// verified, the copy is reported failed, the next run completes it) and a server presenting a changed host
// key (refused, and said so).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <thread>

#include "core/process.hpp"
#include "tests/backup/backup_test_helpers.hpp"
#include "tests/faults/fault_settings.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace steward;
using namespace steward::test;
using namespace steward::test::backup_helpers;
using namespace std::chrono_literals;

namespace {

void keygen(const fs::path& path) {
    ProcessOptions o;
    o.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "steward-test", "-f", path.string()};
    o.stderr_fd = ProcessOptions::kPipe;
    auto r = run_process(o, 30s);
    if (!r.ok()) throw std::runtime_error("ssh-keygen failed (install openssh-client): " + r.err);
}

bool port_accepts(int port) {
    ProcessOptions o;
    o.argv = {"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)};
    o.stderr_fd = ProcessOptions::kDevNull;
    return run_process(o, 5s).ok();
}

// A test sshd on a loopback port whose host key can be swapped between starts.
struct TestSshd {
    TempDir& dir;
    int port = free_loopback_port();
    std::optional<Child> child;

    void start(const std::string& host_key) {
        fs::create_directories("/run/sshd");
        auto config =
            dir.write("sshd_config", "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\nHostKey " +
                                         (dir / host_key).string() + "\nPidFile none\nAuthorizedKeysFile " +
                                         (dir / "authorized_keys").string() +
                                         "\nPermitRootLogin yes\nStrictModes no\nPasswordAuthentication no\n"
                                         "KbdInteractiveAuthentication no\nUsePAM no\n"
                                         "Subsystem sftp internal-sftp\nLogLevel ERROR\n");
        ProcessOptions so;
        so.argv = {"/usr/sbin/sshd", "-D", "-e", "-f", config.string()};
        so.stderr_fd = ProcessOptions::kDevNull;
        child.emplace(spawn(so));
        ASSERT_TRUE(eventually([&] { return port_accepts(port); }, 20s)) << "sshd did not listen";
    }
    // SIGKILL to sshd and every descendant (its per-connection processes call setsid, so the process group
    // does not reach them): the server vanishes mid-transfer.
    void kill() {
        if (!child) return;
        std::vector<pid_t> all{child->pid()};
        for (std::size_t i = 0; i < all.size(); ++i)
            for (pid_t c : children_of(all[i])) all.push_back(c);
        for (std::size_t i = all.size(); i-- > 1;) ::kill(all[i], SIGKILL);
        child->signal(SIGKILL, /*whole_group=*/true);
        child->wait();
        child.reset();
    }
    ~TestSshd() { kill(); }
};

}  // namespace

TEST(SftpFaults, ServerKilledMidUploadKeepsTheLocalBackupAndTheNextRunCompletesTheCopy) {
    ASSERT_TRUE(fs::exists("/usr/sbin/sshd")) << "/usr/sbin/sshd not found: install openssh-server";
    TempDir dir("fault-sftp");
    keygen(dir / "host_key");
    keygen(dir / "other_host_key");
    keygen(dir / "user_key");
    fs::copy_file(dir / "user_key.pub", dir / "authorized_keys");
    TestSshd sshd{dir, free_loopback_port(), std::nullopt};
    sshd.start("host_key");
    dir.write("known_hosts",
              "[127.0.0.1]:" + std::to_string(sshd.port) + " " + read_file(dir / "host_key.pub"));

    auto src = fresh_database("fault_sftp");
    // Incompressible rows and no compression: a dump big enough to be caught mid-upload.
    query_value(
        src,
        "CREATE TABLE blob AS SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) "
        "AS a FROM generate_series(1, 150000) g");
    auto spec =
        dir.write("steward.yaml",
                  "version: 1\nname: fault-sftp\nenvironment: development\ndatabase:\n  url: " + src +
                      "\nsecrets:\n  ssh_key: { file: " + (dir / "user_key").string() +
                      ", kind: key }\nbackups:\n  dir: " + (dir / "local").string() +
                      "\n  compression: none\n  verify: none\n"
                      "  offsite:\n    sftp: { host: 127.0.0.1, port: " +
                      std::to_string(sshd.port) + ", user: root, key: \"secret:ssh_key\", known_hosts: " +
                      (dir / "known_hosts").string() + ", path: " + (dir / "remote").string() + " }\n");
    auto run = spawn_steward({"--spec", spec.string(), "backup", "now", "--json"});
    // Wait until bytes of the dump arrive on the server, then kill it.
    auto remote = dir / "remote" / "fault-sftp";
    bool uploading = eventually(
        [&] {
            std::error_code ec;
            for (const auto& e : fs::recursive_directory_iterator(remote, ec))
                if (e.is_regular_file(ec) && e.file_size(ec) > 0) return true;
            return false;
        },
        120s);
    ASSERT_TRUE(uploading) << "the upload never started";
    sshd.kill();
    int status = run.wait();
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(run.stdout_fd(), buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    EXPECT_EQ(status, 1) << out;  // published locally, off-site copy failed
    auto doc = parse_json(out);
    EXPECT_EQ(doc.at("status").as_string(), "published") << out;
    EXPECT_FALSE(doc.at("offsite").at("ok").as_bool());
    std::string id(doc.at("id").as_string());
    EXPECT_EQ(listed(dir / "local"), std::vector<std::string>{id});
    EXPECT_EQ(run_steward({"--spec", spec.string(), "backup", "verify", id}).status, 0);
    EXPECT_FALSE(fs::exists(remote / id / "manifest.json")) << "a half copy looks complete";

    // A server with a changed host key: refused at once, and the message says why.
    sshd.start("other_host_key");
    auto changed = run_steward({"--spec", spec.string(), "backup", "now", "--json"});
    EXPECT_EQ(changed.status, 1);
    auto cdoc = parse_json(changed.out);
    EXPECT_FALSE(cdoc.at("offsite").at("ok").as_bool());
    std::string error = boost::json::serialize(cdoc.at("offsite"));
    EXPECT_NE(error.find("host key"), std::string::npos) << error;
    EXPECT_EQ(cdoc.at("offsite").at("attempts").as_int64(), 1) << "a changed key is not retried";
    sshd.kill();

    // The right server back: the next run copies its backup completely.
    sshd.start("host_key");
    auto again = run_steward({"--spec", spec.string(), "backup", "now", "--json"});
    ASSERT_EQ(again.status, 0) << again.out << again.err;
    std::string id2(parse_json(again.out).at("id").as_string());
    EXPECT_EQ(fs::file_size(remote / id2 / "dump"), fs::file_size(dir / "local" / id2 / "dump"));
    EXPECT_TRUE(fs::exists(remote / id2 / "manifest.json"));
    report_fault_figure("SFTP killed mid-upload, changed host key", "local backups kept",
                        std::to_string(listed(dir / "local").size()));
}
