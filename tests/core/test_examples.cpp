// Every example spec shipped with steward loads without error.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/spec.hpp"

using namespace steward;

TEST(Examples, EveryShippedSpecLoads) {
    auto env = [](const std::string& name) -> std::optional<std::string> {
        if (name == "DATABASE_URL") return "postgresql://chat@db.internal:5432/chat?sslmode=verify-full";
        return std::nullopt;
    };
    int loaded = 0;
    for (const char* dir : {"configs", "examples"}) {
        for (auto& e :
             std::filesystem::recursive_directory_iterator(std::filesystem::path(STEWARD_SOURCE_DIR) / dir)) {
            if (e.path().extension() != ".yaml") continue;
            if (e.path().string().find("/rendered/") != std::string::npos)
                continue;  // steward render's output
            SCOPED_TRACE(e.path().string());
            EXPECT_NO_THROW(load_spec(e.path(), env));
            ++loaded;
        }
    }
    EXPECT_GE(loaded, 4);
}
