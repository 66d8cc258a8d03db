// The console's files as the binary carries them (generated from daemon/admin/console/ by embed.cmake).
#pragma once

#include <span>
#include <string_view>

namespace steward::admin::console {

struct Asset {
    std::string_view path;          // "/" for index.html, "/console/NAME" for the others
    std::string_view content_type;  // with charset for text
    std::string_view body;
};

std::span<const Asset> assets();

}  // namespace steward::admin::console
