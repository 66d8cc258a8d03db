// Routing, authentication and the generic errors (404, 405, 401, 403, 413, 415) of the admin API.
#include "daemon/admin/router.hpp"

#include <boost/json.hpp>

#include "core/json.hpp"

namespace steward::admin {
namespace {

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        out.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> percent_decode(const std::string& s, bool plus_is_space) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return std::nullopt;
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            out += ' ';
        } else {
            out += s[i];
        }
    }
    if (out.find('\0') != std::string::npos) return std::nullopt;
    return out;
}

// Matches a pattern's segments; {x} captures one decoded segment.
bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
           std::map<std::string, std::string>& params) {
    if (pattern.size() != path.size()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const auto& p = pattern[i];
        if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
            auto v = decode_segment(path[i]);
            if (!v || v->empty()) return false;
            params[p.substr(1, p.size() - 2)] = *v;
        } else if (p != path[i]) {
            return false;
        }
    }
    return true;
}

std::string bearer(const Request& r) {
    std::string h = r.header("authorization");
    if (h.size() < 7) return {};
    std::string scheme = h.substr(0, 7);
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "bearer ") return {};
    std::string token = h.substr(7);
    while (!token.empty() && (token.front() == ' ')) token.erase(token.begin());
    while (!token.empty() && (token.back() == ' ')) token.pop_back();
    return token;
}

bool is_json(const std::string& content_type) {
    std::string t = content_type.substr(0, content_type.find(';'));
    for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t == "application/json";
}

}  // namespace

std::string Request::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

std::string json_body(const boost::json::value& v) { return write_json(v); }  // the one JSON writer

Response error_response(int status, const std::string& code, const std::string& message) {
    Response r;
    r.status = status;
    r.body = json_body(boost::json::object{{"error", {{"code", code}, {"message", message}}}});
    return r;
}

std::optional<std::string> decode_segment(const std::string& segment) {
    if (segment.find("%2f") != std::string::npos || segment.find("%2F") != std::string::npos)
        return std::nullopt;
    return percent_decode(segment, false);
}

std::optional<std::map<std::string, std::string>> parse_query(const std::string& query) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start < query.size()) {
        auto end = query.find('&', start);
        if (end == std::string::npos) end = query.size();
        std::string pair = query.substr(start, end - start);
        if (!pair.empty()) {
            auto eq = pair.find('=');
            auto k = percent_decode(pair.substr(0, eq), true);
            auto v = percent_decode(eq == std::string::npos ? "" : pair.substr(eq + 1), true);
            if (!k || !v) return std::nullopt;
            out[*k] = *v;
        }
        start = end + 1;
    }
    return out;
}

Response Router::handle(const Request& req, const AuthConfig& auth) const {
    auto finish = [](Response r, bool api) {
        if (api) r.set("Cache-Control", "no-store");
        return r;
    };
    const std::string& target = req.target;
    if (target.empty() || target.front() != '/' || target.size() > 2048)
        return finish(
            error_response(400, "bad_request", "the request target must be a path of at most 2048 bytes"),
            true);
    auto q = target.find('?');
    std::string path = target.substr(0, q);
    bool api = path.rfind("/api/", 0) == 0;
    auto query = parse_query(q == std::string::npos ? "" : target.substr(q + 1));
    if (!query) return finish(error_response(400, "bad_request", "malformed query string"), api);
    auto segments = split_path(path);
    // No dot segments, no empty segments inside the path: one spelling per resource.
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const auto& s = segments[i];
        if (s == "." || s == ".." || s == "%2e" || s == "%2E" || s == "%2e%2e" || s == "%2E%2E" ||
            (s.empty() && i + 1 < segments.size()))
            return finish(error_response(404, "not_found", "no such route"), api);
    }
    std::vector<std::string> allowed;
    for (const auto& route : routes_) {
        std::map<std::string, std::string> params;
        if (!match(split_path(route.pattern), segments, params)) continue;
        if (route.method != req.method) {
            if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end())
                allowed.push_back(route.method);
            continue;
        }
        bool needs_token =
            route.access == Access::token || (route.access == Access::metrics && auth.metrics_auth);
        if (needs_token) {
            if (!auth.token_configured)
                return finish(
                    error_response(
                        403, "no_token_configured",
                        "the admin API needs a token: set admin.token: \"secret:NAME\" in the spec"),
                    true);
            std::string presented = bearer(req);
            if (presented.empty() || !auth.token_matches(presented)) {
                auto r = error_response(401, "unauthorized", "missing or wrong bearer token");
                r.set("WWW-Authenticate", "Bearer");
                return finish(r, true);
            }
        }
        if (req.body.size() > kMaxBody)
            return finish(error_response(413, "too_large", "request bodies are limited to 64 KiB"), api);
        if (req.method == "POST" && !is_json(req.header("content-type")))
            return finish(
                error_response(415, "unsupported_media_type", "POST bodies must be application/json"), api);
        if (req.method == "POST" && !req.body.empty()) {
            boost::system::error_code ec;
            auto parsed = boost::json::parse(req.body, ec);
            if (ec || !parsed.is_object())
                return finish(error_response(400, "bad_json", "the body must be a JSON object"), api);
        }
        return finish(route.handler(RouteCall{req, std::move(params), std::move(*query)}), api);
    }
    if (!allowed.empty()) {
        std::string allow;
        for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
        // The method is the client's text: named only when it is one of HTTP's, never echoed otherwise.
        static const std::vector<std::string> known = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
        bool standard = std::find(known.begin(), known.end(), req.method) != known.end();
        auto r = error_response(405, "method_not_allowed",
                                (standard ? req.method : std::string("this method")) + " is not allowed here; use " +
                                    allow);
        r.set("Allow", allow);
        return finish(r, api);
    }
    return finish(error_response(404, "not_found", "no such route; GET /api/v1/help lists them"), api);
}

}  // namespace steward::admin
