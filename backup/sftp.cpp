// SFTP off-site copy: strict host-key check, key auth, upload under a temporary name, fsync, rename, verify.
#include "backup/sftp.hpp"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "backup/retention.hpp"
#include "core/log.hpp"

namespace steward::backup {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunk = 32 * 1024;  // libssh's sftp packets carry at most ~32 KiB per request
constexpr long kConnectTimeoutSeconds = 15;
constexpr auto kStalePartialAge = std::chrono::hours{24};

// A failure; `retry` says whether another attempt may help (network yes, host key or auth no).
struct OffsiteError : std::runtime_error {
    OffsiteError(const std::string& what, bool retry_) : std::runtime_error(what), retry(retry_) {}
    bool retry;
};

std::string target_of(const SftpSpec& spec) {
    return spec.user + "@" + spec.host + ":" + std::to_string(spec.port);
}

struct SessionDeleter {
    void operator()(ssh_session s) const {
        ssh_disconnect(s);
        ssh_free(s);
    }
};
struct SftpDeleter {
    void operator()(sftp_session s) const { sftp_free(s); }
};

// One authenticated SSH connection with an SFTP channel.
class Connection {
  public:
    Connection(const SftpSpec& spec, const Secret& private_key) {
        if (spec.host.empty() || spec.user.empty())
            throw OffsiteError("offsite.sftp needs host and user", false);
        if (spec.known_hosts.empty()) {
            throw OffsiteError(
                "offsite.sftp.known_hosts is not set; steward does not trust unknown host keys", false);
        }
        std::error_code ec;
        if (!fs::is_regular_file(spec.known_hosts, ec)) {
            throw OffsiteError(
                "known_hosts file " + spec.known_hosts.string() + " does not exist or is not a file", false);
        }
        owned_session_.reset(ssh_new());
        session_ = owned_session_.get();
        if (session_ == nullptr) throw OffsiteError("cannot create an SSH session", true);
        const std::string known = spec.known_hosts.string();
        int port = spec.port;
        long timeout = kConnectTimeoutSeconds;
        bool process_config = false;
        ssh_options_set(session_, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
        ssh_options_set(session_, SSH_OPTIONS_HOST, spec.host.c_str());
        ssh_options_set(session_, SSH_OPTIONS_PORT, &port);
        ssh_options_set(session_, SSH_OPTIONS_USER, spec.user.c_str());
        ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &timeout);
        // Only the configured file decides: no ~/.ssh/known_hosts, no /etc/ssh/ssh_known_hosts.
        ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, known.c_str());
        ssh_options_set(session_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, known.c_str());

        if (ssh_connect(session_) != SSH_OK) {
            throw OffsiteError("cannot connect to " + target_of(spec) + ": " + ssh_get_error(session_), true);
        }
        check_host_key(spec);
        authenticate(spec, private_key);

        owned_sftp_.reset(sftp_new(session_));
        sftp_ = owned_sftp_.get();
        if (sftp_ == nullptr || sftp_init(sftp_) != SSH_OK) {
            throw OffsiteError(
                "cannot start the SFTP subsystem on " + target_of(spec) + ": " + ssh_get_error(session_),
                true);
        }
        fsync_supported_ = sftp_extension_supported(sftp_, "fsync@openssh.com", "1") == 1;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() = default;

    sftp_session sftp() const { return sftp_; }
    bool fsync_supported() const { return fsync_supported_; }

    // Error text for the last failed SFTP call on `path`.
    std::string error(const std::string& what, const std::string& path) const {
        static const std::array<const char*, 9> names{
            "ok",          "end of file",   "no such file",    "permission denied",    "failure",
            "bad message", "no connection", "connection lost", "operation unsupported"};
        const int code = sftp_get_error(sftp_);
        std::string reason = code >= 0 && code < static_cast<int>(names.size())
                                 ? names[static_cast<std::size_t>(code)]
                                 : "sftp error " + std::to_string(code);
        const char* ssh_err = ssh_get_error(session_);
        if (ssh_err != nullptr && *ssh_err != '\0' && code != SSH_FX_NO_SUCH_FILE &&
            code != SSH_FX_PERMISSION_DENIED) {
            reason += " (" + std::string(ssh_err) + ")";
        }
        return what + " " + path + ": " + reason;
    }

