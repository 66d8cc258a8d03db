// GFS retention: a pure function deciding which backups to keep and which rule kept each one.
#pragma once

#include <date/tz.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace steward::backup {

struct BackupEntry {
    std::string id;
    std::chrono::system_clock::time_point finished;
};

// rule: newest | keep_last | daily | weekly | monthly | expired (the first rule that keeps it).
struct RetentionDecision {
    std::string id;
    bool keep;
    std::string rule;
};

// Decisions in the order newest first (ties broken by id, descending). The newest backup is
// always kept (rule "newest"), even with every count at zero. Days, ISO weeks and months are
// calendar periods in `tz` (nullptr means UTC); each of daily/weekly/monthly keeps the newest
// backup of each of the last N periods that have a backup.
std::vector<RetentionDecision> plan_retention(std::vector<BackupEntry> entries, const RetentionSpec& spec,
                                              const date::time_zone* tz);

// Parses the UTC time out of a backup id "<name>-YYYYMMDDTHHMMSSZ"; nullopt if it is not one.
std::optional<std::chrono::system_clock::time_point> parse_backup_id_time(const std::string& id);

// True when `id` is a steward backup id for deployment `name` ("<name>-YYYYMMDDTHHMMSSZ").
bool is_backup_id(const std::string& id, const std::string& name);

}  // namespace steward::backup
