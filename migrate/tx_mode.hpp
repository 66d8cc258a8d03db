// How a migration file runs (in one transaction, statement by statement, as written), from core's SQL scan.
#pragma once

#include <string>

#include "core/sql_scanner.hpp"

namespace steward::migrate {

// The scanner lives in core (backup replays SQL with it too); migrate uses its names unqualified.
using sql::byte_offset_of_char;
using sql::position_of;
using sql::scan_sql;
using sql::ScanResult;
using sql::Statement;
using sql::TextPosition;

enum class TxMode {
    transaction,     // the whole file and its history row in one transaction
    no_transaction,  // statement by statement, no transaction (marked or detected)
    as_written,      // the file manages its own BEGIN/COMMIT; statement by statement
};
std::string to_string(TxMode);
TxMode tx_mode(const ScanResult& scan);

}  // namespace steward::migrate
