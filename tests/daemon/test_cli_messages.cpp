// What the CLI prints when things go wrong or are asked for: valid JSON with `ok` everywhere, plain
// numbers, commands that name themselves, help that shows every option that works there.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;
using test::run_steward;

namespace {

boost::json::object parse_object(const std::string& out) {
    boost::json::value v;
    EXPECT_NO_THROW(v = boost::json::parse(out)) << out;  // Boost.JSON rejects invalid UTF-8
    EXPECT_TRUE(v.is_object()) << out;
    return v.is_object() ? v.as_object() : boost::json::object{};
}

}  // namespace

TEST(CliJson, NumbersArePlainDecimals) {
    test::TempDir dir;
    // Nothing listens on port 1: the backup fails fast, and its document still carries a duration.
    auto r = run_steward({"backup", "now", "--json", "--dir", dir.path().string(), "--database-url",
                          "postgresql://x@127.0.0.1:1/x"});
    EXPECT_EQ(r.status, 1) << r.err;
    auto doc = parse_object(r.out);
    ASSERT_TRUE(doc.contains("duration_seconds")) << r.out;
    EXPECT_FALSE(std::regex_search(r.out, std::regex(R"([0-9][eE][-+]?[0-9])"))) << r.out;
}

TEST(CliJson, EveryDocumentHasOk) {
    test::TempDir dir;
    for (std::vector<std::string> args :
         {std::vector<std::string>{"backup", "list", "--json", "--dir", dir.path().string()},
          {"check", "--list-rules", "--json"}}) {
        auto r = run_steward(args);
        EXPECT_EQ(r.status, 0) << r.err;
        auto doc = parse_object(r.out);
        ASSERT_TRUE(doc.contains("ok")) << args[0] << " " << args[1] << ": " << r.out;
        EXPECT_EQ(doc.at("ok"), true);
    }
}

TEST(CliJson, InvalidUtf8InTheSpecBecomesValidJson) {
    test::TempDir dir;
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: chat\nenvironment: production\n"
                          "database:\n  url: postgresql://chat@127.0.0.1/chat\n"
                          "security: { base_url: \"http://chat.\xff\xfe.example\" }\n");
    auto r = run_steward({"--spec", spec.string(), "check", "--json", "--no-secrets"});
    EXPECT_EQ(r.status, 1) << r.err;
    auto doc = parse_object(r.out);
    EXPECT_NE(r.out.find("http://chat.\xEF\xBF\xBD\xEF\xBF\xBD.example"), std::string::npos) << r.out;
}
