// Runs the real steward binary for integration tests.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/process.hpp"

namespace steward::test {

struct StewardRun {
    int status = -1;  // exit code (128+signal when killed)
    std::string out;
    std::string err;
};

// Runs `steward args...` with extra environment `env` (inherits the rest), stdin from `input`.
StewardRun run_steward(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(120),
                       const std::string& input = {});

// Spawns steward without waiting (for kill -9 tests); stdout/stderr go to the given fds or pipes.
Child spawn_steward(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

const char* steward_binary();
const char* source_dir();

}  // namespace steward::test
