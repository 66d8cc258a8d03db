// Log lines: JSON objects with escaped fields, journal priority prefixes, redaction.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>

#include "core/log.hpp"
#include "core/secret.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

namespace {

// Captures what the logger writes to stderr while `fn` runs.
template <typename Fn>
std::string capture_stderr(Fn fn) {
    test::TempDir dir;
    auto path = dir / "stderr";
    std::fflush(stderr);
    int saved = ::dup(2);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
    fn();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    return test::read_file(path);
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto nl = s.find('\n'); nl != std::string::npos; nl = s.find('\n', start)) {
        out.push_back(s.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

}  // namespace

// One test covers the modes in order: the logger's style is process-wide state.
TEST(Log, JsonJournalAndRedaction) {
    log::setup({"debug", log::Format::json});
    std::string out = capture_stderr([] {
        log::info("migrate", "applied migration",
                  {{"version", "1.2"}, {"file", "we\"ird\nname.sql"}, {"ms", 12}});
        log::debug("backup", "detail");
    });
    auto ls = lines(out);
    ASSERT_EQ(ls.size(), 2u) << out;
    auto doc = boost::json::parse(ls[0]).as_object();
    EXPECT_EQ(doc.at("level"), "info");
    EXPECT_EQ(doc.at("logger"), "migrate");
    EXPECT_EQ(doc.at("msg"), "applied migration");
    EXPECT_EQ(doc.at("file"), "we\"ird\nname.sql");
    EXPECT_EQ(doc.at("ms"), 12);
    EXPECT_TRUE(doc.contains("ts"));
    EXPECT_EQ(boost::json::parse(ls[1]).as_object().at("level"), "debug");

    register_redaction("log-canary-5150-secret");
    out = capture_stderr([] {
        log::error("gate", "bad token log-canary-5150-secret",
                   {{"url", "postgresql://u:pw-in-url@h/d"}, {"v", "log-canary-5150-secret"}});
    });
    EXPECT_EQ(out.find("log-canary-5150-secret"), std::string::npos) << out;
    EXPECT_EQ(out.find("pw-in-url"), std::string::npos) << out;

    log::setup({"warn", log::Format::json});
    out = capture_stderr([] { log::info("x", "hidden"); });
    EXPECT_EQ(out, "");
    EXPECT_THROW(log::setup({"loud", log::Format::text}), std::invalid_argument);
}

// A value with a newline (a backup id, a file name from a hostile folder) cannot forge a log line.
TEST(Log, TextLinesEscapeControlCharacters) {
    log::setup({"info", log::Format::text});
    std::string out = capture_stderr([] {
        log::info("backup", "verifying\nFAKE error [backup] forged", {{"id", "chat-1\nERROR forged line"}});
        log::warn("backup", "bell\x07 and tab\tin the message", {{"k\nx", "v"}});
    });
    auto ls = lines(out);
    ASSERT_EQ(ls.size(), 2u) << out;
    EXPECT_NE(ls[0].find("verifying\\nFAKE error"), std::string::npos) << ls[0];
    EXPECT_NE(ls[0].find("id=\"chat-1\\nERROR forged line\""), std::string::npos) << ls[0];
    EXPECT_NE(ls[1].find("bell\\x07 and tab\\tin"), std::string::npos) << ls[1];
    EXPECT_NE(ls[1].find("k\\nx=v"), std::string::npos) << ls[1];
}

// JSON log lines are valid UTF-8 whatever bytes a spec value or file name carries.
TEST(Log, JsonLinesAreValidUtf8) {
    log::setup({"info", log::Format::json});
    std::string out = capture_stderr([] {
        log::info("gate", "bad \xff\xfe bytes", {{"path", "dir/\xc3\x28.sql"}, {"seconds", 0.161805585}});
    });
    log::setup({"info", log::Format::text});
    auto ls = lines(out);
    ASSERT_EQ(ls.size(), 1u) << out;
    EXPECT_EQ(ls[0].find("\xff"), std::string::npos);
    EXPECT_EQ(ls[0].find("E-1"), std::string::npos) << ls[0];
    auto doc = boost::json::parse(ls[0]).as_object();
    EXPECT_EQ(doc.at("msg"), "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
    EXPECT_EQ(doc.at("path"), "dir/\xEF\xBF\xBD(.sql");
    EXPECT_NE(ls[0].find("\"seconds\":0.161805585"), std::string::npos) << ls[0];
}
