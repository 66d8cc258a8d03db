// Byte pipelines for backup data: zstd, secretstream encryption, hashing file output, and their inverses.
#include "backup/stream.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace steward::backup {
namespace {

constexpr std::size_t kChunk = 1 << 20;
constexpr std::size_t kMagicSize = 8;
constexpr char kMagic[kMagicSize] = {'S', 'T', 'W', 'D', 'E', 'N', 'C', '1'};       // unbound (older)
constexpr char kMagicBound[kMagicSize] = {'S', 'T', 'W', 'D', 'E', 'N', 'C', '2'};  // chunks carry binding

[[noreturn]] void fail_errno(const std::string& what) {
    throw StreamError(what + ": " + std::strerror(errno));
}

std::string to_hex(const unsigned char* d, unsigned n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(n * 2);
    for (unsigned i = 0; i < n; ++i) {
        s += digits[d[i] >> 4];
        s += digits[d[i] & 15];
    }
    return s;
}

void write_all(int fd, const std::uint8_t* data, std::size_t size, const std::string& what) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_errno(what);
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

class ZstdCompressor : public Sink {
  public:
    ZstdCompressor(Sink& next, int level, int workers)
        : next_(next), cctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
        if (!cctx_) throw StreamError("zstd: out of memory");
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
        if (workers > 0)
            ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, workers);  // ignored without MT support
    }
    ~ZstdCompressor() override { ZSTD_freeCCtx(cctx_); }
    void write(const std::uint8_t* data, std::size_t size) override { run(data, size, ZSTD_e_continue); }
    void finish() override {
        run(nullptr, 0, ZSTD_e_end);
        next_.finish();
    }

  private:
    void run(const std::uint8_t* data, std::size_t size, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{data, size, 0};
        for (;;) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            std::size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
            if (ZSTD_isError(left))
                throw StreamError(std::string("zstd compress: ") + ZSTD_getErrorName(left));
            if (out.pos > 0) next_.write(out_.data(), out.pos);
            bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
            if (done) break;
        }
    }
    Sink& next_;
    ZSTD_CCtx* cctx_;
    std::vector<std::uint8_t> out_;
};

class ZstdDecompressor : public Sink {
  public:
    explicit ZstdDecompressor(Sink& next)
        : next_(next), dctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize()) {
        if (!dctx_) throw StreamError("zstd: out of memory");
    }
    ~ZstdDecompressor() override { ZSTD_freeDCtx(dctx_); }
    void write(const std::uint8_t* data, std::size_t size) override {
        ZSTD_inBuffer in{data, size, 0};
        while (in.pos < in.size || pending_) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            std::size_t before = in.pos;
            std::size_t r = ZSTD_decompressStream(dctx_, &out, &in);
            if (ZSTD_isError(r)) throw StreamError(std::string("zstd decompress: ") + ZSTD_getErrorName(r));
            if (r == 0 || in.pos > before)
                last_ = r;  // an empty flush call returns a hint for the next frame
            if (out.pos > 0) next_.write(out_.data(), out.pos);
            pending_ = out.pos == out.size;  // output full: more may be buffered inside
            if (!pending_ && in.pos == in.size) break;
        }
    }
    void finish() override {
        if (last_ != 0) throw StreamError("zstd decompress: truncated stream (frame incomplete)");
        next_.finish();
    }

  private:
    Sink& next_;
    ZSTD_DCtx* dctx_;
    std::vector<std::uint8_t> out_;
    std::size_t last_ = 1;  // 0 once a frame is complete
    bool pending_ = false;
};

// A 32-byte key for one purpose ("steward-backup-key-v1", "steward-manifest-mac-v1") from the configured key.
void derive(const Secret& key, const char* context, unsigned char out[32]) {
    if (sodium_init() < 0) throw StreamError("libsodium initialisation failed");
    if (key.empty()) throw StreamError("encryption key is empty");
    crypto_generichash(out, 32, reinterpret_cast<const unsigned char*>(key.reveal().data()), key.size(),
                       reinterpret_cast<const unsigned char*>(context), std::strlen(context));
}

void derive_key(const Secret& key, unsigned char out[crypto_secretstream_xchacha20poly1305_KEYBYTES]) {
    static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == 32);
    derive(key, "steward-backup-key-v1", out);
}