  private:
    void check_host_key(const SftpSpec& spec) {
        const std::string where = " (known_hosts " + spec.known_hosts.string() + ")";
        switch (ssh_session_is_known_server(session_)) {
            case SSH_KNOWN_HOSTS_OK:
                return;
            case SSH_KNOWN_HOSTS_CHANGED:
                throw OffsiteError("host key of " + spec.host + ":" + std::to_string(spec.port) +
                                       " has CHANGED and does not match known_hosts" + where +
                                       "; refusing to connect (possible man-in-the-middle)",
                                   false);
            case SSH_KNOWN_HOSTS_OTHER:
                throw OffsiteError("host " + spec.host +
                                       " offered a key of a type other than the one in known_hosts" + where +
                                       "; refusing to connect",
                                   false);
            case SSH_KNOWN_HOSTS_UNKNOWN:
            case SSH_KNOWN_HOSTS_NOT_FOUND:
                throw OffsiteError("host key of " + spec.host + ":" + std::to_string(spec.port) +
                                       " is unknown: it is not in known_hosts" + where +
                                       "; add it (steward never trusts a host key on first use)",
                                   false);
            case SSH_KNOWN_HOSTS_ERROR:
            default:
                throw OffsiteError(
                    "cannot check the host key of " + spec.host + where + ": " + ssh_get_error(session_),
                    false);
        }
    }

    void authenticate(const SftpSpec& spec, const Secret& private_key) {
        if (private_key.empty()) throw OffsiteError("offsite.sftp.key is empty", false);
        ssh_key key = nullptr;
        if (ssh_pki_import_privkey_base64(private_key.reveal().c_str(), nullptr, nullptr, nullptr, &key) !=
                SSH_OK ||
            key == nullptr) {
            throw OffsiteError(
                "offsite.sftp.key is not a readable unencrypted private key (OpenSSH or PEM format)", false);
        }
        const int rc = ssh_userauth_publickey(session_, nullptr, key);
        ssh_key_free(key);
        if (rc == SSH_AUTH_SUCCESS) return;
        if (rc == SSH_AUTH_ERROR) {
            throw OffsiteError(
                "key authentication to " + target_of(spec) + " failed: " + ssh_get_error(session_), true);
        }
        throw OffsiteError("server " + target_of(spec) + " refused key authentication for user " + spec.user,
                           false);
    }

    // Declared in this order so the SFTP channel is freed before its session, also when the constructor
    // throws.
    std::unique_ptr<ssh_session_struct, SessionDeleter> owned_session_;
    std::unique_ptr<sftp_session_struct, SftpDeleter> owned_sftp_;
    ssh_session session_ = nullptr;
    sftp_session sftp_ = nullptr;
    bool fsync_supported_ = false;
};

struct AttributesDeleter {
    void operator()(sftp_attributes a) const { sftp_attributes_free(a); }
};
using Attributes = std::unique_ptr<sftp_attributes_struct, AttributesDeleter>;

Attributes lstat_remote(const Connection& c, const std::string& path) {
    return Attributes(sftp_lstat(c.sftp(), path.c_str()));
}

bool is_dir(const sftp_attributes_struct& a) { return a.type == SSH_FILEXFER_TYPE_DIRECTORY; }

void mkdir_remote(const Connection& c, const std::string& path) {
    if (sftp_mkdir(c.sftp(), path.c_str(), 0750) != SSH_OK)
        throw OffsiteError(c.error("cannot create directory", path), true);
}

// Creates every missing component of `path` (like mkdir -p).
void mkdir_parents(const Connection& c, const std::string& path) {
    std::string prefix;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        auto next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        prefix = path.substr(0, next);
        pos = next + 1;
        if (prefix.empty() || prefix == ".") continue;
        auto a = lstat_remote(c, prefix);
        if (!a) {
            mkdir_remote(c, prefix);
        } else if (!is_dir(*a)) {
            throw OffsiteError("remote path " + prefix + " exists and is not a directory", false);
        }
    }
}

