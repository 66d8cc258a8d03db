// Parses migration file names and loads a migrations directory into an ordered set.
#include "migrate/migration_files.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

namespace steward::migrate {
namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> version_parts(std::string_view v) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= v.size(); ++i) {
        if (i == v.size() || v[i] == '.' || v[i] == '_') {
            auto p = v.substr(start, i - start);
            auto nz = p.find_first_not_of('0');
            parts.push_back(nz == std::string_view::npos ? std::string_view("0") : p.substr(nz));
            start = i + 1;
        }
    }
    return parts;
}

// "V1.2__x.sql" / "U1.2__x.sql" / "R__x.sql"
std::optional<ParsedName> parse_flyway(std::string_view base) {
    if (base.size() < 4) return std::nullopt;
    const char prefix = base[0];
    auto sep = base.find("__");
    if (sep == std::string_view::npos) return std::nullopt;
    ParsedName p;
    p.style = NameStyle::flyway;
    p.name = std::string(base.substr(sep + 2));
    if (p.name.empty()) return std::nullopt;
    if (prefix == 'R') {
        if (sep != 1) return std::nullopt;
        p.role = FileRole::repeatable;
        return p;
    }
    if (prefix != 'V' && prefix != 'U') return std::nullopt;
    // Flyway allows '_' as a version separator; the first "__" ends the version.
    auto version = base.substr(1, sep - 1);
    if (!valid_version(version)) return std::nullopt;
    p.role = prefix == 'V' ? FileRole::up : FileRole::down;
    p.version = std::string(version);
    return p;
}

// "<digits>_<name>.up.sql" / ".down.sql"
std::optional<ParsedName> parse_golang(std::string_view file_name) {
    ParsedName p;
    std::string_view stem;
    if (ends_with(file_name, ".up.sql")) {
        p.role = FileRole::up;
        stem = file_name.substr(0, file_name.size() - 7);
    } else if (ends_with(file_name, ".down.sql")) {
        p.role = FileRole::down;
        stem = file_name.substr(0, file_name.size() - 9);
    } else {
        return std::nullopt;
    }
    auto us = stem.find('_');
    auto version = stem.substr(0, us);
    if (!all_digits(version)) return std::nullopt;
    p.version = std::string(version);
    if (us != std::string_view::npos) p.name = std::string(stem.substr(us + 1));
    return p;
}

std::string style_name(NameStyle s) { return s == NameStyle::golang ? "golang-migrate" : "Flyway"; }

}  // namespace

bool valid_version(std::string_view v) {
    if (v.empty() || v.front() == '.' || v.front() == '_' || v.back() == '.' || v.back() == '_') return false;
    char prev = 0;
    for (char c : v) {
        const bool sep = c == '.' || c == '_';
        if (!sep && !std::isdigit(static_cast<unsigned char>(c))) return false;
        if (sep && (prev == '.' || prev == '_')) return false;
        prev = c;
    }
    return true;
}

std::optional<ParsedName> parse_file_name(std::string_view file_name) {
    if (auto g = parse_golang(file_name)) return g;
    if (!ends_with(file_name, ".sql")) return std::nullopt;
    return parse_flyway(file_name.substr(0, file_name.size() - 4));
}

int compare_versions(std::string_view a, std::string_view b) {
    auto pa = version_parts(a), pb = version_parts(b);
    // Missing trailing parts count as zero: "1.2" == "1.2.0".
    const std::size_t n = std::max(pa.size(), pb.size());
    for (std::size_t i = 0; i < n; ++i) {
        std::string_view x = i < pa.size() ? pa[i] : "0", y = i < pb.size() ? pb[i] : "0";
        if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
        if (int c = x.compare(y); c != 0) return c < 0 ? -1 : 1;
    }
    return 0;
}

std::string normalize_version(std::string_view v) {
    auto parts = version_parts(v);
    while (parts.size() > 1 && parts.back() == "0") parts.pop_back();
    std::string out;
    for (auto p : parts) {
        if (!out.empty()) out += '.';
        out += p;
    }
    return out;
}

std::string to_string(Kind k) { return k == Kind::versioned ? "versioned" : "repeatable"; }

const Migration* MigrationSet::find_version(std::string_view version) const {
    for (const auto& m : versioned)
        if (compare_versions(m.version, version) == 0) return &m;
    return nullptr;
}

