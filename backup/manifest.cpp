// The backup manifest (manifest.json), backup ids and the on-disk layout of a backups folder.
#include "backup/manifest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "backup/stream.hpp"
#include "core/json.hpp"

namespace steward::backup {
namespace json = boost::json;

std::uint64_t BackupManifest::bytes() const {
    std::uint64_t total = 0;
    for (const auto& f : files) total += f.bytes;
    return total;
}

std::string BackupManifest::dump_sha256() const {
    for (const auto& f : files)
        if (f.path == "dump") return f.sha256;
    std::vector<std::string> lines;
    for (const auto& f : files)
        if (f.path.rfind("dump/", 0) == 0) lines.push_back(f.sha256 + "  " + f.path + "\n");
    std::sort(lines.begin(), lines.end());
    std::string all;
    for (const auto& l : lines) all += l;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(all.data(), all.size(), d, &n, EVP_sha256(), nullptr);
    std::string hex;
    char b[3];
    for (unsigned i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%02x", d[i]);
        hex += b;
    }
    return hex;
}

json::value to_json(const BackupManifest& m) {
    json::array files;
    for (const auto& f : m.files)
        files.push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}});
    json::object counts;
    for (const auto& [t, n] : m.row_counts) counts[t] = n;
    json::object verification{{"level", m.verification.level},
                              {"ok", m.verification.ok},
                              {"at", m.verification.at},
                              {"duration_seconds", m.verification.duration_seconds}};
    if (!m.verification.error.empty()) verification["error"] = m.verification.error;
    json::object o{{"steward_backup", 1},
                   {"id", m.id},
                   {"deployment", m.deployment},
                   {"database", m.database},
                   {"host", m.host},
                   {"server_version", m.server_version},
                   {"pg_dump_version", m.pg_dump_version},
                   {"format", m.format},
                   {"compression", m.compression},
                   {"encryption", m.encryption},
                   {"jobs", m.jobs},
                   {"raw_bytes", m.raw_bytes},
                   {"bytes", m.bytes()},
                   {"files", files},
                   {"started", m.started},
                   {"finished", m.finished},
                   {"duration_seconds", m.duration_seconds},
                   {"verification", verification},
                   {"row_counts", counts}};
    if (!m.mac.empty()) o["mac"] = json::object{{"alg", "hmac-sha512-256"}, {"value", m.mac}};
    return o;
}

std::string authenticated_text(const BackupManifest& m) {
    // Strings and integers only: they serialize the same way every time.
    json::array files;
    for (const auto& f : m.files)
        files.push_back(json::array{json::value(f.path), f.bytes, json::value(f.sha256)});
    json::array counts;
    for (const auto& [t, n] : m.row_counts) counts.push_back(json::array{json::value(t), n});
    json::array all{json::value("steward-manifest-v1"),
                    json::value(m.id),
                    json::value(m.deployment),
                    json::value(m.database),
                    json::value(m.host),
                    json::value(m.server_version),
                    json::value(m.pg_dump_version),
                    json::value(m.format),
                    json::value(m.compression),
                    json::value(m.encryption),
                    m.jobs,
                    m.raw_bytes,
                    files,
                    json::value(m.started),
                    json::value(m.finished),
                    json::array{json::value(m.verification.level), m.verification.ok,
                                json::value(m.verification.at), json::value(m.verification.error)},
                    counts};
    return json::serialize(all);
}

ManifestTrust check_manifest_trust(const BackupManifest& m, const std::optional<Secret>& key) {
    ManifestTrust t;
    if (m.mac.empty()) {
        if (m.encryption != "none")
            t.warnings.push_back(
                "backup " + m.id +
                " is unauthenticated: it was made before steward authenticated manifests, so its "
                "files are checked against a manifest that anyone could have rewritten");
        else if (key)
            t.warnings.push_back("backup " + m.id +
                                 " is not encrypted and its manifest is unauthenticated, although "
                                 "backups.encryption.key is set");
        return t;
    }
    if (!key) {
        t.problems.push_back(
            "backup " + m.id +
            " is encrypted and its manifest authenticated: set backups.encryption.key (the key it "
            "was made with)");
        return t;
    }
    if (!manifest_mac_matches(*key, authenticated_text(m), m.mac))
        t.problems.push_back(
            "manifest.json of " + m.id +
            " fails authentication: it was altered, or the key is not the one the backup was made with");
    return t;
}

namespace {
std::string str(const json::object& o, const char* k) {
    auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
// Exact for integers (sizes, row counts): a double would round them above 2^53.
std::int64_t integer(const json::object& o, const char* k) {
    auto* v = o.if_contains(k);
    if (!v) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) {
        // A hostile manifest's 1e82 (or NaN) has no integer value: converting it would be undefined.
        double d = v->get_double();
        if (!(d >= -9.2e18 && d <= 9.2e18))
            throw std::runtime_error(std::string("manifest field ") + k + " is out of range");
        return static_cast<std::int64_t>(d);
    }
    return 0;
}
double num(const json::object& o, const char* k) {
    auto* v = o.if_contains(k);
    if (!v) return 0;
    if (v->is_double()) return v->get_double();
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
    return 0;
}
}  // namespace