// Names of the entries of a remote directory (without . and ..), each with "is a directory".
std::vector<std::pair<std::string, bool>> list_dir(const Connection& c, const std::string& path) {
    sftp_dir dir = sftp_opendir(c.sftp(), path.c_str());
    if (dir == nullptr) throw OffsiteError(c.error("cannot list", path), true);
    std::vector<std::pair<std::string, bool>> out;
    while (sftp_attributes e = sftp_readdir(c.sftp(), dir)) {
        Attributes entry(e);
        const std::string name = entry->name != nullptr ? entry->name : "";
        if (name != "." && name != "..") out.emplace_back(name, is_dir(*entry));
    }
    sftp_closedir(dir);
    return out;
}

// Deletes a remote file or directory tree without following symlinks.
void remove_tree(const Connection& c, const std::string& path) {
    auto a = lstat_remote(c, path);
    if (!a) return;
    if (is_dir(*a)) {
        for (const auto& child : list_dir(c, path)) remove_tree(c, path + "/" + child.first);
        if (sftp_rmdir(c.sftp(), path.c_str()) != SSH_OK)
            throw OffsiteError(c.error("cannot delete directory", path), true);
    } else if (sftp_unlink(c.sftp(), path.c_str()) != SSH_OK) {
        throw OffsiteError(c.error("cannot delete", path), true);
    }
}

class Sha256 {
  public:
    Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
    std::string hex() {
        std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
        unsigned int len = 0;
        EVP_DigestFinal_ex(ctx_, md.data(), &len);
        static const char* digits = "0123456789abcdef";
        std::string out;
        for (unsigned int i = 0; i < len; ++i) {
            out += digits[md[i] >> 4];
            out += digits[md[i] & 15];
        }
        return out;
    }

  private:
    EVP_MD_CTX* ctx_;
};

struct LocalFile {
    std::string rel;  // '/'-separated path under the backup dir
    fs::path path;
    std::uintmax_t size = 0;
    std::string sha256;  // only with verify_remote
};

struct LocalTree {
    std::vector<std::string> dirs;  // relative, parents before children
    std::vector<LocalFile> files;
};

std::string hash_local(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw OffsiteError("cannot read " + p.string(), false);
    Sha256 h;
    std::vector<char> buf(kChunk * 4);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    return h.hex();
}

LocalTree scan_local(const fs::path& root, bool with_hashes) {
    std::error_code ec;
    if (!fs::is_directory(root, ec))
        throw OffsiteError("backup directory " + root.string() + " does not exist", false);
    LocalTree t;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string rel = it->path().lexically_relative(root).generic_string();
        if (it->is_symlink())
            throw OffsiteError("backup directory holds a symlink: " + it->path().string(), false);
        if (it->is_directory()) {
            t.dirs.push_back(rel);
        } else if (it->is_regular_file()) {
            LocalFile f{rel, it->path(), it->file_size(), {}};
            if (with_hashes) f.sha256 = hash_local(f.path);
            t.files.push_back(std::move(f));
        }
    }
    if (ec) throw OffsiteError("cannot read backup directory " + root.string() + ": " + ec.message(), false);
    std::sort(t.dirs.begin(), t.dirs.end());
    std::sort(t.files.begin(), t.files.end(),
              [](const LocalFile& a, const LocalFile& b) { return a.rel < b.rel; });
    return t;
}

