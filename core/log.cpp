// Log line formatting (text, journal, JSON) on top of spdlog's thread-safe stderr sink.
#include "core/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "core/json.hpp"
#include "core/secret.hpp"

namespace steward::log {
namespace {

enum class Style { terminal, plain, journal, json };

struct State {
    std::mutex mutex;
    std::shared_ptr<spdlog::logger> logger;
    std::atomic<Style> style{Style::plain};
    Style detected = Style::plain;  // what stderr is (terminal, journal, plain): text's style
    std::atomic<spdlog::level::level_enum> level{spdlog::level::info};
};

State& state() {
    static State s;
    return s;
}

std::shared_ptr<spdlog::logger> sink_logger() {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    if (!s.logger) {
        s.logger =
            std::make_shared<spdlog::logger>("steward", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        s.logger->set_pattern("%v");
        s.logger->set_level(spdlog::level::trace);
        s.logger->flush_on(spdlog::level::trace);
        if (std::getenv("JOURNAL_STREAM"))
            s.detected = Style::journal;
        else if (::isatty(STDERR_FILENO))
            s.detected = Style::terminal;
        s.style = s.detected;
    }
    return s.logger;
}

// 2026-11-23T12:33:30.123Z
std::string utc_timestamp() {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)),
                       ms);
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

std::string text_value(const boost::json::value& v) {
    if (v.is_string()) {
        std::string s(v.get_string());
        // Quoted (and so escaped) when it would otherwise blur into the next field or line.
        if (s.empty() || s.find_first_of(" \"=") != std::string::npos || has_control(s)) return write_json(v);
        return s;
    }
    if (v.is_double()) return fmt::format("{:.3f}", v.get_double());
    return write_json(v);
}

// A text log line is one line: control characters in a message (a backup id with a newline, an
// attacker's file name) are escaped, so nobody can forge a line of their own.
std::string escape_controls(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (u < 0x20 || u == 0x7F)
            out += fmt::format("\\x{:02x}", u);
        else
            out.push_back(c);
    }
    return out;
}

void write(spdlog::level::level_enum level, std::string_view logger, std::string_view msg, Fields fields) {
    auto out = sink_logger();
    auto& s = state();
    if (level < s.level) return;
    const char* names[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    std::string line;
    if (s.style == Style::json) {
        boost::json::object o;
        o["ts"] = utc_timestamp();
        o["level"] = names[level];
        o["logger"] = logger;
        o["msg"] = redact(std::string(msg));
        for (const auto& f : fields) {
            if (f.value.is_string())
                o[f.key] = redact(std::string(f.value.get_string()));
            else if (f.value.is_structured())
                o[f.key] = boost::json::parse(redact(write_json(f.value)));
            else
                o[f.key] = f.value;
        }
        line = write_json(o);
    } else {
        std::string body = fmt::format("[{}] {}", logger, escape_controls(msg));
        for (const auto& f : fields)
            body += fmt::format(" {}={}", escape_controls(f.key), text_value(f.value));
        body = redact(std::move(body));
        switch (s.style.load()) {
            case Style::journal: {
                int prio = level >= spdlog::level::err    ? 3
                           : level == spdlog::level::warn ? 4
                           : level == spdlog::level::info ? 6
                                                          : 7;
                line = fmt::format("<{}>{}", prio, body);
                break;
            }
            case Style::terminal: {
                const char* colour = level >= spdlog::level::err    ? "\033[31m"
                                     : level == spdlog::level::warn ? "\033[33m"
                                                                    : "\033[2m";
                line = fmt::format("{} {}{:<5}\033[0m {}", utc_timestamp().substr(11, 8), colour,
                                   names[level], body);
                break;
            }
            default:
                line = fmt::format("{} {:<5} {}", utc_timestamp(), names[level], body);
        }
    }
    out->log(level, line);
}

}  // namespace

Format parse_format(const std::string& text) {
    if (text == "text") return Format::text;
    if (text == "json") return Format::json;
    throw std::invalid_argument("log format '" + text + "': expected text or json");
}

void setup(const Options& options) {
    sink_logger();
    auto level = spdlog::level::from_str(options.level);
    if (level == spdlog::level::off && options.level != "off")
        throw std::invalid_argument("log level '" + options.level +
                                    "': expected trace, debug, info, warn, error or off");
    auto& s = state();
    std::lock_guard lock(s.mutex);
    s.level = level;
    s.style = options.format == Format::json ? Style::json : s.detected;
}

void debug(std::string_view logger, std::string_view msg, Fields fields) {
    write(spdlog::level::debug, logger, msg, fields);
}
void info(std::string_view logger, std::string_view msg, Fields fields) {
    write(spdlog::level::info, logger, msg, fields);
}
void warn(std::string_view logger, std::string_view msg, Fields fields) {
    write(spdlog::level::warn, logger, msg, fields);
}
void error(std::string_view logger, std::string_view msg, Fields fields) {
    write(spdlog::level::err, logger, msg, fields);
}

}  // namespace steward::log
