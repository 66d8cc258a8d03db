// The fault matrix's two settings: short in `make test`, long in `make faults` (STEWARD_FAULTS_LONG=1).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace steward::test {

inline bool long_faults() {
    const char* v = std::getenv("STEWARD_FAULTS_LONG");
    return v && std::string(v) == "1";
}

// `short_value` under make test, `long_value` under make faults.
template <typename T>
T fault_setting(T short_value, T long_value) {
    return long_faults() ? long_value : short_value;
}

// One line of the fault report: `make faults` collects these lines into its table.
inline void report_fault_figure(const std::string& fault_case, const std::string& figure,
                                const std::string& value) {
    std::printf("FAULT-REPORT | %s | %s | %s\n", fault_case.c_str(), figure.c_str(), value.c_str());
    std::fflush(stdout);
}

}  // namespace steward::test
