// A backup's files as the manifest lists them: path rules, opening without following symlinks, hash checks,
// and restore's verified copy (hashed while it is copied, so what was checked is what is restored).
#include "backup/backup_files.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include "backup/stream.hpp"

namespace steward::backup {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kChunk = 1 << 20;

std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s.substr(0, 200)) out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
    return out;
}

std::string to_hex(const unsigned char* d, unsigned n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < n; ++i) {
        s += digits[d[i] >> 4];
        s += digits[d[i] & 15];
    }
    return s;
}

// Writes a scratch file (created new, mode 0600); no fsync: the copy lives only as long as the restore.
class ScratchFile : public Sink {
  public:
    explicit ScratchFile(const fs::path& p) : path_(p) {
        fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd_ < 0) throw StreamError("create " + p.string() + ": " + std::strerror(errno));
    }
    ~ScratchFile() override {
        if (fd_ >= 0) ::close(fd_);
    }
    void write(const std::uint8_t* d, std::size_t n) override {
        FdSink(fd_, "write " + path_.string()).write(d, n);
    }
    void finish() override {
        int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) throw StreamError("close " + path_.string() + ": " + std::strerror(errno));
    }

  private:
    fs::path path_;
    int fd_ = -1;
};

class StringSink : public Sink {
  public:
    explicit StringSink(std::string& out) : out_(out) {}
    void write(const std::uint8_t* d, std::size_t n) override {
        out_.append(reinterpret_cast<const char*>(d), n);
    }
    void finish() override {}

  private:
    std::string& out_;
};

struct ReadResult {
    std::uint64_t bytes = 0;
    std::string sha256;
    bool too_large = false;    // stopped reading past the manifest's size
    std::string decode_error;  // the sink failed; hashing went on
};

// Reads `fd` to its end (or just past `limit`), hashing every byte and feeding `sink` until it fails.
ReadResult read_hashing(int fd, std::uint64_t limit, Sink* sink,
                        const std::function<void(std::uint64_t)>& on_bytes, std::uint64_t& total) {
    ReadResult r;
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
    std::vector<std::uint8_t> buf(kChunk);
    try {
        for (;;) {
            ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw StreamError(std::string("read: ") + std::strerror(errno));
            if (n == 0) break;
            EVP_DigestUpdate(md, buf.data(), static_cast<std::size_t>(n));
            r.bytes += static_cast<std::uint64_t>(n);
            total += static_cast<std::uint64_t>(n);
            if (on_bytes) on_bytes(total);
            if (r.bytes > limit) {
                r.too_large = true;
                break;
            }
            if (sink && r.decode_error.empty()) {
                try {
                    sink->write(buf.data(), static_cast<std::size_t>(n));
                } catch (const std::exception& e) {
                    r.decode_error = e.what();
                }
            }
        }
        if (sink && r.decode_error.empty() && !r.too_large) {
            try {
                sink->finish();
            } catch (const std::exception& e) {
                r.decode_error = e.what();
            }
        }
    } catch (...) {
        EVP_MD_CTX_free(md);
        throw;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    r.sha256 = to_hex(d, len);
    return r;
}

// The problem with file `f` after reading it, or "" when it matches the manifest.
std::string compare(const ManifestFile& f, const ReadResult& r) {
    if (r.too_large)
        return f.path + ": larger than the " + std::to_string(f.bytes) + " bytes the manifest says";
    if (r.bytes != f.bytes)
        return f.path + ": size " + std::to_string(r.bytes) + " bytes, manifest says " +
               std::to_string(f.bytes);
    if (r.sha256 != f.sha256) return f.path + ": SHA-256 mismatch (file changed or corrupted)";
    if (!r.decode_error.empty()) return f.path + ": " + r.decode_error;
    return {};
}

}  // namespace

std::vector<std::string> layout_problems(const BackupManifest& m) {
    std::vector<std::string> out;
    bool directory = m.format == "directory";
    if (m.format != "custom" && !directory) {
        out.push_back("manifest: unknown format '" + printable(m.format) +
                      "' (steward writes custom or directory)");
        return out;
    }
    if (m.encryption != "none" && m.encryption != kEncryptionScheme)
        out.push_back("manifest: unknown encryption '" + printable(m.encryption) + "'");
    std::set<std::string> seen;
    for (const auto& f : m.files) {
        const std::string& p = f.path;
        std::string shown = "manifest path '" + printable(p) + "'";
        bool escapes = p.empty() || p[0] == '/' || p == ".." || p.rfind("../", 0) == 0 ||
                       p.find("/../") != std::string::npos ||
                       (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0);
        if (escapes) {
            out.push_back(shown + " leaves the backup folder");
            continue;
        }
        bool in_dump = p.rfind("dump/", 0) == 0;
        std::string name = in_dump ? p.substr(5) : std::string();
        bool shaped = directory ? (p == "globals.sql" || (in_dump && !name.empty() && name != "." &&
                                                          name.find('/') == std::string::npos &&
                                                          name.find('\0') == std::string::npos))
                                : (p == "dump" || p == "globals.sql");
        if (!shaped) {
            out.push_back(shown + " is not a file steward writes for the " + m.format + " format");
            continue;
        }
        if (!seen.insert(p).second) out.push_back(shown + " is listed twice");
    }
    const char* dump = directory ? "dump/toc.dat" : "dump";
    if (!seen.count(dump))
        out.push_back(std::string("manifest lists no ") + dump + " (the " + m.format + " format's dump)");
    if (!seen.count("globals.sql")) out.push_back("manifest lists no globals.sql");
    return out;
}

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