const unsigned char* bytes_of(const std::string& s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

class Encryptor : public Sink {
  public:
    Encryptor(Sink& next, const Secret& key, std::string binding)
        : next_(next), binding_(std::move(binding)) {
        unsigned char k[crypto_secretstream_xchacha20poly1305_KEYBYTES];
        derive_key(key, k);
        unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
        crypto_secretstream_xchacha20poly1305_init_push(&state_, header, k);
        sodium_memzero(k, sizeof k);
        next_.write(reinterpret_cast<const std::uint8_t*>(binding_.empty() ? kMagic : kMagicBound),
                    kMagicSize);
        next_.write(header, sizeof header);
        buf_.reserve(kChunk);
        out_.resize(kChunk + crypto_secretstream_xchacha20poly1305_ABYTES);
    }
    void write(const std::uint8_t* data, std::size_t size) override {
        while (size > 0) {
            if (buf_.size() == kChunk) push(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
            std::size_t take = std::min(size, kChunk - buf_.size());
            buf_.insert(buf_.end(), data, data + take);
            data += take;
            size -= take;
        }
    }
    void finish() override {
        push(crypto_secretstream_xchacha20poly1305_TAG_FINAL);
        next_.finish();
    }

  private:
    void push(unsigned char tag) {
        unsigned long long n = 0;
        crypto_secretstream_xchacha20poly1305_push(&state_, out_.data(), &n, buf_.data(), buf_.size(),
                                                   binding_.empty() ? nullptr : bytes_of(binding_),
                                                   binding_.size(), tag);
        next_.write(out_.data(), static_cast<std::size_t>(n));
        buf_.clear();
    }
    Sink& next_;
    std::string binding_;
    crypto_secretstream_xchacha20poly1305_state state_{};
    std::vector<std::uint8_t> buf_;
    std::vector<std::uint8_t> out_;
};

class Decryptor : public Sink {
  public:
    Decryptor(Sink& next, const Secret& key, std::string binding, bool bound)
        : next_(next), binding_(std::move(binding)), bound_(bound) {
        derive_key(key, key_);
        out_.resize(kChunk);
    }
    ~Decryptor() override { sodium_memzero(key_, sizeof key_); }
    void write(const std::uint8_t* data, std::size_t size) override {
        constexpr std::size_t head = kMagicSize + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
        constexpr std::size_t frame = kChunk + crypto_secretstream_xchacha20poly1305_ABYTES;
        buf_.insert(buf_.end(), data, data + size);
        if (!started_) {
            if (buf_.size() < head) return;
            bool v1 = std::memcmp(buf_.data(), kMagic, kMagicSize) == 0;
            bool v2 = std::memcmp(buf_.data(), kMagicBound, kMagicSize) == 0;
            if (!v1 && !v2) throw StreamError("decrypt: not a steward encrypted file");
            if (v1 && bound_)
                throw StreamError(
                    "decrypt: an older file that is not bound to its backup, in an authenticated backup (was "
                    "it "
                    "copied in from another backup?)");
            if (v2 && !bound_)
                throw StreamError(
                    "decrypt: the file is bound to its backup but the manifest carries no MAC (was the "
                    "manifest "
                    "altered?)");
            if (v1) binding_.clear();
            if (crypto_secretstream_xchacha20poly1305_init_pull(&state_, buf_.data() + kMagicSize, key_) != 0)
                throw StreamError("decrypt: invalid header");
            buf_.erase(buf_.begin(), buf_.begin() + head);
            started_ = true;
        }
        // Keep one full frame back: only finish() knows whether it is the last.
        std::size_t off = 0;
        while (buf_.size() - off > frame) {
            pull(buf_.data() + off, frame);
            off += frame;
        }
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(off));
    }
    void finish() override {
        if (!started_) throw StreamError("decrypt: file too short");
        if (!final_) {
            if (buf_.size() < crypto_secretstream_xchacha20poly1305_ABYTES)
                throw StreamError("decrypt: truncated (no final chunk)");
            pull(buf_.data(), buf_.size());
        }
        if (!final_) throw StreamError("decrypt: truncated (no final chunk)");
        next_.finish();
    }

  private:
    void pull(const std::uint8_t* c, std::size_t n) {
        if (final_) throw StreamError("decrypt: data after the final chunk");
        unsigned long long mlen = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(&state_, out_.data(), &mlen, &tag, c, n,
                                                       binding_.empty() ? nullptr : bytes_of(binding_),
                                                       binding_.size()) != 0)
            throw StreamError(
                "decrypt: authentication failed (wrong key, corrupted data, or a file of another backup or "
                "path)");
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) final_ = true;
        next_.write(out_.data(), static_cast<std::size_t>(mlen));
    }
    Sink& next_;
    std::string binding_;
    bool bound_;
    unsigned char key_[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    crypto_secretstream_xchacha20poly1305_state state_{};
    std::vector<std::uint8_t> buf_;
    std::vector<std::uint8_t> out_;
    bool started_ = false;
    bool final_ = false;
};

}  // namespace