void upload_file(const Connection& c, const LocalFile& f, const std::string& remote) {
    std::ifstream in(f.path, std::ios::binary);
    if (!in) throw OffsiteError("cannot read " + f.path.string(), false);
    sftp_file out = sftp_open(c.sftp(), remote.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (out == nullptr) throw OffsiteError(c.error("cannot create", remote), true);
    std::vector<char> buf(kChunk);
    std::uintmax_t sent = 0;
    try {
        while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            std::size_t n = static_cast<std::size_t>(in.gcount());
            std::size_t off = 0;
            while (off < n) {
                ssize_t w = sftp_write(out, buf.data() + off, n - off);
                if (w <= 0) throw OffsiteError(c.error("cannot write", remote), true);
                off += static_cast<std::size_t>(w);
            }
            sent += n;
        }
        if (sent != f.size)
            throw OffsiteError("local file " + f.path.string() + " changed size while uploading", false);
        if (c.fsync_supported() && sftp_fsync(out) != SSH_OK)
            throw OffsiteError(c.error("cannot fsync", remote), true);
    } catch (...) {
        sftp_close(out);
        throw;
    }
    if (sftp_close(out) != SSH_OK) throw OffsiteError(c.error("cannot close", remote), true);
}

std::string hash_remote(const Connection& c, const std::string& remote) {
    sftp_file in = sftp_open(c.sftp(), remote.c_str(), O_RDONLY, 0);
    if (in == nullptr) throw OffsiteError(c.error("cannot read back", remote), true);
    Sha256 h;
    std::vector<char> buf(kChunk);
    for (;;) {
        ssize_t n = sftp_read(in, buf.data(), buf.size());
        if (n < 0) {
            sftp_close(in);
            throw OffsiteError(c.error("cannot read back", remote), true);
        }
        if (n == 0) break;
        h.update(buf.data(), static_cast<std::size_t>(n));
    }
    sftp_close(in);
    return h.hex();
}

// Checks that `dir` holds every local file with the same size (and hash when asked); returns the problem or
// "".
std::string check_remote(const Connection& c, const LocalTree& local, const std::string& dir, bool hashes) {
    for (const auto& f : local.files) {
        const std::string remote = dir + "/" + f.rel;
        auto a = lstat_remote(c, remote);
        if (!a) return c.error("missing after upload:", remote);
        if (a->size != f.size) {
            return "remote size of " + remote + " is " + std::to_string(a->size) + ", expected " +
                   std::to_string(f.size);
        }
        if (hashes && hash_remote(c, remote) != f.sha256)
            return "remote SHA-256 of " + remote + " does not match";
    }
    return {};
}

std::string join(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    return a.back() == '/' ? a + b : a + "/" + b;
}

std::string backup_id_of(const fs::path& backup_dir) {
    fs::path p = backup_dir.lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

// One attempt at the upload; throws OffsiteError.
void upload_once(const SftpSpec& spec, const Secret& key, const LocalTree& local, const std::string& base,
                 const std::string& id) {
    Connection c(spec, key);
    if (!c.fsync_supported()) {
        log::warn("backup", "sftp server lacks fsync@openssh.com; uploaded files are not fsynced",
                  {{"host", spec.host}});
    }
    mkdir_parents(c, base);
    const std::string final_dir = join(base, id);
    const std::string partial = final_dir + ".partial";
    if (auto a = lstat_remote(c, final_dir)) {
        // An earlier attempt renamed but did not finish checking: keep it if it is complete.
        if (is_dir(*a) && check_remote(c, local, final_dir, spec.verify_remote).empty()) return;
        remove_tree(c, final_dir);
    }
    remove_tree(c, partial);
    mkdir_remote(c, partial);
    for (const auto& d : local.dirs) mkdir_remote(c, partial + "/" + d);
    for (const auto& f : local.files) upload_file(c, f, partial + "/" + f.rel);
    if (sftp_rename(c.sftp(), partial.c_str(), final_dir.c_str()) != SSH_OK) {
        throw OffsiteError(c.error("cannot rename to " + final_dir + ":", partial), true);
    }
    if (auto problem = check_remote(c, local, final_dir, spec.verify_remote); !problem.empty()) {
        throw OffsiteError(problem, true);
    }
}

}  // namespace

