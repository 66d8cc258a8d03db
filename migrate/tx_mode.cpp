// A migration file's transaction mode from its scan: a marker or a statement that needs no transaction
// wins, then the file's own transaction control.
#include "migrate/tx_mode.hpp"

namespace steward::migrate {

std::string to_string(TxMode m) {
    switch (m) {
        case TxMode::transaction:
            return "transaction";
        case TxMode::no_transaction:
            return "no-transaction";
        case TxMode::as_written:
            return "as-written";
    }
    return "transaction";
}

TxMode tx_mode(const ScanResult& scan) {
    if (scan.marked_no_transaction || !scan.needs_no_transaction.empty()) return TxMode::no_transaction;
    if (scan.own_transaction) return TxMode::as_written;
    return TxMode::transaction;
}

}  // namespace steward::migrate
