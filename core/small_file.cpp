// Non-blocking, type- and size-checked reads of small files (secrets, env files).
#include "core/small_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace steward {

SmallFile read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
    SmallFile f;
    // Check the type on the descriptor we read from, so nothing can be swapped in between.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int err = errno;
        f.status = err == ENOENT ? SmallFile::Status::missing : SmallFile::Status::unreadable;
        f.exists = err != ENOENT;
        f.error = fmt::format("file {} cannot be read: {}", path.string(), std::strerror(err));
        return f;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        f.status = SmallFile::Status::unreadable;
        f.error = fmt::format("file {} cannot be read: {}", path.string(), std::strerror(errno));
        ::close(fd);
        return f;
    }
    f.exists = true;
    f.mode = st.st_mode & 07777;
    f.owner = st.st_uid;
    if (!S_ISREG(st.st_mode)) {
        f.status = SmallFile::Status::not_regular;
        f.error = fmt::format("file {} is not a regular file", path.string());
        ::close(fd);
        return f;
    }
    if (static_cast<std::size_t>(st.st_size) > max_bytes) {
        f.status = SmallFile::Status::too_large;
        f.error =
            fmt::format("file {} is {} bytes; at most {} are read", path.string(), st.st_size, max_bytes);
        ::close(fd);
        return f;
    }
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            f.status = SmallFile::Status::unreadable;
            f.error = fmt::format("file {} cannot be read: {}", path.string(), std::strerror(errno));
            f.text.clear();
            break;
        }
        if (n == 0) break;
        f.text.append(buf, static_cast<std::size_t>(n));
        if (f.text.size() > max_bytes) {  // it grew while we read
            f.status = SmallFile::Status::too_large;
            f.error = fmt::format("file {} is larger than {} bytes", path.string(), max_bytes);
            f.text.clear();
            break;
        }
    }
    ::close(fd);
    return f;
}

}  // namespace steward
