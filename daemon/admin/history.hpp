// Recent history for the console: a bounded ring of events and, per probe, an hour of latency buckets.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace steward::admin {

class History {
  public:
    using TimePoint = std::chrono::system_clock::time_point;
    // At most `max_events` events; per probe `buckets` buckets of `bucket` each (default: one hour in 10 s).
    explicit History(std::size_t max_events = 500, std::size_t buckets = 360,
                     std::chrono::seconds bucket = std::chrono::seconds(10));

    void event(const std::string& kind, const std::string& text, bool ok, TimePoint at);
    void probe_result(const std::string& probe, bool ok, double seconds, TimePoint at);
    void forget_probe(const std::string& probe);

    // {"events": [...], "probes": {name: [{"t", "max_seconds", "checks", "failures"}...]}} after `since`.
    boost::json::value since(TimePoint since) const;
    std::size_t event_count() const { return events_.size(); }

  private:
    struct Event {
        TimePoint at;
        std::string kind;
        std::string text;
        bool ok;
    };
    struct Bucket {
        std::int64_t start = 0;  // unix seconds
        float max_seconds = 0;
        std::uint16_t checks = 0;
        std::uint16_t failures = 0;
    };
    std::size_t max_events_;
    std::size_t buckets_;
    std::chrono::seconds bucket_;
    std::deque<Event> events_;
    std::map<std::string, std::vector<Bucket>>
        probes_;  // ring per probe, indexed by start / bucket % buckets
};

}  // namespace steward::admin