OffsiteResult upload_backup(const SftpSpec& spec, const Secret& private_key, const std::string& deployment,
                            const fs::path& backup_dir, int max_attempts) {
    OffsiteResult result;
    const std::string id = backup_id_of(backup_dir);
    const std::string base = join(spec.path, deployment);
    result.remote_path = join(base, id);
    LocalTree local;
    try {
        local = scan_local(backup_dir, spec.verify_remote);
    } catch (const OffsiteError& e) {
        result.error = e.what();
        return result;
    }
    auto backoff = std::chrono::milliseconds{1000};
    for (int attempt = 1; attempt <= std::max(1, max_attempts); ++attempt) {
        result.attempts = attempt;
        const auto started = std::chrono::steady_clock::now();
        try {
            upload_once(spec, private_key, local, base, id);
            result.ok = true;
            result.error.clear();
            const auto secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            log::info("backup", "offsite copy uploaded",
                      {{"id", id},
                       {"host", spec.host},
                       {"remote", result.remote_path},
                       {"attempt", attempt},
                       {"files", static_cast<std::int64_t>(local.files.size())},
                       {"seconds", secs},
                       {"verify_remote", spec.verify_remote}});
            return result;
        } catch (const OffsiteError& e) {
            result.error = e.what();
            log::warn("backup", "offsite copy failed",
                      {{"id", id},
                       {"host", spec.host},
                       {"attempt", attempt},
                       {"error", result.error},
                       {"will_retry", e.retry && attempt < max_attempts}});
            if (!e.retry) return result;
        } catch (const std::exception& e) {
            result.error = std::string("offsite copy failed: ") + e.what();
            return result;
        }
        if (attempt < max_attempts) {
            std::this_thread::sleep_for(backoff);  // backoff between attempts, not synchronisation
            backoff = std::min(backoff * 4, std::chrono::milliseconds{30000});
        }
    }
    return result;
}

OffsiteResult prune_remote(const SftpSpec& spec, const Secret& private_key, const std::string& deployment,
                           const RetentionSpec& retention, const date::time_zone* tz) {
    OffsiteResult result;
    result.attempts = 1;
    const std::string base = join(spec.path, deployment);
    result.remote_path = base;
    try {
        Connection c(spec, private_key);
        auto a = lstat_remote(c, base);
        if (!a) {
            result.ok = true;  // nothing uploaded yet
            return result;
        }
        std::vector<BackupEntry> backups;
        std::vector<std::string> stale;
        const auto now = std::chrono::system_clock::now();
        for (const auto& [name, dir] : list_dir(c, base)) {
            if (!dir) continue;  // only steward backup directories are ever deleted
            if (is_backup_id(name, deployment)) {
                backups.push_back({name, *parse_backup_id_time(name)});
            } else if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) {
                const std::string id = name.substr(0, name.size() - 8);
                if (is_backup_id(id, deployment) && now - *parse_backup_id_time(id) > kStalePartialAge)
                    stale.push_back(name);
            }
        }
        for (const auto& d : plan_retention(backups, retention, tz)) {
            if (d.keep) continue;
            remove_tree(c, join(base, d.id));
            result.deleted.push_back(d.id);
            log::info("backup", "offsite backup expired", {{"id", d.id}, {"host", spec.host}});
        }
        for (const auto& name : stale) {
            remove_tree(c, join(base, name));
            log::info("backup", "offsite stale partial upload removed", {{"dir", name}, {"host", spec.host}});
        }
        result.ok = true;
    } catch (const std::exception& e) {
        result.error = e.what();
        log::warn("backup", "offsite prune failed", {{"host", spec.host}, {"error", result.error}});
    }
    return result;
}

}  // namespace steward::backup
