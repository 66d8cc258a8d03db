// Integration tests of the SFTP off-site copy against a real sshd started by the test on loopback.
#include <arpa/inet.h>
#include <date/tz.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "backup/retention.hpp"
#include "backup/sftp.hpp"
#include "core/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::backup {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steward::test::TempDir;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string trim_newline(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// A free loopback TCP port (bound, read back, released).
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw std::runtime_error("cannot bind a loopback port");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool port_accepts(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

// Generates an unencrypted ed25519 key pair at `path` (private) and `path`.pub.
void keygen(const fs::path& path) {
    ProcessOptions options;
    options.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "steward-test", "-f", path.string()};
    options.stderr_fd = ProcessOptions::kPipe;
    auto r = run_process(options, 30s);
    if (!r.ok()) throw std::runtime_error("ssh-keygen failed (is openssh-client installed?): " + r.err);
}

std::string current_user() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw != nullptr ? pw->pw_name : "root";
}

// One sshd on a loopback port with its own host key, serving SFTP to the holder of the user key.
class SshServer {
  public:
    SshServer() : dir_("steward-sftp") {
        if (!fs::exists("/usr/sbin/sshd"))
            throw std::runtime_error("/usr/sbin/sshd not found: install openssh-server");
        fs::create_directories("/run/sshd");  // privilege separation directory
        keygen(dir_ / "host_key");
        keygen(dir_ / "user_key");
        keygen(dir_ / "other_user_key");
        keygen(dir_ / "other_host_key");
        fs::copy_file(dir_ / "user_key.pub", dir_ / "authorized_keys");
        port_ = free_port();
        const fs::path config = dir_ / "sshd_config";
        spit(
            config,
            "Port " + std::to_string(port_) +
                "\nListenAddress 127.0.0.1\n"
                "HostKey " +
                (dir_ / "host_key").string() +
                "\nPidFile none\n"
                "AuthorizedKeysFile " +
                (dir_ / "authorized_keys").string() +
                "\nPermitRootLogin yes\nStrictModes no\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nUsePAM no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n");
        ProcessOptions options;
        options.argv = {"/usr/sbin/sshd", "-D", "-e", "-f", config.string()};
        child_ = spawn(options);
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!port_accepts(port_)) {
            if (auto status = child_.try_wait()) {
                throw std::runtime_error("sshd exited with status " + std::to_string(*status) +
                                         " before listening");
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("sshd did not listen within 20s");
            std::this_thread::sleep_for(20ms);  // polling interval
        }
        spit(dir_ / "known_hosts", known_hosts_line(dir_ / "host_key.pub"));
        spit(dir_ / "changed_known_hosts", known_hosts_line(dir_ / "other_host_key.pub"));
        spit(dir_ / "empty_known_hosts", "");
        spit(dir_ / "other_host_known_hosts", "[127.0.0.2]:" + std::to_string(port_) + " " +
                                                  trim_newline(slurp(dir_ / "host_key.pub")) + "\n");
    }

    std::string known_hosts_line(const fs::path& pub) const {
        return "[127.0.0.1]:" + std::to_string(port_) + " " + trim_newline(slurp(pub)) + "\n";
    }
    int port() const { return port_; }
    const TempDir& dir() const { return dir_; }
    Secret user_key() const { return Secret(slurp(dir_ / "user_key")); }
    Secret other_user_key() const { return Secret(slurp(dir_ / "other_user_key")); }

  private:
    TempDir dir_;
    int port_ = 0;
    Child child_;
};

