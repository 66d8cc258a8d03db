// docs/admin-api.md and docs/metrics.md list exactly the route table and the metric table.
// STEWARD_UPDATE_DOCS=1 rewrites the generated blocks instead of failing.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <fstream>

#include "daemon/admin/api.hpp"
#include "daemon/admin/metrics.hpp"
#include "daemon/run/daemon.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace steward;

namespace {

std::string type_name(prometheus::MetricType t) {
    switch (t) {
        case prometheus::MetricType::Counter:
            return "counter";
        case prometheus::MetricType::Gauge:
            return "gauge";
        case prometheus::MetricType::Histogram:
            return "histogram";
        default:
            return "untyped";
    }
}

// Compares (or with STEWARD_UPDATE_DOCS rewrites) the lines between <!-- NAME:begin --> and <!-- NAME:end
// -->.
void check_block(const std::string& doc, const std::string& name, const std::string& expected) {
    auto path = std::filesystem::path(test::source_dir()) / doc;
    std::string text = test::read_file(path);
    std::string begin = "<!-- " + name + ":begin -->\n", end = "<!-- " + name + ":end -->";
    auto b = text.find(begin), e = text.find(end);
    ASSERT_NE(b, std::string::npos) << doc << " lacks " << begin;
    ASSERT_NE(e, std::string::npos) << doc << " lacks " << end;
    std::string current = text.substr(b + begin.size(), e - b - begin.size());
    if (current == expected) return;
    if (std::getenv("STEWARD_UPDATE_DOCS")) {
        std::ofstream(path) << text.substr(0, b + begin.size()) << expected << text.substr(e);
        return;
    }
    ADD_FAILURE() << doc << " is out of date (run this test with STEWARD_UPDATE_DOCS=1); expected:\n"
                  << expected;
}

}  // namespace

TEST(Docs, MetricsPageListsTheMetricTable) {
    std::string table = "| name | type | labels | meaning |\n| --- | --- | --- | --- |\n";
    for (const auto& m : admin::metric_table()) {
        std::string labels;
        for (const auto& l : m.labels) labels += (labels.empty() ? "`" : ", `") + l + "`";
        table += "| `" + m.name + "` | " + type_name(m.type) + " | " + (labels.empty() ? "" : labels) +
                 " | " + m.help + " |\n";
    }
    check_block("docs/metrics.md", "metrics", table);
}

TEST(Docs, AdminApiPageListsTheRouteTable) {
    test::TempDir dir;
    auto spec =
        std::make_shared<const Spec>(parse_spec("version: 1\nname: t\nenvironment: development\n"
                                                "database: { url: 'postgresql://a@127.0.0.1/t' }\n",
                                                dir / "steward.yaml"));
    boost::asio::io_context io;
    run::DaemonOptions o;
    o.spec = spec;
    run::Daemon daemon(io, o);
    admin::AdminApi api(daemon);
    std::string table = "| method | path | token | what |\n| --- | --- | --- | --- |\n";
    for (const auto& r : api.router().routes())
        table += "| " + r.method + " | `" + r.pattern + "` | " +
                 (r.access == admin::Access::token ? "yes" : "no") + " | " + r.help + " |\n";
    check_block("docs/admin-api.md", "routes", table);
}