Fd open_backup_folder(const fs::path& folder) {
    int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(folder.string() + (errno == ELOOP || errno == ENOTDIR
                                                        ? ": not a folder (a symbolic link or a file)"
                                                        : ": " + std::string(std::strerror(errno))));
    return Fd(fd);
}

Fd open_backup_file(const Fd& folder, const std::string& rel) {
    int dir = folder.get();
    Fd sub;
    std::string name = rel;
    if (auto slash = rel.find('/'); slash != std::string::npos) {
        int d = ::openat(dir, rel.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
            throw std::runtime_error(rel.substr(0, slash) +
                                     (errno == ELOOP || errno == ENOTDIR
                                          ? ": not a folder (a symbolic link or a file)"
                                      : errno == ENOENT ? ": missing"
                                                        : ": " + std::string(std::strerror(errno))));
        sub = Fd(d);
        dir = d;
        name = rel.substr(slash + 1);
    }
    // O_NONBLOCK: a FIFO must not hang the open; fstat then refuses it.
    int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(rel + (errno == ELOOP
                                            ? ": a symbolic link (it may lead outside the backup folder)"
                                        : errno == ENOENT ? ": missing"
                                                          : ": " + std::string(std::strerror(errno))));
    Fd file(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw std::runtime_error(rel + ": not a regular file");
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return file;
}

std::vector<std::string> check_files(const fs::path& folder, const BackupManifest& m) {
    std::vector<std::string> out;
    Fd dir;
    try {
        dir = open_backup_folder(folder);
    } catch (const std::exception& e) {
        return {e.what()};
    }
    std::uint64_t total = 0;
    for (const auto& f : m.files) {
        try {
            Fd in = open_backup_file(dir, f.path);
            if (auto p = compare(f, read_hashing(in.get(), f.bytes, nullptr, {}, total)); !p.empty())
                out.push_back(p);
        } catch (const std::exception& e) {
            out.push_back(e.what());
        }
    }
    return out;
}

VerifiedCopy copy_verified(const fs::path& folder, const BackupManifest& m, const std::optional<Secret>& key,
                           const fs::path& scratch, const std::function<void(std::uint64_t)>& on_bytes) {
    VerifiedCopy out;
    out.problems = layout_problems(m);
    if (m.encryption != "none" && !key)
        out.problems.push_back("backup " + m.id +
                               " is encrypted: set backups.encryption.key (the key it was made with)");
    if (!out.problems.empty()) return out;
    Fd dir;
    try {
        dir = open_backup_folder(folder);
    } catch (const std::exception& e) {
        out.problems.push_back(e.what());
        return out;
    }
    out.dump = scratch / "dump";
    if (m.format == "directory") {
        fs::create_directory(out.dump);
        fs::permissions(out.dump, fs::perms::owner_all);
    }
    std::uint64_t total = 0;
    for (const auto& f : m.files) {
        try {
            Fd in = open_backup_file(dir, f.path);
            std::unique_ptr<Sink> file, dec, zstd;
            StringSink globals(out.globals_sql);
            Sink* head = &globals;
            if (f.path != "globals.sql") {
                file = std::make_unique<ScratchFile>(
                    f.path == "dump" ? out.dump : out.dump / fs::path(f.path).filename());
                head = file.get();
            }
            if (f.path == "dump" && m.compression.rfind("zstd", 0) == 0) {
                zstd = make_zstd_decompressor(*head);
                head = zstd.get();
            }
            if (m.encryption != "none") {
                dec = make_decryptor(*head, *key, file_binding(m.id, f.path), !m.mac.empty());
                head = dec.get();
            }
            if (auto p = compare(f, read_hashing(in.get(), f.bytes, head, on_bytes, total)); !p.empty())
                out.problems.push_back(p);
        } catch (const std::exception& e) {
            out.problems.push_back(e.what());
        }
    }
    return out;
}

}  // namespace steward::backup
