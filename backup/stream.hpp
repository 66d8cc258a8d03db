// Byte pipelines for backup data: zstd, secretstream encryption, hashing file output, and their inverses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/secret.hpp"

namespace steward::backup {

// Thrown by any stage; the message says which stage and why (e.g. "write dump: No space left on device").
class StreamError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Thrown when the caller's cancel flag is set (the daemon is stopping): children are killed, nothing kept.
class Cancelled : public StreamError {
  public:
    Cancelled() : StreamError("cancelled") {}
};

// A stage that takes bytes; finish() flushes and closes the chain behind it.
class Sink {
  public:
    virtual ~Sink() = default;
    virtual void write(const std::uint8_t* data, std::size_t size) = 0;
    virtual void finish() = 0;
};

// Writes to a new file (O_EXCL), hashing with SHA-256; finish() fsyncs and closes.
class FileSink : public Sink {
  public:
    explicit FileSink(const std::filesystem::path& path);
    ~FileSink() override;
    void write(const std::uint8_t* data, std::size_t size) override;
    void finish() override;
    std::uint64_t bytes() const { return bytes_; }
    const std::string& sha256() const { return sha256_; }  // hex, after finish()

  private:
    std::filesystem::path path_;
    int fd_ = -1;
    void* md_ = nullptr;  // EVP_MD_CTX
    std::uint64_t bytes_ = 0;
    std::string sha256_;
};

// Writes to a file descriptor it does not own (a child's stdin); finish() closes it if asked.
class FdSink : public Sink {
  public:
    FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
    void write(const std::uint8_t* data, std::size_t size) override;
    void finish() override {}

  private:
    int fd_;
    std::string what_;
};

// Discards bytes (counts them).
class NullSink : public Sink {
  public:
    void write(const std::uint8_t*, std::size_t size) override { bytes_ += size; }
    void finish() override {}
    std::uint64_t bytes() const { return bytes_; }

  private:
    std::uint64_t bytes_ = 0;
};

// zstd compression; workers > 0 enables libzstd's multi-threaded mode.
std::unique_ptr<Sink> make_zstd_compressor(Sink& next, int level, int workers);
// zstd decompression; finish() fails on a truncated frame.
std::unique_ptr<Sink> make_zstd_decompressor(Sink& next);
// libsodium secretstream (XChaCha20-Poly1305) with a key derived from `key`. A non-empty `binding` (see
// file_binding) is the additional data of every chunk: the file then decrypts only as that file of that
// backup. Empty writes the older, unbound format (backups made before binding).
std::unique_ptr<Sink> make_encryptor(Sink& next, const Secret& key, const std::string& binding = {});
// Inverse; fails on a wrong key, tampering, a missing final chunk (truncation), a file bound to another
// backup or path, and a format other than `bound` asks for (a bound file in a backup whose manifest lost its
// MAC; an unbound, older file in an authenticated backup).
std::unique_ptr<Sink> make_decryptor(Sink& next, const Secret& key, const std::string& binding, bool bound);

// The additional data that binds an encrypted file to backup `id` and its path in the backup folder.
std::string file_binding(const std::string& id, const std::string& path);

// HMAC-SHA-512-256 (libsodium crypto_auth) of `message` under a key derived from `key` (hex), and its
// constant-time check. Authenticates a backup's manifest.
std::string manifest_mac(const Secret& key, const std::string& message);
bool manifest_mac_matches(const Secret& key, const std::string& message, const std::string& mac_hex);

// Reads a whole fd into `sink` (not finishing it); `on_bytes` is told the running total.
std::uint64_t pump_fd(int fd, Sink& sink, const std::string& what,
                      const std::function<void(std::uint64_t)>& on_bytes = {});
// Reads a file into `sink` and finishes the sink.
void pump_file(const std::filesystem::path& path, Sink& sink,
               const std::function<void(std::uint64_t)>& on_bytes = {});

// SHA-256 (hex) and size of a file, read in full.
struct FileDigest {
    std::uint64_t bytes = 0;
    std::string sha256;
};
FileDigest digest_file(const std::filesystem::path& path);

// fsync a file or directory by path.
void fsync_path(const std::filesystem::path& path);

// The encryption scheme's name for manifests.
inline constexpr const char* kEncryptionScheme = "libsodium-secretstream-xchacha20poly1305";

}  // namespace steward::backup