class Sftp : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = new SshServer(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    void SetUp() override {
        work_ = std::make_unique<TempDir>("steward-sftp-case");
        remote_root_ = work_->path() / "remote";
    }

    SftpSpec spec(const std::string& known_hosts = "known_hosts") const {
        SftpSpec s;
        s.host = "127.0.0.1";
        s.port = server_->port();
        s.user = current_user();
        s.key.secret = "backup_ssh_key";
        s.known_hosts = server_->dir() / known_hosts;
        s.path = remote_root_.string();
        return s;
    }

    // A published backup dir with a manifest, a multi-chunk binary dump and a nested file.
    fs::path make_backup(const std::string& id, std::size_t dump_bytes = 300 * 1024 + 17) const {
        const fs::path dir = work_->path() / "local" / id;
        std::mt19937 rng(42);
        std::string dump(dump_bytes, '\0');
        for (auto& c : dump) c = static_cast<char>(rng() & 0xff);
        spit(dir / "manifest.json", "{\"id\":\"" + id + "\"}\n");
        spit(dir / "dump", dump);
        spit(dir / "dump.d" / "toc.dat", "table of contents");
        spit(dir / "globals.sql", "");
        return dir;
    }

    static SshServer* server_;
    std::unique_ptr<TempDir> work_;
    fs::path remote_root_;
};

SshServer* Sftp::server_ = nullptr;

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

TEST_F(Sftp, UploadCopiesEveryFileWithSizesAndContent) {
    const std::string id = "chat-20260101T020000Z";
    const auto local = make_backup(id);
    auto s = spec();
    s.verify_remote = true;
    auto r = upload_backup(s, server_->user_key(), "chat", local);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(r.remote_path, (remote_root_ / "chat" / id).string());
    const fs::path remote = remote_root_ / "chat" / id;
    for (const char* f : {"manifest.json", "dump", "dump.d/toc.dat", "globals.sql"}) {
        ASSERT_TRUE(fs::exists(remote / f)) << f;
        EXPECT_EQ(fs::file_size(remote / f), fs::file_size(local / f)) << f;
        EXPECT_EQ(slurp(remote / f), slurp(local / f)) << f;
    }
    EXPECT_EQ(names_in(remote_root_ / "chat"), std::set<std::string>{id});  // no .partial left
}

TEST_F(Sftp, UploadTwiceIsIdempotentAndReplacesAStalePartial) {
    const std::string id = "chat-20260102T020000Z";
    const auto local = make_backup(id, 1000);
    fs::create_directories(remote_root_ / "chat" / (id + ".partial"));
    spit(remote_root_ / "chat" / (id + ".partial") / "junk", "left by a killed upload");
    ASSERT_TRUE(upload_backup(spec(), server_->user_key(), "chat", local).ok);
    auto r = upload_backup(spec(), server_->user_key(), "chat", local);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(names_in(remote_root_ / "chat"), std::set<std::string>{id});
    EXPECT_EQ(slurp(remote_root_ / "chat" / id / "dump"), slurp(local / "dump"));
}

TEST_F(Sftp, UnknownHostKeyIsRefusedAndNothingIsUploaded) {
    const auto local = make_backup("chat-20260103T020000Z", 100);
    for (const char* kh : {"empty_known_hosts", "other_host_known_hosts"}) {
        auto r = upload_backup(spec(kh), server_->user_key(), "chat", local);
        EXPECT_FALSE(r.ok) << kh;
        EXPECT_EQ(r.attempts, 1) << "a host key problem is not retried";
        EXPECT_NE(r.error.find("is unknown"), std::string::npos) << r.error;
        EXPECT_NE(r.error.find("never trusts a host key on first use"), std::string::npos) << r.error;
    }
    EXPECT_FALSE(fs::exists(remote_root_));
}

TEST_F(Sftp, ChangedHostKeyIsRefused) {
    const auto local = make_backup("chat-20260104T020000Z", 100);
    auto r = upload_backup(spec("changed_known_hosts"), server_->user_key(), "chat", local);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_NE(r.error.find("CHANGED"), std::string::npos) << r.error;
    EXPECT_FALSE(fs::exists(remote_root_));
}

TEST_F(Sftp, MissingKnownHostsFileIsAClearError) {
    const auto local = make_backup("chat-20260105T020000Z", 100);
    auto r = upload_backup(spec("no_such_known_hosts"), server_->user_key(), "chat", local);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("does not exist"), std::string::npos) << r.error;
}

