// The one JSON writer: plain decimal numbers, valid UTF-8 always, and output any parser reads back.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/json.hpp"

using namespace steward;

TEST(Json, NumbersArePlainDecimals) {
    // Boost.JSON 1.81 writes these as 1.61805585E-1 and 0E0.
    EXPECT_EQ(write_json(0.161805585), "0.161805585");
    EXPECT_EQ(write_json(0.0), "0");
    EXPECT_EQ(write_json(-0.0), "0");
    EXPECT_EQ(write_json(1.5), "1.5");
    EXPECT_EQ(write_json(2.0), "2");
    EXPECT_EQ(write_json(1e20), "100000000000000000000");
    EXPECT_EQ(write_json(0.000001), "0.000001");
    EXPECT_EQ(write_json(std::nan("")), "null");
    EXPECT_EQ(write_json(boost::json::value(std::int64_t{-42})), "-42");
    EXPECT_EQ(write_json(boost::json::value(std::uint64_t{18446744073709551615ull})), "18446744073709551615");
    for (double d : {0.1, 1.0 / 3, 123456.789, 1e-9, 6.02214076e23}) {
        std::string text = write_json(d);
        EXPECT_EQ(text.find_first_of("eE"), std::string::npos) << text;
        EXPECT_EQ(boost::json::parse(text).as_double(), d) << text;
    }
}

TEST(Json, StringsAreValidUtf8AndEscaped) {
    EXPECT_EQ(write_json("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\u0001")");
    EXPECT_EQ(write_json("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"),
              "\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80\"");
    // A lone continuation byte, an overlong '/', a surrogate, a truncated sequence, 0xFF.
    EXPECT_EQ(write_json("a\x80z"), "\"a\xEF\xBF\xBDz\"");
    EXPECT_EQ(write_json("\xc0\xaf"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(write_json("\xed\xa0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(write_json("x\xe2\x82"), "\"x\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(write_json("\xff"), "\"\xEF\xBF\xBD\"");
    EXPECT_EQ(valid_utf8("ok \xff ok"), "ok \xEF\xBF\xBD ok");
}

TEST(Json, DocumentsRoundTripWithTheirKeysInOrder) {
    boost::json::object doc{{"ok", true},
                            {"duration_seconds", 0.25},
                            {"bad\xffkey", nullptr},
                            {"list", boost::json::array{1, "two", false, 3.5}},
                            {"nested", {{"x", 0.0}}}};
    std::string text = write_json(doc);
    EXPECT_EQ(
        text,
        "{\"ok\":true,\"duration_seconds\":0.25,\"bad\xEF\xBF\xBDkey\":null,\"list\":[1,\"two\",false,3.5],"
        "\"nested\":{\"x\":0}}");
    EXPECT_NO_THROW(boost::json::parse(text));
}
