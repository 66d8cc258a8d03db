// Running `steward render` and the real tools that judge its files (systemd-analyze, nginx, promtool, ...).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/process.hpp"

namespace steward::test {

// Runs a tool to completion; fails the test with a clear message when it is not installed.
ProcessResult run_tool(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {});

// `steward --spec SPEC render --out OUT --binary <built steward> EXTRA...`; asserts exit 0.
std::string render(const std::filesystem::path& spec, const std::filesystem::path& out,
                   const std::vector<std::string>& extra = {},
                   const std::map<std::string, std::string>& env = {});

// Every regular file under `dir`, relative, sorted.
std::vector<std::string> files_under(const std::filesystem::path& dir);

// The production spec's shape with every part the templates use: services, probes, backups with an
// off-site copy and drills, credentials, env and file secrets.
std::string full_spec(const std::filesystem::path& dir);

}  // namespace steward::test
