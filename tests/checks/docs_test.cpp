// The user documentation stays true: docs/gate.md lists exactly the rule table, every link between
// README.md and docs/ points at a file and heading that exist, and no page names C++ internals.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "checks/gate.hpp"
#include "tests/support/steward_process.hpp"

namespace steward::checks {
namespace {

namespace fs = std::filesystem;

fs::path root() { return ::steward::test::source_dir(); }

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// README.md and every page under docs/.
std::vector<fs::path> user_pages() {
    std::vector<fs::path> pages{root() / "README.md"};
    for (const auto& e : fs::directory_iterator(root() / "docs"))
        if (e.path().extension() == ".md") pages.push_back(e.path());
    return pages;
}

// Lines outside ``` code blocks.
std::vector<std::string> prose_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    bool code = false;
    while (std::getline(in, line)) {
        if (line.rfind("```", 0) == 0) {
            code = !code;
            continue;
        }
        if (!code) out.push_back(line);
    }
    return out;
}

// GitHub's heading anchors: lowercase, punctuation dropped, spaces to '-', repeats get -1, -2, ...
std::set<std::string> anchors(const std::string& text) {
    std::set<std::string> out;
    std::map<std::string, int> seen;
    for (const auto& line : prose_lines(text)) {
        if (line.empty() || line[0] != '#') continue;
        std::string title = line.substr(line.find_first_not_of('#'));
        std::string slug;
        for (unsigned char c : title) {
            if (std::isalnum(c) || c == '-' || c == '_')
                slug.push_back(static_cast<char>(std::tolower(c)));
            else if (c == ' ')
                slug.push_back('-');
            else if (c >= 0x80)
                slug.push_back(static_cast<char>(c));
        }
        while (!slug.empty() && slug.front() == '-') slug.erase(0, 1);
        int n = seen[slug]++;
        out.insert(n == 0 ? slug : slug + "-" + std::to_string(n));
    }
    return out;
}

TEST(Docs, RuleTableListsExactlyTheRules) {
    std::string text = read(root() / "docs/gate.md");
    ASSERT_FALSE(text.empty()) << "docs/gate.md is missing";
    // Table rows: "| `id` | development | staging | production | needs | waivable | why |".
    std::regex row(R"(^\| `([a-z_]+\.[a-z_]+)` \| (\S+) \| (\S+) \| (\S+) \| (\S+) \| (yes|no) \| (.+) \|$)");
    std::map<std::string, std::vector<std::string>> documented;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, row)) documented[m[1]] = {m[2], m[3], m[4], m[5], m[6], m[7]};
    }
    auto sev = [](const std::optional<Severity>& s) { return s ? to_string(*s) : std::string("—"); };
    std::set<std::string> ids;
    for (const auto& r : rules()) {
        ids.insert(r.id);
        auto it = documented.find(r.id);
        if (it == documented.end()) {
            ADD_FAILURE() << r.id << " is not in docs/gate.md (run scripts/rule-table --write docs/gate.md)";
            continue;
        }
        EXPECT_EQ(it->second,
                  (std::vector<std::string>{sev(r.development), sev(r.staging), sev(r.production),
                                            to_string(r.needs), r.waivable ? "yes" : "no", r.why}))
            << r.id << " differs from the table (run scripts/rule-table --write docs/gate.md)";
    }
    for (const auto& [id, _] : documented)
        EXPECT_TRUE(ids.count(id)) << id << " is documented but is not a rule";
}

TEST(Docs, EveryLinkPointsAtAFileAndHeadingThatExist) {
    std::regex link(R"(\]\(([^)\s]+)\))");
    int checked = 0;
    for (const auto& page : user_pages()) {
        std::string text = read(page);
        for (const auto& line : prose_lines(text)) {
            for (std::sregex_iterator it(line.begin(), line.end(), link), end; it != end; ++it) {
                std::string target = (*it)[1];
                if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) continue;
                std::string file = target.substr(0, target.find('#'));
                std::string anchor =
                    target.find('#') == std::string::npos ? "" : target.substr(target.find('#') + 1);
                fs::path dest = file.empty() ? page : (page.parent_path() / file).lexically_normal();
                ++checked;
                if (!fs::exists(dest)) {
                    ADD_FAILURE() << page.filename() << ": link to " << target << ": no file " << dest;
                    continue;
                }
                if (!anchor.empty()) {
                    EXPECT_TRUE(anchors(read(dest)).count(anchor))
                        << page.filename() << ": link to " << target << ": no such heading in " << dest;
                }
            }
        }
    }
    EXPECT_GT(checked, 10) << "the pages should link to each other";
}

TEST(Docs, ReadmeLinksEveryReferencePage) {
    std::string readme = read(root() / "README.md");
    for (const char* page : {"spec", "gate", "migrations", "backups", "cli", "json"})
        EXPECT_NE(readme.find(std::string("(docs/") + page + ".md)"), std::string::npos)
            << "README.md does not link docs/" << page << ".md";
    EXPECT_NE(readme.find("make demo"), std::string::npos);
    EXPECT_NE(readme.find("make test"), std::string::npos);
}

TEST(Docs, NoCppNamesInUserPages) {
    // migrate::run_startup_migrations, pg::migration_lock_key: internals, not something a user can use.
    std::regex cpp(R"(\b[a-z_]+::[a-z_]+)");
    for (const auto& page : user_pages())
        for (const auto& line : prose_lines(read(page))) {
            std::smatch m;
            if (std::regex_search(line, m, cpp))
                ADD_FAILURE() << page.filename() << " names " << m.str(0) << ": " << line;
        }
}

}  // namespace
}  // namespace steward::checks
