// One fuzz entry point per file, built either as a libFuzzer target or into the corpus replay driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace steward::fuzz {

using Entry = int (*)(const std::uint8_t*, std::size_t);

// The replay driver's table of entry points (filled by STEWARD_FUZZ_TARGET before main runs).
void register_target(const char* name, Entry entry);
struct Registration {
    Registration(const char* name, Entry entry) { register_target(name, entry); }
};

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A broken property: print it and abort, so libFuzzer saves the input and the replay test fails.
[[noreturn]] inline void property_failed(const char* what, std::string_view detail) {
    std::fprintf(stderr, "fuzz property failed: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

}  // namespace steward::fuzz

#define STEWARD_FUZZ_CHECK(cond, detail)                                \
    do {                                                                \
        if (!(cond)) ::steward::fuzz::property_failed(#cond, (detail)); \
    } while (0)

#ifdef STEWARD_LIBFUZZER
#define STEWARD_FUZZ_TARGET(name)                                                       \
    static int steward_fuzz_##name(const std::uint8_t*, std::size_t);                   \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
        return steward_fuzz_##name(data, size);                                         \
    }                                                                                   \
    static int steward_fuzz_##name(const std::uint8_t* data, std::size_t size)
#else
#define STEWARD_FUZZ_TARGET(name)                                                                            \
    static int steward_fuzz_##name(const std::uint8_t*, std::size_t);                                        \
    static const ::steward::fuzz::Registration steward_fuzz_registration_##name(#name, steward_fuzz_##name); \
    static int steward_fuzz_##name(const std::uint8_t* data, std::size_t size)
#endif
