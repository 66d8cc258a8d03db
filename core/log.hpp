// Logging: one named spdlog logger per subsystem, constant messages plus key=value fields.
#pragma once

#include <boost/json/value.hpp>
#include <initializer_list>
#include <string>
#include <string_view>

namespace steward::log {

enum class Format { text, json };

struct Options {
    std::string level = "info";  // trace|debug|info|warn|error|critical|off
    Format format = Format::text;
};

// Logs go to stderr. Under systemd (JOURNAL_STREAM set) text lines carry <N> priority
// prefixes and no timestamps. Throws std::invalid_argument for an unknown level.
void setup(const Options& options);
Format parse_format(const std::string& text);  // throws std::invalid_argument

struct Field {
    std::string key;
    boost::json::value value;
    Field(std::string k, boost::json::value v) : key(std::move(k)), value(std::move(v)) {}
    Field(std::string k, std::string_view v) : key(std::move(k)), value(boost::json::string(v)) {}
    Field(std::string k, const char* v) : key(std::move(k)), value(boost::json::string(v)) {}
    Field(std::string k, const std::string& v) : key(std::move(k)), value(boost::json::string(v)) {}
};
using Fields = std::initializer_list<Field>;

// `logger` is the subsystem ("migrate", "backup", "gate", ...). Every string passes
// through redact() before it is written.
void debug(std::string_view logger, std::string_view msg, Fields fields = {});
void info(std::string_view logger, std::string_view msg, Fields fields = {});
void warn(std::string_view logger, std::string_view msg, Fields fields = {});
void error(std::string_view logger, std::string_view msg, Fields fields = {});

}  // namespace steward::log
