// Feeding a backup to pg_restore: decrypt and decompress as needed, by stdin or a temporary copy.
#include "backup/restore_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <system_error>

#include "backup/backup_files.hpp"
#include "backup/progress.hpp"
#include "core/log.hpp"
#include "core/process.hpp"

namespace steward::backup {

namespace {

// Opens folder `p` and takes its flock without waiting; -1 when it is missing or a live run holds it.
int lock_folder(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// The backup id in a scratch folder name, or "" when `name` is not one.
std::string scratch_id(const std::string& name) {
    auto cut = [&](const std::string& prefix, const std::string& suffix) -> std::string {
        if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            return {};
        return name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    };
    for (auto id : {cut(".restore-", ".tmp"), cut(".", ".verify-tmp")})
        if (!id.empty() && parse_backup_id(id)) return id;
    return {};
}

}  // namespace

std::filesystem::path restore_scratch_path(const std::filesystem::path& dir, const std::string& id) {
    return dir / (".restore-" + id + ".tmp");
}

std::filesystem::path verify_scratch_path(const std::filesystem::path& dir, const std::string& id) {
    return dir / ("." + id + ".verify-tmp");
}

ScratchDir::ScratchDir(std::filesystem::path path) : path_(std::move(path)) {
    std::error_code ec;
    if (std::filesystem::symlink_status(path_, ec).type() != std::filesystem::file_type::not_found) {
        int old = lock_folder(path_);
        if (old < 0 && std::filesystem::is_directory(std::filesystem::symlink_status(path_, ec)))
            throw StreamError("scratch folder " + path_.string() +
                              " is in use by another restore or verify of this backup");
        std::filesystem::remove_all(path_);
        if (old >= 0) ::close(old);
    }
    std::filesystem::create_directories(path_);
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all);  // decoded copies of the data
    fd_ = lock_folder(path_);
    if (fd_ < 0) throw StreamError("cannot lock scratch folder " + path_.string());
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (fd_ >= 0) ::close(fd_);
}

void remove_scratch_leftovers(const std::filesystem::path& dir) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        if (scratch_id(name).empty() || !e.is_directory(ec) || e.is_symlink(ec)) continue;
        int fd = lock_folder(e.path());
        if (fd < 0) continue;  // a live restore or verify is using it
        log::warn("backup", "removing scratch folder of an interrupted restore or verify",
                  {{"path", e.path().string()}});
        std::filesystem::remove_all(e.path(), ec);
        ::close(fd);
    }
}

void decode_file(const std::filesystem::path& folder, const std::string& rel, Sink& sink,
                 const BackupManifest& m, const std::optional<Secret>& key, bool decompress,
                 const std::function<void(std::uint64_t)>& on_bytes, const std::atomic<bool>* cancel) {
    Sink* head = &sink;
    std::unique_ptr<Sink> zstd, dec;
    if (decompress && m.compression.rfind("zstd", 0) == 0) {
        zstd = make_zstd_decompressor(*head);
        head = zstd.get();
    }
    if (m.encryption != "none") {
        if (!key)
            throw StreamError("backup " + m.id + " is encrypted: set backups.encryption.key to its key");
        dec = make_decryptor(*head, *key, file_binding(m.id, rel), !m.mac.empty());
        head = dec.get();
    }
    Fd dir = open_backup_folder(folder);
    Fd in = open_backup_file(dir, rel);
    pump_fd(in.get(), *head, rel, [&](std::uint64_t n) {
        if (cancel && cancel->load()) throw Cancelled();
        if (on_bytes) on_bytes(n);
    });
    head->finish();
}

std::string PgRestoreRun::error() const {
    if (cancelled) return "cancelled";
    std::string e;
    if (!decode_error.empty()) e = decode_error;
    if (status != 0 && status != -1) {  // -1: pg_restore never ran
        if (!e.empty()) e += "; ";
        e += "pg_restore failed (" + describe_status(status) + ")";
        if (!stderr_text.empty()) e += ": " + stderr_text;
    }
    return e;
}

namespace {

bool needs_decoding(const BackupManifest& m) {
    return m.encryption != "none" || (m.format == "custom" && m.compression.rfind("zstd", 0) == 0);
}

// pg_restore's standard input: a child that stops reading (waiting for a lock) must not block a cancel, so
// the pipe is non-blocking and each write waits in poll() with the cancel flag checked.
class ChildInput : public Sink {
  public:
    ChildInput(int fd, const std::atomic<bool>* cancel) : fd_(fd), cancel_(cancel) {
        ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    }
    void write(const std::uint8_t* data, std::size_t size) override {
        while (size > 0) {
            if (cancel_ && cancel_->load()) throw Cancelled();
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            ssize_t n = ::write(fd_, data, size);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n < 0) throw StreamError(std::string("write pg_restore input: ") + std::strerror(errno));
            data += n;
            size -= static_cast<std::size_t>(n);
        }
    }
    void finish() override {}

