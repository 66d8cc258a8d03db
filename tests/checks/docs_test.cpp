// README.md lists exactly the rules of the rule table, so the README never drifts from the code.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "checks/gate.hpp"
#include "tests/support/steward_process.hpp"

namespace steward::checks {
namespace {

TEST(Docs, RuleTableListsExactlyTheRules) {
    std::ifstream in(std::string(::steward::test::source_dir()) + "/README.md");
    ASSERT_TRUE(in) << "README.md is missing";
    std::stringstream text;
    text << in.rdbuf();
    // Table rows of the rule table: "| `id` | development | staging | production | needs | why |".
    std::regex row(R"(^\| `([a-z_]+\.[a-z_]+)` \| (\S+) \| (\S+) \| (\S+) \| (\S+) \| (.+) \|$)");
    std::map<std::string, std::vector<std::string>> documented;
    std::string line;
    while (std::getline(text, line)) {
        std::smatch m;
        if (std::regex_match(line, m, row)) documented[m[1]] = {m[2], m[3], m[4], m[5], m[6]};
    }
    auto sev = [](const std::optional<Severity>& s) { return s ? to_string(*s) : std::string("—"); };
    std::set<std::string> ids;
    for (const auto& r : rules()) {
        ids.insert(r.id);
        auto it = documented.find(r.id);
        if (it == documented.end()) {
            ADD_FAILURE() << r.id << " is not in README.md (run scripts/rule-table)";
            continue;
        }
        EXPECT_EQ(it->second, (std::vector<std::string>{sev(r.development), sev(r.staging), sev(r.production),
                                                        to_string(r.needs), r.why}))
            << r.id << " differs from the table (run scripts/rule-table)";
    }
    for (const auto& [id, _] : documented)
        EXPECT_TRUE(ids.count(id)) << id << " is documented but is not a rule";
}

}  // namespace
}  // namespace steward::checks
