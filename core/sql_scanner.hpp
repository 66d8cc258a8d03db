// SQL scanning without a server: statement splitting, psql meta-command detection, offset mapping.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace steward::sql {

// One top-level statement: [begin, end) in the source, from its first token through its
// terminating ';' (or the end of the text). Comments before the first token are excluded.
struct Statement {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::string keywords;  // first few words, upper-cased and single-spaced: "CREATE INDEX CONCURRENTLY"
};

// A psql meta-command: a backslash outside quotes, comments and dollar bodies, through the end of its
// line ([begin, end) excludes the newline). The server never sees these; psql runs them (`\! cmd`).
struct MetaCommand {
    std::size_t begin = 0;
    std::size_t end = 0;
};

struct ScanResult {
    std::vector<Statement> statements;  // comment-only text yields none
    // Where psql would run a meta-command. Statements still contain their text: callers that replay SQL
    // without psql refuse them (or blank out the ones they accept) before running anything.
    std::vector<MetaCommand> meta_commands;
    bool marked_no_transaction =
        false;                         // "-- steward:no-transaction" / "-- morph:nontransactional" on line 1
    std::string needs_no_transaction;  // first statement that cannot run in a transaction block ("" if none)
    bool own_transaction = false;      // a top-level BEGIN/START TRANSACTION/COMMIT/ROLLBACK/END
    bool unterminated = false;         // the text ends inside a quote, comment or dollar body
};

// Splits `sql` into statements, honouring -- and nested /* */ comments, '...' and E'...'
// strings, "..." identifiers, $tag$...$tag$ bodies and BEGIN ATOMIC ... END function bodies.
ScanResult scan_sql(std::string_view sql);

// 1-based line and column (in characters) of a byte offset.
struct TextPosition {
    int line = 1;
    int column = 1;
};
TextPosition position_of(std::string_view text, std::size_t byte_offset);

// PostgreSQL reports error positions as 1-based character indexes into the statement it got;
// this turns one into a byte offset into `text` (clamped to its size).
std::size_t byte_offset_of_char(std::string_view text, long char_position);

}  // namespace steward::sql
