// Runs the real steward binary from integration tests.
#include "tests/support/steward_process.hpp"

#include <cstdlib>

namespace steward::test {

// STEWARD_TEST_BINARY runs the tests against another build (to see a regression test fail on old code).
const char* steward_binary() {
    const char* other = std::getenv("STEWARD_TEST_BINARY");
    return other && *other ? other : STEWARD_BINARY;
}
const char* source_dir() { return STEWARD_SOURCE_DIR; }

static ProcessOptions options_for(const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& env) {
    ProcessOptions o;
    o.argv = {steward_binary()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = env;
    // Sanitizer reports must fail the test, not vanish; leaks are checked too.
    if (!o.env.count("ASAN_OPTIONS")) o.env["ASAN_OPTIONS"] = "abort_on_error=0:exitcode=99";
    return o;
}

StewardRun run_steward(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                       std::chrono::milliseconds timeout, const std::string& input) {
    auto r = run_process(options_for(args, env), timeout, input);
    return {r.status, std::move(r.out), std::move(r.err)};
}

Child spawn_steward(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    auto o = options_for(args, env);
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = ProcessOptions::kPipe;
    return spawn(o);
}

}  // namespace steward::test
