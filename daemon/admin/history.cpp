// The console's history: fixed memory whatever the uptime.
#include "daemon/admin/history.hpp"

#include <boost/json.hpp>

namespace steward::admin {
namespace {
std::int64_t unix_seconds(History::TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
}  // namespace

History::History(std::size_t max_events, std::size_t buckets, std::chrono::seconds bucket)
    : max_events_(max_events), buckets_(buckets), bucket_(bucket) {}

void History::event(const std::string& kind, const std::string& text, bool ok, TimePoint at) {
    events_.push_back({at, kind, text.substr(0, 500), ok});
    while (events_.size() > max_events_) events_.pop_front();
}

void History::probe_result(const std::string& probe, bool ok, double seconds, TimePoint at) {
    auto& ring = probes_[probe];
    if (ring.empty()) ring.resize(buckets_);
    std::int64_t start = unix_seconds(at) / bucket_.count() * bucket_.count();
    auto& b = ring[static_cast<std::size_t>(start / bucket_.count()) % buckets_];
    if (b.start != start) b = Bucket{start, 0, 0, 0};
    b.max_seconds = std::max(b.max_seconds, static_cast<float>(seconds));
    if (b.checks < UINT16_MAX) ++b.checks;
    if (!ok && b.failures < UINT16_MAX) ++b.failures;
}

void History::forget_probe(const std::string& probe) { probes_.erase(probe); }

boost::json::value History::since(TimePoint since) const {
    std::int64_t from = unix_seconds(since);
    boost::json::array events;
    for (const auto& e : events_)
        if (unix_seconds(e.at) >= from)
            events.push_back(boost::json::object{
                {"at", unix_seconds(e.at)}, {"kind", e.kind}, {"text", e.text}, {"ok", e.ok}});
    boost::json::object probes;
    for (const auto& [name, ring] : probes_) {
        std::vector<const Bucket*> used;
        for (const auto& b : ring)
            if (b.checks > 0 && b.start + bucket_.count() > from) used.push_back(&b);
        std::sort(used.begin(), used.end(),
                  [](const Bucket* a, const Bucket* b) { return a->start < b->start; });
        boost::json::array points;
        for (const auto* b : used)
            points.push_back(boost::json::object{{"t", b->start},
                                                 {"max_seconds", static_cast<double>(b->max_seconds)},
                                                 {"checks", b->checks},
                                                 {"failures", b->failures}});
        probes[name] = std::move(points);
    }
    return boost::json::object{{"events", std::move(events)}, {"probes", std::move(probes)}};
}

}  // namespace steward::admin