const Migration* MigrationSet::find_repeatable(std::string_view name) const {
    for (const auto& m : repeatable)
        if (m.name == name) return &m;
    return nullptr;
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

MigrationSet build_migration_set(const std::filesystem::path& dir, std::vector<FileEntry> files) {
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.file_name < b.file_name; });
    MigrationSet set;
    std::string style_file;                                             // first file, named when styles mix
    std::map<std::string, std::string> up_by_version, down_by_version;  // normalized version -> file name
    std::map<std::string, FileEntry*> downs;
    std::map<std::string, std::string> repeatable_names;

    for (auto& f : files) {
        auto parsed = parse_file_name(f.file_name);
        const auto path = dir / f.file_name;
        // libpq sends text up to the first NUL: the rest of the file would silently not run.
        if (auto nul = f.content.find('\0'); nul != std::string::npos)
            throw MigrationDirError(path.string() + ": contains a NUL byte at byte offset " +
                                    std::to_string(nul) + "; a migration file is SQL text");
        if (!parsed)
            throw MigrationDirError(path.string() +
                                    ": not a migration file name (expected <version>_<name>.up.sql, "
                                    "<version>_<name>.down.sql, V<version>__<name>.sql or R__<name>.sql)");
        if (!set.style) {
            set.style = parsed->style;
            style_file = f.file_name;
        } else if (*set.style != parsed->style) {
            throw MigrationDirError(path.string() + ": " + style_name(parsed->style) + " style name in a " +
                                    style_name(*set.style) + " style directory (" + style_file +
                                    "); use one style per directory");
        }
        if (parsed->role == FileRole::down) {
            auto v = normalize_version(parsed->version);
            if (auto [it, fresh] = down_by_version.emplace(v, f.file_name); !fresh)
                throw MigrationDirError(path.string() + ": version " + parsed->version +
                                        " has another down file: " + it->second);
            downs[v] = &f;
            continue;
        }
        Migration m;
        m.kind = parsed->role == FileRole::repeatable ? Kind::repeatable : Kind::versioned;
        m.name = parsed->name;
        m.file = path;
        m.checksum = sha256_hex(f.content);
        m.scan = scan_sql(f.content);
        m.mode = tx_mode(m.scan);
        m.sql = std::move(f.content);
        if (m.scan.unterminated)
            throw MigrationDirError(path.string() +
                                    ": the text ends inside a quoted string, comment or "
                                    "dollar-quoted body");
        if (m.kind == Kind::repeatable) {
            if (auto [it, fresh] = repeatable_names.emplace(m.name, f.file_name); !fresh)
                throw MigrationDirError(path.string() + ": repeatable name " + m.name + " is used twice");
            set.repeatable.push_back(std::move(m));
        } else {
            m.version = normalize_version(parsed->version);
            if (auto [it, fresh] = up_by_version.emplace(m.version, f.file_name); !fresh)
                throw MigrationDirError(path.string() + ": version " + parsed->version + " is also used by " +
                                        it->second);
            set.versioned.push_back(std::move(m));
        }
    }
    for (const auto& [v, entry] : downs) {
        if (!up_by_version.count(v))
            throw MigrationDirError((dir / entry->file_name).string() +
                                    ": down file without an up migration of version " + v);
    }
    for (auto& m : set.versioned) {
        auto it = downs.find(m.version);
        if (it == downs.end()) continue;
        m.down_file = dir / it->second->file_name;
        m.down_sql = std::move(it->second->content);
        m.down_scan = scan_sql(m.down_sql);
        m.down_mode = tx_mode(m.down_scan);
        if (m.down_scan.unterminated)
            throw MigrationDirError(m.down_file->string() +
                                    ": the text ends inside a quoted string, comment or "
                                    "dollar-quoted body");
    }
    std::sort(set.versioned.begin(), set.versioned.end(),
              [](const auto& a, const auto& b) { return compare_versions(a.version, b.version) < 0; });
    std::sort(set.repeatable.begin(), set.repeatable.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return set;
}

std::string read_file_bytes(const std::filesystem::path& file) {
    // O_NONBLOCK: opening a FIFO must not hang; fstat then tells what was opened (symlinks followed).
    int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        std::error_code ec;
        auto link = std::filesystem::symlink_status(file, ec);
        if (link.type() == std::filesystem::file_type::symlink)
            throw MigrationDirError(file.string() + ": a symbolic link that leads nowhere (" +
                                    (e == ELOOP ? "a loop" : std::strerror(e)) + ")");
        throw MigrationDirError(file.string() + ": cannot read the file: " + std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        const char* what = S_ISDIR(st.st_mode)    ? "a directory"
                           : S_ISFIFO(st.st_mode) ? "a FIFO"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "not a regular file";
        throw MigrationDirError(file.string() + ": " + what + ", not a migration file");
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw MigrationDirError(file.string() + ": cannot read the file: " + std::strerror(e));
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

MigrationSet load_migrations(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw MigrationDirError(dir.string() + ": migrations directory does not exist");
    std::vector<FileEntry> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (name.empty() || name[0] == '.' || !ends_with(name, ".sql")) continue;
        // A directory, FIFO or broken symlink named like a migration is an error, never skipped.
        files.push_back({name, read_file_bytes(it->path())});
    }
    if (ec) throw MigrationDirError(dir.string() + ": cannot list the directory: " + ec.message());
    return build_migration_set(dir, std::move(files));
}

}  // namespace steward::migrate
