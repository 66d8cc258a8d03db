// Fuzzes migration file names and versions: parsing, ordering (antisymmetric) and the pure set builder.
#include <string>
#include <vector>

#include "fuzz/fuzz_target.hpp"
#include "migrate/migration_files.hpp"

namespace m = steward::migrate;

STEWARD_FUZZ_TARGET(migration_names) {
    std::string text(steward::fuzz::as_text(data, size));
    // Lines are file names; the first two are also compared as versions.
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size() && lines.size() < 64) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    std::vector<m::FileEntry> files;
    for (const auto& name : lines) {
        auto parsed = m::parse_file_name(name);
        if (parsed && !parsed->version.empty()) {
            STEWARD_FUZZ_CHECK(m::compare_versions(parsed->version, parsed->version) == 0, name);
            if (m::valid_version(parsed->version)) m::normalize_version(parsed->version);
        }
        files.push_back({name, "SELECT 1;"});
    }
    if (lines.size() >= 2) {
        int ab = m::compare_versions(lines[0], lines[1]);
        int ba = m::compare_versions(lines[1], lines[0]);
        STEWARD_FUZZ_CHECK((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0), text);
    }
    try {
        m::build_migration_set("/nonexistent/migrations", files);
    } catch (const m::MigrationDirError&) {
    }
    return 0;
}