TEST_F(Sftp, WrongUserKeyIsRefusedWithoutLeakingTheKey) {
    const auto local = make_backup("chat-20260106T020000Z", 100);
    const Secret key = server_->other_user_key();
    auto r = upload_backup(spec(), key, "chat", local);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_NE(r.error.find("refused key authentication"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find("PRIVATE KEY"), std::string::npos);
    EXPECT_FALSE(fs::exists(remote_root_));

    auto garbage = upload_backup(spec(), Secret("not a key at all"), "chat", local);
    EXPECT_FALSE(garbage.ok);
    EXPECT_NE(garbage.error.find("not a readable unencrypted private key"), std::string::npos)
        << garbage.error;
    EXPECT_EQ(garbage.error.find("not a key at all"), std::string::npos);
}

TEST_F(Sftp, UnreachableServerIsRetriedWithBackoff) {
    const auto local = make_backup("chat-20260107T020000Z", 100);
    auto s = spec();
    s.port = free_port();  // nothing listens there
    auto r = upload_backup(s, server_->user_key(), "chat", local, 2);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.attempts, 2);
    EXPECT_NE(r.error.find("cannot connect"), std::string::npos) << r.error;
}

TEST_F(Sftp, MissingLocalBackupFailsWithoutConnecting) {
    auto r = upload_backup(spec(), server_->user_key(), "chat", work_->path() / "chat-20260108T020000Z");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.attempts, 0);
    EXPECT_NE(r.error.find("does not exist"), std::string::npos) << r.error;
}

TEST_F(Sftp, PruneRemoteDeletesOnlyExpiredStewardBackups) {
    // One real upload (the newest) plus older backups laid out directly in the served folder.
    const fs::path base = remote_root_ / "chat";
    ASSERT_TRUE(
        upload_backup(spec(), server_->user_key(), "chat", make_backup("chat-20260110T020000Z", 100)).ok);
    for (const char* id : {"chat-20260109T020000Z", "chat-20260108T020000Z", "chat-20260107T020000Z"}) {
        spit(base / id / "dump", "old");
        spit(base / id / "dump.d" / "toc.dat", "old");
    }
    spit(base / "chat-20200101T000000Z.partial" / "dump", "stale partial upload");
    spit(base / "chat-20200102T000000Z", "a file, not a backup dir");
    spit(base / "other-20200101T000000Z" / "dump", "another deployment");
    spit(base / "notes" / "readme", "not steward's");

    RetentionSpec keep_two;
    keep_two.keep_last = 2;
    keep_two.daily = 0;
    keep_two.weekly = 0;
    keep_two.monthly = 0;
    auto r = prune_remote(spec(), server_->user_key(), "chat", keep_two, date::locate_zone("Europe/Berlin"));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.deleted, (std::vector<std::string>{"chat-20260108T020000Z", "chat-20260107T020000Z"}));
    EXPECT_EQ(names_in(base),
              (std::set<std::string>{"chat-20260110T020000Z", "chat-20260109T020000Z",
                                     "chat-20200102T000000Z", "other-20200101T000000Z", "notes"}));

    // All zeros still keeps the newest.
    RetentionSpec zeros = keep_two;
    zeros.keep_last = 0;
    r = prune_remote(spec(), server_->user_key(), "chat", zeros, nullptr);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.deleted, std::vector<std::string>{"chat-20260109T020000Z"});
    EXPECT_TRUE(fs::exists(base / "chat-20260110T020000Z" / "dump"));
}

TEST_F(Sftp, PruneRemoteWithNothingUploadedIsOk) {
    auto r = prune_remote(spec(), server_->user_key(), "chat", RetentionSpec{}, nullptr);
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.deleted.empty());
}

TEST_F(Sftp, PruneRemoteRefusesUnknownHostKey) {
    spit(remote_root_ / "chat" / "chat-20260101T000000Z" / "dump", "x");
    spit(remote_root_ / "chat" / "chat-20260102T000000Z" / "dump", "x");
    RetentionSpec zeros{0, 0, 0, 0};
    auto r = prune_remote(spec("empty_known_hosts"), server_->user_key(), "chat", zeros, nullptr);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("is unknown"), std::string::npos) << r.error;
    EXPECT_EQ(names_in(remote_root_ / "chat").size(), 2u);
}

}  // namespace
}  // namespace steward::backup
