// Small pieces of the spec model: names, durations, signals, compression, lookups.
#include "core/spec.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>

namespace steward {

std::string SpecError::format(const std::string& m, const std::string& f, Mark k) {
    if (f.empty()) return m;
    if (!k.present()) return fmt::format("{}: {}", f, m);
    return fmt::format("{}:{}:{}: {}", f, k.line, k.column, m);
}

std::string to_string(Environment e) {
    switch (e) {
        case Environment::development:
            return "development";
        case Environment::staging:
            return "staging";
        case Environment::production:
            return "production";
    }
    return "?";
}

std::string to_string(SecretKind k) {
    switch (k) {
        case SecretKind::token:
            return "token";
        case SecretKind::password:
            return "password";
        case SecretKind::key:
            return "key";
    }
    return "?";
}

std::string to_string(const Compression& c) {
    switch (c.algorithm) {
        case Compression::Algorithm::zstd:
            return fmt::format("zstd:{}", c.level);
        case Compression::Algorithm::gzip:
            return fmt::format("gzip:{}", c.level);
        case Compression::Algorithm::none:
            return "none";
    }
    return "?";
}

Mark Spec::mark_of(const std::string& path) const {
    auto it = marks.find(path);
    return it == marks.end() ? Mark{} : it->second;
}

const SecretSpec* Spec::find_secret(const std::string& name) const {
    for (const auto& s : secrets)
        if (s.name == name) return &s;
    return nullptr;
}

bool Spec::is_unknown(const std::string& path) const {
    // A finding on a path is unknown when the path, a parent or a child of it came from an unset ${VAR}.
    for (const auto& [p, _] : unknown) {
        const std::string& a = p.size() <= path.size() ? p : path;
        const std::string& b = p.size() <= path.size() ? path : p;
        if (b.compare(0, a.size(), a) == 0 &&
            (b.size() == a.size() || b[a.size()] == '.' || b[a.size()] == '['))
            return true;
    }
    return false;
}

std::optional<Environment> parse_environment(const std::string& text) {
    if (text == "development") return Environment::development;
    if (text == "staging") return Environment::staging;
    if (text == "production") return Environment::production;
    return std::nullopt;
}

std::optional<std::filesystem::path> default_spec_path() {
    for (const char* p : {"steward.yaml", "/etc/steward/steward.yaml"}) {
        std::error_code ec;
        if (std::filesystem::exists(p, ec)) return std::filesystem::absolute(p);
    }
    return std::nullopt;
}

Duration parse_duration(const std::string& text) {
    const std::string expected = "expected a duration such as 500ms, 10s, 5m, 1h or 7d";
    std::size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == 0 || i > 10) throw std::invalid_argument(fmt::format("'{}': {}", text, expected));
    long long n = std::stoll(text.substr(0, i));
    std::string unit = text.substr(i);
    long long per = unit == "ms"  ? 1
                    : unit == "s" ? 1000
                    : unit == "m" ? 60'000
                    : unit == "h" ? 3'600'000
                    : unit == "d" ? 86'400'000
                                  : 0;
    if (per == 0) throw std::invalid_argument(fmt::format("'{}': {}", text, expected));
    // n has at most 10 digits, so n * per fits in 64 bits; the bound keeps every later use in range.
    if (n * per > kMaxDuration.count())
        throw std::invalid_argument(
            fmt::format("'{}' is longer than the limit of {}ms (24d 20h 31m 23.647s): "
                        "PostgreSQL's timeouts take at most {} milliseconds",
                        text, kMaxDuration.count(), kMaxDuration.count()));
    return Duration(n * per);
}

std::string format_duration(Duration d) {
    auto ms = d.count();
    if (ms % 86400000 == 0 && ms != 0) return fmt::format("{}d", ms / 86400000);
    if (ms % 3600000 == 0 && ms != 0) return fmt::format("{}h", ms / 3600000);
    if (ms % 60000 == 0 && ms != 0) return fmt::format("{}m", ms / 60000);
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    return fmt::format("{}ms", ms);
}

std::optional<int> parse_signal(const std::string& name) {
    static const std::pair<const char*, int> table[] = {
        {"TERM", SIGTERM}, {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH}};
    std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
    for (auto& [k, v] : table)
        if (n == k) return v;
    return std::nullopt;
}

Compression parse_compression(const std::string& text) {
    const std::string expected = "expected zstd:N (1-19), gzip:N (0-9) or none";
    if (text == "none") return {Compression::Algorithm::none, 0};
    auto colon = text.find(':');
    std::string algo = text.substr(0, colon);
    std::string lvl = colon == std::string::npos ? "" : text.substr(colon + 1);
    Compression c;
    if (algo == "zstd") {
        c.algorithm = Compression::Algorithm::zstd;
        c.level = 3;
    } else if (algo == "gzip") {
        c.algorithm = Compression::Algorithm::gzip;
        c.level = 6;
    } else {
        throw std::invalid_argument(fmt::format("'{}': {}", text, expected));
    }
    if (!lvl.empty()) {
        if (lvl.find_first_not_of("0123456789") != std::string::npos || lvl.size() > 2)
            throw std::invalid_argument(fmt::format("'{}': {}", text, expected));
        c.level = std::stoi(lvl);
        int max = c.algorithm == Compression::Algorithm::zstd ? 19 : 9;
        int min = c.algorithm == Compression::Algorithm::zstd ? 1 : 0;
        if (c.level < min || c.level > max)
            throw std::invalid_argument(fmt::format("'{}': {}", text, expected));
    }
    return c;
}

}  // namespace steward
