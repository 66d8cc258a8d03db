// Printing connection strings without their passwords: redact_url rebuilds what libpq parsed, scrub_error
// takes every form of the password out of an error text.
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/pg.hpp"
#include "core/secret.hpp"

namespace steward::pg {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;  // libpq's keyword order

bool is_secret_keyword(const std::string& k) { return k == "password" || k == "sslpassword"; }

std::optional<Params> libpq_parse(const std::string& text) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(text.c_str(), &err);
    if (err) PQfreemem(err);
    if (!opts) return std::nullopt;
    Params out;
    for (auto* o = opts; o->keyword; ++o)
        if (o->val) out.emplace_back(o->keyword, o->val);
    PQconninfoFree(opts);
    return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        auto end = s.find(sep, start);
        out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) return out;
        start = end + 1;
    }
}

// A parse libpq accepts but that only an unencoded '@', '/', '?' or '#' in a password produces: a host or
// database name with '@', a port that is not a number. Such a parse may hold pieces of the password in
// fields that are not the password, so nothing of it is printed.
bool misparsed(const Params& params) {
    for (const auto& [k, v] : params) {
        if ((k == "host" || k == "hostaddr" || k == "dbname") && v.find('@') != std::string::npos)
            return true;
        if (k == "port")
            for (const auto& p : split(v, ','))
                if (!std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); }))
                    return true;
    }
    return false;
}

std::string percent_encode(const std::string& v, const char* keep = "") {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : v) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '*' ||
            (c != 0 && std::strchr(keep, c) != nullptr)) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string quote_kv(const std::string& v) {
    bool plain = !v.empty() && std::none_of(v.begin(), v.end(), [](unsigned char c) {
        return std::isspace(c) || c == '\'' || c == '\\';
    });
    if (plain) return v;
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string rebuild_uri(const std::string& scheme, const Params& params) {
    std::string user, host, port, dbname;
    bool has_password = false;
    Params query;
    for (const auto& [k, v] : params) {
        if (k == "user")
            user = v;
        else if (k == "password")
            has_password = true;
        else if (k == "host")
            host = v;
        else if (k == "port")
            port = v;
        else if (k == "dbname")
            dbname = v;
        else
            query.emplace_back(k, is_secret_keyword(k) ? "***" : v);
    }
    std::string authority;
    if (!user.empty() || has_password) authority = percent_encode(user) + (has_password ? ":***" : "") + "@";
    auto hosts = split(host, ','), ports = split(port, ',');
    bool sockets = std::any_of(hosts.begin(), hosts.end(),
                               [](const std::string& h) { return !h.empty() && h[0] == '/'; });
    bool paired = !host.empty() && !sockets && (ports.size() == 1 || ports.size() == hosts.size());
    if (paired) {
        for (std::size_t i = 0; i < hosts.size(); ++i) {
            if (i) authority += ',';
            const auto& h = hosts[i];
            authority += h.find(':') != std::string::npos ? "[" + h + "]" : percent_encode(h);
            const auto& p = ports.size() == hosts.size() ? ports[i] : ports[0];
            if (!p.empty()) authority += ":" + p;
        }
    } else {
        if (!host.empty()) query.insert(query.begin(), {"host", host});
        if (!port.empty()) query.insert(query.begin() + (host.empty() ? 0 : 1), {"port", port});
    }
    std::string out = scheme + "://" + authority;
    if (!dbname.empty() || !query.empty()) out += "/" + percent_encode(dbname);
    for (std::size_t i = 0; i < query.size(); ++i)
        out += (i ? "&" : "?") + query[i].first + "=" + percent_encode(query[i].second, ",");
    return out;
}

std::string percent_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

struct Candidates {
    std::vector<std::string> all;  // every form and piece of the password that could be quoted back
    bool clean = false;            // libpq read each password exactly as it is written
};

// Every form in which the password of `url` could be quoted back: as written (a URI's userinfo after the
// first ':' up to the last '@', whatever follows "password="), decoded, libpq's own parse, and the pieces
// libpq makes of it when an unencoded '@', '/', '?' or '#' splits it.
Candidates password_candidates(const std::string& url) {
    Candidates c;
    std::vector<std::string> written;
    auto add = [&](const std::string& v) {
        if (v.empty()) return;
        c.all.push_back(v);
        if (auto d = percent_decode(v); d != v) c.all.push_back(d);
        for (std::size_t start = 0, cut; start < v.size(); start = cut + 1) {
            cut = v.find_first_of("@/?#&", start);
            if (cut == std::string::npos) cut = v.size();
            if (cut - start >= 4 && cut - start < v.size()) c.all.push_back(v.substr(start, cut - start));
        }
    };
    bool uri = url.find("://") != std::string::npos;
    if (uri) {
        std::string rest = url.substr(url.find("://") + 3);
        auto at = rest.rfind('@');
        auto colon = rest.find(':');
        if (at != std::string::npos && colon != std::string::npos && colon < at) {
            written.push_back(rest.substr(colon + 1, at - colon - 1));
            add(written.back());
        }
    }
    for (auto p = url.find("password"); p != std::string::npos; p = url.find("password", p + 1)) {
        auto eq = url.find_first_not_of(' ', p + 8);
        if (eq == std::string::npos || url[eq] != '=') continue;
        auto v = url.find_first_not_of(' ', eq + 1);
        if (v == std::string::npos) continue;
        bool quoted = url[v] == '\'';
        if (quoted) ++v;
        auto stop = url.find_first_of(quoted ? "'" : "& ", v);
        written.push_back(url.substr(v, (stop == std::string::npos ? url.size() : stop) - v));
        add(written.back());
        add(url.substr(v));  // the whole tail: an unencoded '&' or ' ' may be part of it
    }
    std::vector<std::string> parsed;
    auto params = libpq_parse(url);
    if (params)
        for (const auto& [k, v] : *params)
            if (is_secret_keyword(k)) {
                parsed.push_back(v);
                add(v);
            }
    c.clean = params && !misparsed(*params) &&
              std::all_of(written.begin(), written.end(), [&](const std::string& w) {
                  return std::find(parsed.begin(), parsed.end(), uri ? percent_decode(w) : w) != parsed.end();
              });
    return c;
}

bool overlaps(const std::string& fragment, const std::string& region) {
    if (fragment.size() < 3 || region.empty()) return false;
    if (region.find(fragment) != std::string::npos || fragment.find(region) != std::string::npos) return true;
    std::size_t k = std::min<std::size_t>({4, fragment.size(), region.size()});
    for (std::size_t i = 0; i + k <= fragment.size(); ++i)
        if (region.find(fragment.substr(i, k)) != std::string::npos) return true;
    return false;
}

// Masks every double-quoted piece of `error` that overlaps a candidate.
std::string mask_quoted(const std::vector<std::string>& candidates, const std::string& error) {
    std::string out;
    std::size_t pos = 0;
    while (pos < error.size()) {
        auto open = error.find('"', pos);
        auto close = open == std::string::npos ? std::string::npos : error.find('"', open + 1);
        if (close == std::string::npos) {
            out += error.substr(pos);
            break;
        }
        std::string fragment = error.substr(open + 1, close - open - 1);
        bool secret = std::any_of(candidates.begin(), candidates.end(), [&](const std::string& r) {
            return overlaps(fragment, r) || fragment == r;
        });
        out += error.substr(pos, open + 1 - pos) + (secret ? "***" : fragment) + '"';
        pos = close + 1;
    }
    return out;
}

}  // namespace

