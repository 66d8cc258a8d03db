// The console's routes and files without sockets: open routes with the confining headers, byte-exact
// embedding, and markup and script that a strict CSP allows and that never write HTML from data.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "daemon/admin/console/assets.hpp"
#include "daemon/admin/console/console.hpp"

using namespace steward::admin;

namespace {

Router console_router() {
    std::vector<Route> routes;
    add_console_routes(routes);
    return Router(std::move(routes));
}

AuthConfig with_token() {
    AuthConfig a;
    a.token_configured = true;
    a.token_matches = [](const std::string& p) { return p == "the-token"; };
    return a;
}

Request get(const std::string& target) {
    Request r;
    r.method = "GET";
    r.target = target;
    return r;
}

std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return {};
}

std::string asset(const std::string& path) {
    for (const auto& a : console::assets())
        if (a.path == path) return std::string(a.body);
    return {};
}

std::string source_file(const std::string& name) {
    std::ifstream in(std::string(STEWARD_SOURCE_DIR) + "/daemon/admin/console/" + name, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST(ConsoleRoutes, PageAndFilesNeedNoTokenAndCarryTheConfiningHeaders) {
    auto router = console_router();
    const std::map<std::string, std::string> types = {
        {"/", "text/html; charset=utf-8"},
        {"/console/console.js", "text/javascript; charset=utf-8"},
        {"/console/render.js", "text/javascript; charset=utf-8"},
        {"/console/format.js", "text/javascript; charset=utf-8"},
        {"/console/console.css", "text/css; charset=utf-8"},
        {"/console/icon.svg", "image/svg+xml"}};
    for (auto configured : {true, false}) {
        auto auth = configured ? with_token() : AuthConfig{};
        for (const auto& [path, type] : types) {
            auto r = router.handle(get(path), auth);
            EXPECT_EQ(r.status, 200) << path;
            EXPECT_EQ(r.content_type, type) << path;
            EXPECT_FALSE(r.body.empty()) << path;
            EXPECT_EQ(header(r, "Content-Security-Policy"),
                      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                      "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
                << path;
            EXPECT_EQ(header(r, "X-Frame-Options"), "DENY") << path;
            EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << path;
            EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer") << path;
        }
    }
    EXPECT_EQ(console::assets().size(), types.size());
    EXPECT_EQ(router.handle(get("/console/nope.js"), with_token()).status, 404);
    EXPECT_EQ(router.handle(get("/console/../console/console.js"), with_token()).status, 404);
    auto post = get("/");
    post.method = "POST";
    EXPECT_EQ(router.handle(post, with_token()).status, 405);
}

const std::vector<std::string> kScripts = {"console.js", "render.js", "format.js"};

TEST(ConsoleAssets, TheBinaryCarriesTheFilesByteForByte) {
    EXPECT_EQ(asset("/"), source_file("index.html"));
    for (std::string name : {"console.js", "render.js", "format.js", "console.css", "icon.svg"})
        EXPECT_EQ(asset("/console/" + name), source_file(name)) << name;
}

TEST(ConsoleAssets, MarkupHasNothingTheCspWouldBlockAndNothingFromElsewhere) {
    std::string html = asset("/");
    // Every script has a src; no <style> element, no style attribute, no on* handler, no javascript: URL.
    std::smatch m;
    const std::regex script("<script[^>]*>");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), script); it != std::sregex_iterator(); ++it)
        EXPECT_NE(it->str().find("src=\"/console/"), std::string::npos) << it->str();
    EXPECT_FALSE(std::regex_search(
        html, m, std::regex("<style|\\sstyle=|\\son[a-z]+=|javascript:", std::regex::icase)))
        << m.str();
    // Nothing fetched from another origin (no CDN, no web font).
    for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
             {"html", html}, {"css", asset("/console/console.css")}}) {
        EXPECT_FALSE(std::regex_search(text, m, std::regex("(src|href)=\"(https?:)?//|@import|url\\(")))
            << name << ": " << m.str();
    }
}

TEST(ConsoleAssets, ScriptWritesTextNeverMarkupAndKeepsTheTokenOutOfStorage) {
    const std::regex forbidden(
        "innerHTML|outerHTML|insertAdjacentHTML|document\\.write|\\beval\\(|new Function|localStorage\\.|"
        "document\\.cookie|setAttribute\\('style'|\\.style\\.|location\\.(href|search|hash)\\s*=|"
        "fetch\\(['\"`]https?:|import\\(|from '(https?:)?//");
    for (const auto& name : kScripts) {
        std::string js = asset("/console/" + name);
        ASSERT_FALSE(js.empty()) << name;
        std::smatch m;
        EXPECT_FALSE(std::regex_search(js, m, forbidden)) << name << ": " << m.str();
        // Only console.js talks to the API and holds the token.
        EXPECT_EQ(js.find("fetch(") != std::string::npos, name == "console.js") << name;
        EXPECT_EQ(js.find("token") != std::string::npos, name == "console.js") << name;
    }
    // The token travels only as a header built in one place.
    std::string js = asset("/console/console.js");
    EXPECT_NE(js.find("Authorization: 'Bearer ' + token"), std::string::npos);
    EXPECT_NE(js.find("credentials: 'omit'"), std::string::npos);
}