BackupManifest manifest_from_json(const json::value& v) {
    if (!v.is_object() || !v.as_object().contains("steward_backup"))
        throw std::runtime_error("not a steward manifest");
    const auto& o = v.as_object();
    BackupManifest m;
    m.id = str(o, "id");
    m.deployment = str(o, "deployment");
    m.database = str(o, "database");
    m.host = str(o, "host");
    m.server_version = str(o, "server_version");
    m.pg_dump_version = str(o, "pg_dump_version");
    m.format = str(o, "format");
    m.compression = str(o, "compression");
    m.encryption = str(o, "encryption");
    m.jobs = static_cast<int>(integer(o, "jobs"));
    m.raw_bytes = static_cast<std::uint64_t>(integer(o, "raw_bytes"));
    if (auto* fs = o.if_contains("files"); fs && fs->is_array())
        for (const auto& f : fs->get_array()) {
            if (!f.is_object()) continue;
            m.files.push_back({str(f.get_object(), "path"),
                               static_cast<std::uint64_t>(integer(f.get_object(), "bytes")),
                               str(f.get_object(), "sha256")});
        }
    m.started = str(o, "started");
    m.finished = str(o, "finished");
    m.duration_seconds = num(o, "duration_seconds");
    if (auto* ver = o.if_contains("verification"); ver && ver->is_object()) {
        const auto& vo = ver->get_object();
        m.verification.level = str(vo, "level");
        auto* ok = vo.if_contains("ok");
        m.verification.ok = ok && ok->is_bool() && ok->get_bool();
        m.verification.at = str(vo, "at");
        m.verification.duration_seconds = num(vo, "duration_seconds");
        m.verification.error = str(vo, "error");
    }
    if (auto* rc = o.if_contains("row_counts"); rc && rc->is_object())
        for (const auto& [k, n] : rc->get_object())
            m.row_counts[std::string(k)] = n.is_int64()    ? n.get_int64()
                                           : n.is_uint64() ? static_cast<std::int64_t>(n.get_uint64())
                                                           : 0;
    if (auto* mac = o.if_contains("mac"); mac && mac->is_object()) m.mac = str(mac->get_object(), "value");
    if (m.id.empty()) throw std::runtime_error("manifest has no id");
    return m;
}

BackupManifest read_manifest(const std::filesystem::path& backup_dir) {
    auto path = backup_dir / "manifest.json";
    std::error_code ec;
    // Regular and of a sane size before it is read: the folder may hold anything.
    if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec)))
        throw std::runtime_error(path.string() + " is missing or not a regular file");
    if (std::filesystem::file_size(path, ec) > (64u << 20))
        throw std::runtime_error(path.string() + " is larger than 64 MiB: not a steward manifest");
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code jec;
    auto v = json::parse(ss.str(), jec);
    if (jec) throw std::runtime_error("manifest.json is not valid JSON: " + jec.message());
    return manifest_from_json(v);
}

std::string write_manifest(const std::filesystem::path& backup_dir, const BackupManifest& m,
                           const std::optional<Secret>& key) {
    auto tmp = backup_dir / "manifest.json.tmp";
    std::filesystem::remove(tmp);
    std::string signed_m_mac;
    {
        FileSink out(tmp);
        BackupManifest signed_m = m;
        signed_m.mac = key ? manifest_mac(*key, authenticated_text(m)) : std::string();
        signed_m_mac = signed_m.mac;
        std::string text = write_json(to_json(signed_m)) + "\n";
        out.write(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
        out.finish();
    }
    std::filesystem::rename(tmp, backup_dir / "manifest.json");
    fsync_path(backup_dir);
    return signed_m_mac;
}

std::string iso_utc(TimePoint t) {
    std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return b;
}

namespace {
std::optional<TimePoint> from_fields(int y, int mo, int d, int h, int mi, int s) {
    // Names and manifests may be hostile: a year outside what system_clock holds (nanoseconds: 1678-2262)
    // would overflow on conversion, and sscanf's %2d takes "-1".
    if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || s < 0 || s > 60)
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}
}  // namespace

std::optional<TimePoint> parse_iso_utc(const std::string& text) {
    int y, mo, d, h, mi, s;
    char z = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 || z != 'Z')
        return std::nullopt;
    return from_fields(y, mo, d, h, mi, s);
}

std::string make_backup_id(const std::string& name, TimePoint t) {
    std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y%m%dT%H%M%SZ", &tm);
    return name + "-" + b;
}

std::optional<TimePoint> parse_backup_id(const std::string& name) {
    constexpr std::size_t stamp = 16;  // YYYYMMDDTHHMMSSZ
    if (name.size() < stamp + 2 || name[name.size() - stamp - 1] != '-') return std::nullopt;
    // A folder name, never a path: an id from the command line (or an API) must not leave the backups folder.
    if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) return std::nullopt;
    std::string t = name.substr(name.size() - stamp);
    for (std::size_t i = 0; i < stamp; ++i) {
        bool digit = t[i] >= '0' && t[i] <= '9';
        if ((i == 8 && t[i] != 'T') || (i == 15 && t[i] != 'Z') || (i != 8 && i != 15 && !digit))
            return std::nullopt;
    }
    auto n = [&](std::size_t at, std::size_t len) { return std::stoi(t.substr(at, len)); };
    return from_fields(n(0, 4), n(4, 2), n(6, 2), n(9, 2), n(11, 2), n(13, 2));
}

EntryKind classify_entry(const std::string& folder_name) {
    auto strip = [&](const std::string& suffix) -> std::optional<std::string> {
        if (folder_name.size() > suffix.size() &&
            folder_name.compare(folder_name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return folder_name.substr(0, folder_name.size() - suffix.size());
        return std::nullopt;
    };
    if (auto base = strip(".partial")) return parse_backup_id(*base) ? EntryKind::partial : EntryKind::other;
    if (auto base = strip(".failed")) return parse_backup_id(*base) ? EntryKind::failed : EntryKind::other;
    return parse_backup_id(folder_name) ? EntryKind::published : EntryKind::other;
}

}  // namespace steward::backup
