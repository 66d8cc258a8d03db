// SQL scanning without a server: statement splitting, transaction-mode detection, offset mapping.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace steward::migrate {

// One top-level statement: [begin, end) in the source, from its first token through its
// terminating ';' (or the end of the text). Comments before the first token are excluded.
struct Statement {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::string keywords;  // first few words, upper-cased and single-spaced: "CREATE INDEX CONCURRENTLY"
};

struct ScanResult {
    std::vector<Statement> statements;  // comment-only text yields none
    bool marked_no_transaction =
        false;                         // "-- steward:no-transaction" / "-- morph:nontransactional" on line 1
    std::string needs_no_transaction;  // first statement that cannot run in a transaction block ("" if none)
    bool own_transaction = false;      // a top-level BEGIN/START TRANSACTION/COMMIT/ROLLBACK/END
    bool unterminated = false;         // the text ends inside a quote, comment or dollar body
};

// Splits `sql` into statements, honouring -- and nested /* */ comments, '...' and E'...'
// strings, "..." identifiers, $tag$...$tag$ bodies and BEGIN ATOMIC ... END function bodies.
ScanResult scan_sql(std::string_view sql);

// How a file runs.
enum class TxMode {
    transaction,     // the whole file and its history row in one transaction
    no_transaction,  // statement by statement, no transaction (marked or detected)
    as_written,      // the file manages its own BEGIN/COMMIT; statement by statement
};
std::string to_string(TxMode);
TxMode tx_mode(const ScanResult& scan);

// 1-based line and column (in characters) of a byte offset.
struct TextPosition {
    int line = 1;
    int column = 1;
};
TextPosition position_of(std::string_view text, std::size_t byte_offset);

// PostgreSQL reports error positions as 1-based character indexes into the statement it got;
// this turns one into a byte offset into `text` (clamped to its size).
std::size_t byte_offset_of_char(std::string_view text, long char_position);

}  // namespace steward::migrate
