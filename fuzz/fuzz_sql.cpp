// Fuzzes the SQL scanner: statements and meta-commands stay inside the text, in order, without overlap.
#include <string>

#include "core/sql_scanner.hpp"
#include "fuzz/fuzz_target.hpp"

STEWARD_FUZZ_TARGET(sql) {
    auto text = steward::fuzz::as_text(data, size);
    auto r = steward::sql::scan_sql(text);
    std::size_t previous_end = 0;
    for (const auto& s : r.statements) {
        STEWARD_FUZZ_CHECK(s.begin <= s.end && s.end <= text.size(), text);
        STEWARD_FUZZ_CHECK(s.begin >= previous_end, text);
        previous_end = s.end;
    }
    for (const auto& m : r.meta_commands) STEWARD_FUZZ_CHECK(m.begin <= m.end && m.end <= text.size(), text);
    auto p = steward::sql::position_of(text, text.size() / 2);
    STEWARD_FUZZ_CHECK(p.line >= 1 && p.column >= 1, text);
    STEWARD_FUZZ_CHECK(steward::sql::byte_offset_of_char(text, static_cast<long>(size) + 5) <= text.size(),
                       text);
    STEWARD_FUZZ_CHECK(steward::sql::byte_offset_of_char(text, -3) <= text.size(), text);
    return 0;
}
