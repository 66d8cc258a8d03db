// Log line formatting (text, journal, JSON) on top of spdlog's thread-safe stderr sink.
#include "core/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "core/secret.hpp"

namespace steward::log {
namespace {

enum class Style { terminal, plain, journal, json };

struct State {
    std::mutex mutex;
    std::shared_ptr<spdlog::logger> logger;
    std::atomic<Style> style{Style::plain};
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
            s.style = Style::journal;
        else if (::isatty(STDERR_FILENO))
            s.style = Style::terminal;
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

std::string text_value(const boost::json::value& v) {
    if (v.is_string()) {
        std::string s(v.get_string());
        if (s.find_first_of(" \t\"=") != std::string::npos || s.empty()) return boost::json::serialize(v);
        return s;
    }
    if (v.is_double()) return fmt::format("{:.3f}", v.get_double());
    return boost::json::serialize(v);
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
                o[f.key] = boost::json::parse(redact(boost::json::serialize(f.value)));
            else
                o[f.key] = f.value;
        }
        line = boost::json::serialize(o);
    } else {
        std::string body = fmt::format("[{}] {}", logger, msg);
        for (const auto& f : fields) body += fmt::format(" {}={}", f.key, text_value(f.value));
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
    if (options.format == Format::json) s.style = Style::json;
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
