// ${VAR} interpolation: defaults, escapes, errors.
#include <gtest/gtest.h>

#include "core/interpolate.hpp"

using steward::interpolate;
using steward::InterpolationError;

namespace {
std::optional<std::string> env(const std::string& n) {
    if (n == "HOST") return "db.example.com";
    if (n == "EMPTY") return "";
    return std::nullopt;
}
}  // namespace

TEST(Interpolate, ReplacesVariables) {
    EXPECT_EQ(interpolate("postgresql://${HOST}/x", env), "postgresql://db.example.com/x");
    EXPECT_EQ(interpolate("${HOST}${HOST}", env), "db.example.comdb.example.com");
    EXPECT_EQ(interpolate("plain", env), "plain");
}

TEST(Interpolate, DefaultsApplyWhenUnsetOrEmpty) {
    EXPECT_EQ(interpolate("${NOPE:-fallback}", env), "fallback");
    EXPECT_EQ(interpolate("${EMPTY:-fallback}", env), "fallback");
    EXPECT_EQ(interpolate("${HOST:-fallback}", env), "db.example.com");
    EXPECT_EQ(interpolate("${NOPE:-}", env), "");
    EXPECT_EQ(interpolate("${EMPTY}", env), "");
}

TEST(Interpolate, DoubleDollarIsLiteral) {
    EXPECT_EQ(interpolate("$$", env), "$");
    EXPECT_EQ(interpolate("a$$b", env), "a$b");
    EXPECT_EQ(interpolate("$${HOST}", env), "${HOST}");
    EXPECT_EQ(interpolate("cost: 5$", env), "cost: 5$");
    EXPECT_EQ(interpolate("$HOST", env), "$HOST");
}

TEST(Interpolate, UnsetWithoutDefaultNamesTheVariable) {
    try {
        interpolate("x ${MISSING_VAR} y", env);
        FAIL();
    } catch (const InterpolationError& e) {
        EXPECT_NE(std::string(e.what()).find("MISSING_VAR is not set"), std::string::npos);
    }
}

TEST(Interpolate, MalformedReferences) {
    EXPECT_THROW(interpolate("${HOST", env), InterpolationError);
    EXPECT_THROW(interpolate("${}", env), InterpolationError);
    EXPECT_THROW(interpolate("${1X}", env), InterpolationError);
    EXPECT_THROW(interpolate("${A B}", env), InterpolationError);
}