std::string redact_url(std::string_view url) {
    std::string s(url);
    if (s.empty()) return s;
    std::string scheme;
    for (const char* p : {"postgresql://", "postgres://"})
        if (s.rfind(p, 0) == 0) scheme = std::string(p, std::strlen(p) - 3);
    auto params = libpq_parse(s);
    if (!params || misparsed(*params)) return scheme.empty() ? "***" : scheme + "://***";
    // A password repeated in another field (user = password) is masked there too.
    std::vector<std::string> secrets;
    for (const auto& [k, v] : *params)
        if (is_secret_keyword(k) && v.size() >= 4) secrets.push_back(v);
    for (auto& [k, v] : *params) {
        if (is_secret_keyword(k)) continue;
        for (const auto& pw : secrets)
            if (v.find(pw) != std::string::npos) v = "***";
    }
    if (!scheme.empty()) return rebuild_uri(scheme, *params);
    std::string out;
    for (const auto& [k, v] : *params) {
        if (!out.empty()) out += ' ';
        out += k + "=" + (is_secret_keyword(k) ? std::string("***") : quote_kv(v));
    }
    return out;
}

std::string scrub_error(const std::string& url, std::string message) {
    auto c = password_candidates(url);
    // Read as written: libpq's messages never hold a piece of it, so only whole forms are masked and the
    // text stays readable. Otherwise (a parse error, an unencoded '@' that split it across fields) every run
    // of 4 or more characters that also occurs in a form of the password goes, wherever libpq cut it.
    const std::size_t run = c.clean ? std::numeric_limits<std::size_t>::max() : 4;
    std::vector<bool> hide(message.size(), false);
    for (const auto& pw : c.all) {
        if (pw.size() < 4) continue;  // a short one could be any word: masked only where quoted (below)
        if (c.clean) {
            for (auto pos = message.find(pw); pos != std::string::npos; pos = message.find(pw, pos + 1))
                std::fill(hide.begin() + static_cast<std::ptrdiff_t>(pos),
                          hide.begin() + static_cast<std::ptrdiff_t>(pos + pw.size()), true);
            continue;
        }
        for (std::size_t i = 0; i < message.size(); ++i) {
            std::size_t best = 0;
            for (std::size_t j = 0; j + run <= pw.size(); ++j) {
                std::size_t k = 0;
                while (i + k < message.size() && j + k < pw.size() && message[i + k] == pw[j + k]) ++k;
                best = std::max(best, k);
            }
            if (best >= run)
                std::fill(hide.begin() + static_cast<std::ptrdiff_t>(i),
                          hide.begin() + static_cast<std::ptrdiff_t>(i + best), true);
        }
    }
    std::string out;
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (!hide[i])
            out += message[i];
        else if (i == 0 || !hide[i - 1])
            out += "***";
    }
    return redact(mask_quoted(c.all, out));
}

std::string safe_parse_error(const std::string& url, const std::string& error) {
    return mask_quoted(password_candidates(url).all, error);
}

}  // namespace steward::pg
