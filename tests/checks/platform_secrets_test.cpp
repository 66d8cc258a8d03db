// Secrets as platforms deliver them: FIFOs never hang the gate, secret mounts (Kubernetes, Docker,
// systemd credentials) are judged as what they are, optional secrets may be absent.
#include <gtest/gtest.h>
#include <sys/stat.h>

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

}  // namespace
}  // namespace steward::checks::test
