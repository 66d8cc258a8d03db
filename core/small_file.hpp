// Reading a small file that someone else may have written (a secret, an env file) without trusting it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>

namespace steward {

struct SmallFile {
    enum class Status { ok, missing, not_regular, unreadable, too_large };
    Status status = Status::ok;
    std::string text;   // the content, when ok
    std::string error;  // what went wrong, naming the file
    bool exists = false;
    mode_t mode = 0;  // permission bits (07777), when it exists
    uid_t owner = 0;
    bool ok() const { return status == Status::ok; }
};

// Opens with O_NONBLOCK (a FIFO or a device never hangs the caller) following symlinks (Kubernetes
// secret volumes are symlinks), then requires fstat to show a regular file of at most `max_bytes`.
SmallFile read_small_file(const std::filesystem::path& path, std::size_t max_bytes = 1 << 20);

}  // namespace steward
