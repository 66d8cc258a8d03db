// Secrets as platforms deliver them: FIFOs never hang the gate, secret mounts (Kubernetes, Docker,
// systemd credentials) are judged as what they are, optional secrets may be absent.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/checks/cli_support.hpp"

namespace steward::checks::test {
namespace {

TEST(PlatformSecrets, AFifoSecretFileIsAnErrorNotAHang) {
    Deployment d;
    std::filesystem::remove(d.dir / "admin.token");
    ASSERT_EQ(::mkfifo((d.dir / "admin.token").c_str(), 0600), 0);
    auto r = ::steward::test::run_steward({"check", "--spec", d.spec.string(), "--json"}, d.env,
                                          std::chrono::seconds(20));
    ASSERT_EQ(r.status, 1) << "steward check must not block on a FIFO\n" << r.err;
    auto doc = parse_json(r.out);
    EXPECT_TRUE(has(finding_ids(doc), "secret.missing")) << r.out;
    EXPECT_NE(r.out.find("is not a regular file"), std::string::npos) << r.out;
}

// Kubernetes and Docker deliver root-owned 0440/0444 files; systemd puts credentials in
// $CREDENTIALS_DIRECTORY. Neither can be chmod-ed or chown-ed by the service, and neither is a leak.
TEST(PlatformSecrets, RootOwnedReadOnlySecretFilesInASecretMountAreAccepted) {
    ASSERT_EQ(::geteuid(), 0u) << "this test makes root-owned files: run the suite as root, as CI does";
    SpecText t;
    t.extra_secrets = "  api_key: { credential: api_key }\n";
    Deployment d(t);
    std::filesystem::create_directories(d.dir / "credentials");
    auto key = d.dir.write("credentials/api_key", "Zq8vN3kR7wT1yX5mB9cF2hJ6pL4sD0gAx7\n");
    ASSERT_EQ(::chmod(key.c_str(), 0440), 0);
    ASSERT_EQ(::chown(key.c_str(), 0, 0), 0);
    d.env["CREDENTIALS_DIRECTORY"] = (d.dir / "credentials").string();
    // steward runs as root here: the file is its owner's, and its mode lets nobody write it.
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    auto ids = finding_ids(parse_json(r.out));
    EXPECT_FALSE(has(ids, "secret.file_mode")) << r.out;
    EXPECT_FALSE(has(ids, "secret.missing")) << r.out;

    // The same mode in a plain folder is still a finding, with a chmod that can be done there.
    ASSERT_EQ(::chmod((d.dir / "admin.token").c_str(), 0644), 0);
    r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "secret.file_mode")) << r.out;
    EXPECT_NE(r.out.find("chmod 600"), std::string::npos) << r.out;
}

TEST(PlatformSecrets, ACredentialWithoutItsDirectoryIsMissing) {
    SpecText t;
    t.extra_secrets = "  api_key: { credential: api_key }\n";
    Deployment d(t);
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "secret.missing")) << r.out;
    EXPECT_NE(r.out.find("LoadCredential=api_key"), std::string::npos) << r.out;
}

TEST(PlatformSecrets, AnUnsetOptionalSecretIsNoFinding) {
    SpecText t;
    t.extra_secrets = "  anthropic: { env: GATE_TEST_ANTHROPIC_API_KEY, kind: key, optional: true }\n";
    t.service_command = "[/bin/true]\n    env: { ANTHROPIC_API_KEY: \"secret:anthropic\" }";
    Deployment d(t);
    auto r = d.check({"--json"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(finding_ids(parse_json(r.out)).empty()) << r.out;
    d.env["GATE_TEST_ANTHROPIC_API_KEY"] = "short";  // present: judged like any other secret
    r = d.check({"--json"});
    EXPECT_TRUE(has(finding_ids(parse_json(r.out)), "secret.too_short")) << r.out;
    EXPECT_NE(r.out.find("use the key your provider issued"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace steward::checks::test