FileSink::FileSink(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) fail_errno("create " + path.string());
    auto* md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
    md_ = md;
}

FileSink::~FileSink() {
    if (fd_ >= 0) ::close(fd_);
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md_));
}

void FileSink::write(const std::uint8_t* data, std::size_t size) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(md_), data, size);
    write_all(fd_, data, size, "write " + path_.filename().string());
    bytes_ += size;
}

void FileSink::finish() {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(md_), d, &n);
    sha256_ = to_hex(d, n);
    if (::fsync(fd_) != 0) fail_errno("fsync " + path_.filename().string());
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_errno("close " + path_.filename().string());
}

void FdSink::write(const std::uint8_t* data, std::size_t size) { write_all(fd_, data, size, what_); }

std::unique_ptr<Sink> make_zstd_compressor(Sink& next, int level, int workers) {
    return std::make_unique<ZstdCompressor>(next, level, workers);
}
std::unique_ptr<Sink> make_zstd_decompressor(Sink& next) { return std::make_unique<ZstdDecompressor>(next); }
std::unique_ptr<Sink> make_encryptor(Sink& next, const Secret& key, const std::string& binding) {
    return std::make_unique<Encryptor>(next, key, binding);
}
std::unique_ptr<Sink> make_decryptor(Sink& next, const Secret& key, const std::string& binding, bool bound) {
    if (bound && binding.empty()) throw StreamError("decrypt: no binding for a bound file");
    return std::make_unique<Decryptor>(next, key, binding, bound);
}

std::string file_binding(const std::string& id, const std::string& path) {
    return std::string("steward-backup-file-v2") + '\0' + id + '\0' + path;
}

std::string manifest_mac(const Secret& key, const std::string& message) {
    unsigned char k[crypto_auth_KEYBYTES];
    static_assert(crypto_auth_KEYBYTES == 32);
    derive(key, "steward-manifest-mac-v1", k);
    unsigned char mac[crypto_auth_BYTES];
    crypto_auth(mac, bytes_of(message), message.size(), k);
    sodium_memzero(k, sizeof k);
    return to_hex(mac, sizeof mac);
}

bool manifest_mac_matches(const Secret& key, const std::string& message, const std::string& mac_hex) {
    unsigned char k[crypto_auth_KEYBYTES];
    derive(key, "steward-manifest-mac-v1", k);
    unsigned char mac[crypto_auth_BYTES];
    std::size_t len = 0;
    bool parsed =
        sodium_hex2bin(mac, sizeof mac, mac_hex.data(), mac_hex.size(), nullptr, &len, nullptr) == 0 &&
        len == sizeof mac;
    bool ok = parsed && crypto_auth_verify(mac, bytes_of(message), message.size(), k) == 0;
    sodium_memzero(k, sizeof k);
    return ok;
}

std::uint64_t pump_fd(int fd, Sink& sink, const std::string& what,
                      const std::function<void(std::uint64_t)>& on_bytes) {
    std::vector<std::uint8_t> buf(kChunk);
    std::uint64_t total = 0;
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_errno("read " + what);
        }
        if (n == 0) break;
        sink.write(buf.data(), static_cast<std::size_t>(n));
        total += static_cast<std::uint64_t>(n);
        if (on_bytes) on_bytes(total);
    }
    return total;
}

void pump_file(const std::filesystem::path& path, Sink& sink,
               const std::function<void(std::uint64_t)>& on_bytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_errno("open " + path.string());
    try {
        pump_fd(fd, sink, path.filename().string(), on_bytes);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    sink.finish();
}

FileDigest digest_file(const std::filesystem::path& path) {
    struct Hasher : Sink {
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        std::uint64_t bytes = 0;
        Hasher() { EVP_DigestInit_ex(md, EVP_sha256(), nullptr); }
        ~Hasher() override { EVP_MD_CTX_free(md); }
        void write(const std::uint8_t* d, std::size_t n) override {
            EVP_DigestUpdate(md, d, n);
            bytes += n;
        }
        void finish() override {}
    } h;
    pump_file(path, h);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(h.md, d, &n);
    return {h.bytes, to_hex(d, n)};
}

void fsync_path(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_errno("open " + path.string());
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    errno = saved;
    if (rc != 0) fail_errno("fsync " + path.string());
}

}  // namespace steward::backup
