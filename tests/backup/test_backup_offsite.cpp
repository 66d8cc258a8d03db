// Backup integration: off-site copy from `backup now` to a real sshd, and a failed copy that keeps the local
// backup. corruption, disk full, locks).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <thread>

#include "backup/backup_job.hpp"
#include "backup/stream.hpp"
#include "core/pg.hpp"
#include "tests/backup/backup_test_helpers.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace steward;
using namespace steward::test;
using namespace steward::test::backup_helpers;

TEST(BackupIntegration, FailedOffsiteCopyExitsOneAndKeepsLocalBackup) {
    auto src = fresh_database("bk_off");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    TempDir dir("bk-offsite");
    auto known = dir.write("known_hosts", "");
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: off\nenvironment: development\ndatabase:\n  url: " + src +
                              "\nsecrets:\n  ssh_key: { env: TEST_SSH_KEY, kind: key }\n"
                              "backups:\n  dir: " +
                              (dir.path() / "b").string() +
                              "\n  verify: none\n"
                              "  offsite:\n    sftp: { host: 127.0.0.1, port: " +
                              std::to_string(free_loopback_port()) +
                              ", user: backup, key: \"secret:ssh_key\", known_hosts: " + known.string() +
                              ", path: /srv/backups }\n");
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"},
                         {{"TEST_SSH_KEY", "not a real key"},
                          {"ASAN_OPTIONS", "abort_on_error=0:exitcode=99"}});
    EXPECT_EQ(r.status, 1) << r.err;
    auto doc = parse_json(r.out);
    EXPECT_EQ(doc.at("status").as_string(), "published");
    EXPECT_FALSE(doc.at("offsite").at("ok").as_bool());
    EXPECT_GE(doc.at("offsite").at("attempts").as_int64(), 1);
    EXPECT_EQ(r.out.find("not a real key"), std::string::npos);
    EXPECT_EQ(listed(dir.path() / "b").size(), 1u);
    std::string id(doc.at("id").as_string());
    EXPECT_EQ(query_value(src, "SELECT coalesce(offsite_ok::text, 'null') FROM steward_backups WHERE id = '" +
                                   id + "'"),
              "false");
}

namespace {

void keygen(const fs::path& path) {
    ProcessOptions o;
    o.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "steward-test", "-f", path.string()};
    o.stderr_fd = ProcessOptions::kPipe;
    auto r = run_process(o, std::chrono::seconds(30));
    if (!r.ok()) throw std::runtime_error("ssh-keygen failed (install openssh-client): " + r.err);
}

bool port_accepts(int port) {
    ProcessOptions o;
    o.argv = {"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)};
    o.stderr_fd = ProcessOptions::kDevNull;
    return run_process(o, std::chrono::seconds(5)).ok();
}

}  // namespace

TEST(BackupIntegration, OffsiteCopyReachesRealSshd) {
    ASSERT_TRUE(fs::exists("/usr/sbin/sshd")) << "/usr/sbin/sshd not found: install openssh-server";
    TempDir dir("bk-sshd");
    keygen(dir / "host_key");
    keygen(dir / "user_key");
    fs::copy_file(dir / "user_key.pub", dir / "authorized_keys");
    fs::create_directories("/run/sshd");
    int port = free_loopback_port();
    auto config =
        dir.write("sshd_config", "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\nHostKey " +
                                     (dir / "host_key").string() + "\nPidFile none\nAuthorizedKeysFile " +
                                     (dir / "authorized_keys").string() +
                                     "\nPermitRootLogin yes\nStrictModes no\nPasswordAuthentication no\n"
                                     "KbdInteractiveAuthentication no\nUsePAM no\n"
                                     "Subsystem sftp internal-sftp\nLogLevel ERROR\n");
    ProcessOptions so;
    so.argv = {"/usr/sbin/sshd", "-D", "-e", "-f", config.string()};
    so.stderr_fd = ProcessOptions::kDevNull;  // the port probe makes sshd complain
    Child sshd = spawn(so);
    ASSERT_TRUE(eventually([&] { return port_accepts(port); }, std::chrono::seconds(20)))
        << "sshd did not listen";
    auto pub = read_file(dir / "host_key.pub");
    dir.write("known_hosts", "[127.0.0.1]:" + std::to_string(port) + " " + pub);

    auto src = fresh_database("bk_ssh");
    query_value(src, "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)");
    auto spec = dir.write(
        "steward.yaml", "version: 1\nname: offsite-demo\nenvironment: development\ndatabase:\n  url: " + src +
                            "\nsecrets:\n  ssh_key: { file: " + (dir / "user_key").string() +
                            ", kind: key }\nbackups:\n  dir: " + (dir / "local").string() +
                            "\n  offsite:\n    sftp: { host: 127.0.0.1, port: " + std::to_string(port) +
                            ", user: root, key: \"secret:ssh_key\", " + "known_hosts: " +
                            (dir / "known_hosts").string() + ", path: " + (dir / "remote").string() + " }\n");
    auto r = run_steward({"--spec", spec.string(), "backup", "now", "--json"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    auto doc = parse_json(r.out);
    ASSERT_TRUE(doc.at("offsite").at("ok").as_bool()) << r.out;
    std::string id(doc.at("id").as_string());
    auto remote = dir / "remote" / "offsite-demo" / id;
    EXPECT_EQ(read_file(remote / "dump"), read_file(dir / "local" / id / "dump"));
    EXPECT_TRUE(fs::exists(remote / "manifest.json"));
    EXPECT_EQ(query_value(src, "SELECT offsite_ok::text FROM steward_backups WHERE id = '" + id + "'"),
              "true");
    auto m = backup::backup_metrics(backup::config_without_spec(src, dir / "local"));
    EXPECT_TRUE(m.offsite_last_success_timestamp.has_value());
    sshd.signal(SIGTERM);
    sshd.wait();
}
