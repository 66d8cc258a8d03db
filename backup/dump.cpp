// Running pg_dump and pg_dumpall into a .partial folder: compress, encrypt (bound to the backup and path),
// hash and fsync while streaming; killed at once when the run is cancelled.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "backup/internal.hpp"
#include "backup/pg_tools.hpp"
#include "backup/progress.hpp"
#include "backup/stream.hpp"
#include "core/process.hpp"

namespace steward::backup {
namespace fs = std::filesystem;
namespace {

const std::atomic<bool>* flag(const BackupConfig& c) { return c.cancel ? c.cancel.get() : nullptr; }

// The chain in front of a FileSink: [zstd] -> [encrypt] -> file.
struct OutputChain {
    std::unique_ptr<Sink> enc, zstd;
    Sink* head;
    OutputChain(FileSink& file, const std::optional<Secret>& key, const std::string& binding,
                std::optional<int> zstd_level)
        : head(&file) {
        if (key) {
            enc = make_encryptor(*head, *key, binding);
            head = enc.get();
        }
        if (zstd_level) {
            int workers = static_cast<int>(std::max(1u, std::min(std::thread::hardware_concurrency(), 8u)));
            zstd = make_zstd_compressor(*head, *zstd_level, workers);
            head = zstd.get();
        }
    }
};

[[noreturn]] void tool_failed(const std::string& tool, int status, const Capture& err) {
    std::string e = tool + " failed (" + describe_status(status) + ")";
    if (auto t = err.text(); !t.empty()) e += ": " + t;
    throw std::runtime_error(e);
}

// Runs a dump tool writing to stdout through `head`; throws with its stderr on failure, Cancelled when the
// flag is set (the read polls, so a silent pg_dump is still noticed).
std::uint64_t stream_tool(const std::vector<std::string>& argv, const ToolEnv& env,
                          Sink& head, Progress* progress, const std::atomic<bool>* cancel) {
    Capture err;
    ProcessOptions o;
    o.argv = argv;
    env.apply(o);
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = err.fd();
    Child child = spawn(o);
    std::vector<std::uint8_t> buf(1 << 20);
    std::uint64_t raw = 0;
    for (;;) {
        if (cancel && cancel->load()) {
            child.signal(SIGKILL);
            child.wait();
            throw Cancelled();
        }
        pollfd p{child.stdout_fd(), POLLIN, 0};
        int ready = ::poll(&p, 1, 100);
        if (ready < 0 && errno != EINTR) throw StreamError(std::string("poll: ") + std::strerror(errno));
        if (ready <= 0) continue;
        ssize_t n = ::read(child.stdout_fd(), buf.data(), buf.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) throw StreamError("read " + argv[0] + " output: " + std::strerror(errno));
        if (n == 0) break;
        head.write(buf.data(), static_cast<std::size_t>(n));
        raw += static_cast<std::uint64_t>(n);
        if (progress) progress->update(raw);
    }
    auto status = wait_or_cancel(child, cancel);
    if (!status) throw Cancelled();
    if (*status != 0) tool_failed(argv[0], *status, err);
    head.finish();
    return raw;
}

}  // namespace

void dump_custom(const BackupConfig& c, const ToolConnection& tc, const fs::path& partial,
                 const std::string& snapshot, BackupManifest& m) {
    const auto& comp = c.settings.compression;
    int pg_level = comp.algorithm == Compression::Algorithm::gzip ? comp.level : 0;
    std::vector<std::string> argv{
        "pg_dump", "--format=custom", "--compress=" + std::to_string(pg_level),
        "--lock-wait-timeout=" + std::to_string(c.settings.lock_wait_timeout.count()), "--no-password"};
    if (!snapshot.empty()) argv.push_back("--snapshot=" + snapshot);
    argv.push_back("--dbname=" + tc.conninfo);
    FileSink file(partial / "dump");
    std::optional<int> zstd_level;
    if (comp.algorithm == Compression::Algorithm::zstd) zstd_level = comp.level;
    OutputChain chain(file, c.encryption_key, file_binding(m.id, "dump"), zstd_level);
    Progress progress(c.progress, "pg_dump");
    m.raw_bytes = stream_tool(argv, tc.env, *chain.head, &progress, flag(c));
    m.files.push_back({"dump", file.bytes(), file.sha256()});
}

void dump_directory(const BackupConfig& c, const ToolConnection& tc, const fs::path& partial,
                    const std::string& snapshot, BackupManifest& m) {
    const auto& comp = c.settings.compression;
    int pg_level = comp.algorithm == Compression::Algorithm::gzip ? comp.level : 0;
    auto dir = partial / "dump";
    std::vector<std::string> argv{
        "pg_dump",
        "--format=directory",
        "--jobs=" + std::to_string(std::max(1, c.settings.jobs)),
        "--compress=" + std::to_string(pg_level),
        "--lock-wait-timeout=" + std::to_string(c.settings.lock_wait_timeout.count()),
        "--no-password",
        "--file=" + dir.string()};
    if (!snapshot.empty()) argv.push_back("--snapshot=" + snapshot);
    argv.push_back("--dbname=" + tc.conninfo);
    Capture err;
    ProcessOptions o;
    o.argv = argv;
    tc.env.apply(o);
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = err.fd();
    Child child = spawn(o);
    auto status = wait_or_cancel(child, flag(c));
    if (!status) throw Cancelled();
    if (*status != 0) tool_failed("pg_dump", *status, err);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        if (is_cancelled(c)) throw Cancelled();
        std::string rel = "dump/" + f.filename().string();
        m.raw_bytes += fs::file_size(f);
        if (c.encryption_key) {  // encrypt each file, then replace the clear copy
            auto enc = f.string() + ".enc";
            FileSink out(enc);
            auto e = make_encryptor(out, *c.encryption_key, file_binding(m.id, rel));
            pump_file(f, *e);
            fs::rename(enc, f);
            m.files.push_back({rel, out.bytes(), out.sha256()});
        } else {
            fsync_path(f);
            auto d = digest_file(f);
            m.files.push_back({rel, d.bytes, d.sha256});
        }
    }
    fsync_path(dir);
}

void dump_globals(const BackupConfig& c, const ToolConnection& tc, const fs::path& partial,
                  BackupManifest& m) {
    std::vector<std::string> argv{"pg_dumpall", "--globals-only", "--no-role-passwords", "--no-password",
                                  "--dbname=" + tc.conninfo};
    FileSink file(partial / "globals.sql");
    OutputChain chain(file, c.encryption_key, file_binding(m.id, "globals.sql"), std::nullopt);
    stream_tool(argv, tc.env, *chain.head, nullptr, flag(c));
    m.files.push_back({"globals.sql", file.bytes(), file.sha256()});
}

}  // namespace steward::backup