  private:
    int fd_;
    const std::atomic<bool>* cancel_;
};

PgRestoreRun run_tool(std::vector<std::string> argv, const ToolEnv& env,
                      const std::atomic<bool>* cancel) {
    Capture err;
    ProcessOptions o;
    o.argv = std::move(argv);
    env.apply(o);
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = err.fd();
    PgRestoreRun run;
    Child child = spawn(o);
    auto st = wait_or_cancel(child, cancel);
    run.cancelled = !st;
    run.status = st.value_or(-1);
    run.stderr_text = err.text();
    return run;
}

}  // namespace

PgRestoreRun run_pg_restore_on(const std::filesystem::path& input, std::vector<std::string> args,
                               const ToolEnv& env, int jobs) {
    std::vector<std::string> argv{"pg_restore"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (jobs > 1) argv.push_back("--jobs=" + std::to_string(jobs));
    argv.push_back(input.string());
    return run_tool(argv, env, nullptr);
}

PgRestoreRun run_pg_restore(const std::filesystem::path& backup_dir, const BackupManifest& m,
                            const std::optional<Secret>& key, std::vector<std::string> args,
                            const ToolEnv& env, int jobs,
                            const std::filesystem::path& scratch, bool progress,
                            const std::atomic<bool>* cancel) {
    Progress shown(progress, "restore: read");
    auto on_bytes = [&](std::uint64_t n) { shown.update(n); };
    std::vector<std::string> argv{"pg_restore"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (jobs > 1) argv.push_back("--jobs=" + std::to_string(jobs));
    auto dump = backup_dir / "dump";
    PgRestoreRun run;

    if (m.format == "directory") {
        if (m.encryption == "none") {
            argv.push_back(dump.string());
            return run_tool(argv, env, cancel);
        }
        std::optional<ScratchDir> tmp;
        try {
            tmp.emplace(scratch);
            for (const auto& f : m.files) {
                if (f.path.rfind("dump/", 0) != 0) continue;
                FileSink out(tmp->path() / std::filesystem::path(f.path).filename());
                decode_file(backup_dir, f.path, out, m, key, false, {}, cancel);
            }
        } catch (const Cancelled&) {
            run.cancelled = true;
            return run;
        } catch (const std::exception& e) {
            run.decode_error = e.what();
            return run;
        }
        argv.push_back(tmp->path().string());
        return run_tool(argv, env, cancel);
    }

    if (!needs_decoding(m)) {
        argv.push_back(dump.string());
        return run_tool(argv, env, cancel);
    }
    if (jobs > 1) {  // pg_restore cannot run parallel jobs from standard input
        std::optional<ScratchDir> tmp;
        std::filesystem::path file;
        try {
            tmp.emplace(scratch);
            file = tmp->path() / "dump";
            FileSink out(file);
            decode_file(backup_dir, "dump", out, m, key, true, on_bytes, cancel);
        } catch (const Cancelled&) {
            run.cancelled = true;
            return run;
        } catch (const std::exception& e) {
            run.decode_error = e.what();
            return run;
        }
        argv.push_back(file.string());
        return run_tool(argv, env, cancel);
    }

    // Stream: steward decodes, pg_restore reads standard input.
    std::signal(SIGPIPE, SIG_IGN);  // a pg_restore that exits early must not kill steward
    Capture err;
    ProcessOptions o;
    o.argv = argv;
    env.apply(o);
    o.stdin_fd = ProcessOptions::kPipe;
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = err.fd();
    Child child = spawn(o);
    try {
        ChildInput in(child.stdin_fd(), cancel);
        decode_file(backup_dir, "dump", in, m, key, true, on_bytes, cancel);
    } catch (const Cancelled&) {
        child.signal(SIGKILL);
        run.cancelled = true;
    } catch (const std::exception& e) {
        run.decode_error = e.what();
    }
    child.close_stdin();
    auto st = wait_or_cancel(child, cancel);
    run.cancelled = run.cancelled || !st;
    run.status = st.value_or(-1);
    run.stderr_text = err.text();
    // pg_restore's own complaint explains a broken pipe better than EPIPE does.
    if (run.status != 0 && run.decode_error.find("Broken pipe") != std::string::npos)
        run.decode_error.clear();
    return run;
}

}  // namespace steward::backup
