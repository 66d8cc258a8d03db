// The five seed systems under examples/: their rendered files match a fresh render, and `steward check`
// passes each with strong secrets generated here and fails it with a weakened one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>
#include <sstream>

#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/templates/render_support.hpp"

using namespace steward;
namespace fs = std::filesystem;

namespace {

const char* kSystems[] = {"stoic-emperor", "simplr", "companion", "memo-coach", "memory-system"};

fs::path example(const std::string& system) { return fs::path(test::source_dir()) / "examples" / system; }

std::string strong_secret() {
    static std::mt19937_64 rng{std::random_device{}()};
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string s;
    for (int i = 0; i < 48; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
}

// What a production host provides: every variable the env example names, the app's programs, the
// backup folder and the systemd credentials.
struct Host {
    test::TempDir dir{"steward-example"};
    std::map<std::string, std::string> env;
    explicit Host(const std::string& system) {
        auto example_env = test::read_file(example(system) / "rendered/env/production.env.example");
        std::istringstream in(example_env);
        for (std::string line; std::getline(in, line);)
            if (!line.empty() && line.back() == '=') env[line.substr(0, line.size() - 1)] = strong_secret();
        env["DATABASE_URL"] =
            "postgresql://app:" + strong_secret() + "@db.internal:5432/app?sslmode=verify-full";
        env["APP_ROOT"] = dir.path().string();
        env["BACKUP_DIR"] = (dir / "backups").string();
        env["CREDENTIALS_DIRECTORY"] = (dir / "credentials").string();
        fs::create_directories(dir / "backups");
        for (const char* program : {"uvicorn", "gunicorn"})
            ::chmod(dir.write(std::string("venv/bin/") + program, "#!/bin/sh\n").c_str(), 0755);
        for (size_t at = 0; (at = example_env.find("# systemd credential ", at)) != std::string::npos; ++at) {
            auto name = example_env.substr(at + 21, example_env.find(':', at) - at - 21);
            ::chmod(dir.write("credentials/" + name, strong_secret()).c_str(), 0600);
        }
    }
};

}  // namespace

TEST(Examples, RenderedFilesMatchAFreshRender) {
    for (const char* system : kSystems) {
        SCOPED_TRACE(system);
        test::TempDir out("steward-example-render");
        auto r = test::run_steward(
            {"--spec", (example(system) / "steward.yaml").string(), "render", "--out", out.path().string()});
        ASSERT_EQ(r.status, 0) << r.err;
        auto fresh = test::files_under(out.path());
        auto checked_in = test::files_under(example(system) / "rendered");
        EXPECT_EQ(fresh, checked_in) << "run scripts/render-examples";
        for (const auto& f : fresh)
            EXPECT_EQ(test::read_file(out / f), test::read_file(example(system) / "rendered" / f))
                << f << " drifted: run scripts/render-examples";
        EXPECT_TRUE(fs::exists(example(system) / "env.example"));
        EXPECT_EQ(test::read_file(example(system) / "env.example"),
                  test::read_file(out / "env/production.env.example"));
    }
}

TEST(Examples, PackagedUnitMatchesAFreshRender) {
    test::TempDir out("steward-example-render");
    auto r = test::run_steward({"--spec", std::string(test::source_dir()) + "/configs/production.yaml",
                                "render", "--out", out.path().string(), "--only", "systemd"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(test::read_file(out / "systemd/steward.service"),
              test::read_file(fs::path(test::source_dir()) / "configs/systemd/steward.service"))
        << "run scripts/render-examples";
}

TEST(Examples, CheckPassesWithGeneratedSecretsAndFailsWithAWeakOne) {
    for (const char* system : kSystems) {
        SCOPED_TRACE(system);
        Host host(system);
        auto spec = (example(system) / "steward.yaml").string();
        auto ok = test::run_steward({"--spec", spec, "check"}, host.env);
        EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
        ASSERT_TRUE(host.env.count("STEWARD_ADMIN_TOKEN"));
        auto weak = host.env;
        weak["STEWARD_ADMIN_TOKEN"] = "changeme";
        auto bad = test::run_steward({"--spec", spec, "check"}, weak);
        EXPECT_EQ(bad.status, 1) << bad.out << bad.err;
        EXPECT_NE(bad.out.find("admin_token"), std::string::npos) << bad.out;
    }
}

TEST(Examples, EveryRenderedExamplePassesTheTools) {
    for (const char* system : kSystems) {
        SCOPED_TRACE(system);
        auto dir = example(system) / "rendered";
        auto rules =
            test::run_tool({"promtool", "check", "rules", (dir / "prometheus/steward-rules.yml").string()});
        EXPECT_EQ(rules.status, 0) << rules.out << rules.err;
        std::vector<std::string> walk = {"/usr/bin/python3",
                                         std::string(test::source_dir()) + "/tests/templates/k8s_walk.py"};
        for (const auto& f : test::files_under(dir / "k8s")) walk.push_back((dir / "k8s" / f).string());
        auto w = test::run_tool(walk);
        EXPECT_EQ(w.status, 0) << w.out << w.err;
    }
}
