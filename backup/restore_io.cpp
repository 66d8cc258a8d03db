// Feeding a backup to pg_restore: decrypt and decompress as needed, by stdin or a temporary copy.
#include "backup/restore_io.hpp"

#include <csignal>
#include <system_error>

#include "backup/progress.hpp"
#include "core/process.hpp"

namespace steward::backup {

ScratchDir::ScratchDir(std::filesystem::path path) : path_(std::move(path)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void decode_file(const std::filesystem::path& src, Sink& sink, const BackupManifest& m,
                 const std::optional<Secret>& key, bool decompress,
                 const std::function<void(std::uint64_t)>& on_bytes) {
    Sink* head = &sink;
    std::unique_ptr<Sink> zstd, dec;
    if (decompress && m.compression.rfind("zstd", 0) == 0) {
        zstd = make_zstd_decompressor(*head);
        head = zstd.get();
    }
    if (m.encryption != "none") {
        if (!key)
            throw StreamError("backup " + m.id + " is encrypted: set backups.encryption.key to its key");
        dec = make_decryptor(*head, *key);
        head = dec.get();
    }
    pump_file(src, *head, on_bytes);
}

std::string PgRestoreRun::error() const {
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

PgRestoreRun run_tool(std::vector<std::string> argv, const std::map<std::string, std::string>& env) {
    Capture err;
    ProcessOptions o;
    o.argv = std::move(argv);
    o.env = env;
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = err.fd();
    PgRestoreRun run;
    Child child = spawn(o);
    run.status = child.wait();
    run.stderr_text = err.text();
    return run;
}

}  // namespace

PgRestoreRun run_pg_restore(const std::filesystem::path& backup_dir, const BackupManifest& m,
                            const std::optional<Secret>& key, std::vector<std::string> args,
                            const std::map<std::string, std::string>& env, int jobs,
                            const std::filesystem::path& scratch, bool progress) {
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
            return run_tool(argv, env);
        }
        ScratchDir tmp(scratch);
        try {
            for (const auto& f : m.files) {
                if (f.path.rfind("dump/", 0) != 0) continue;
                FileSink out(tmp.path() / std::filesystem::path(f.path).filename());
                decode_file(backup_dir / f.path, out, m, key, false);
            }
        } catch (const std::exception& e) {
            run.decode_error = e.what();
            return run;
        }
        argv.push_back(tmp.path().string());
        return run_tool(argv, env);
    }

    if (!needs_decoding(m)) {
        argv.push_back(dump.string());
        return run_tool(argv, env);
    }
    if (jobs > 1) {  // pg_restore cannot run parallel jobs from standard input
        ScratchDir tmp(scratch);
        auto file = tmp.path() / "dump";
        try {
            FileSink out(file);
            decode_file(dump, out, m, key, true, on_bytes);
        } catch (const std::exception& e) {
            run.decode_error = e.what();
            return run;
        }
        argv.push_back(file.string());
        return run_tool(argv, env);
    }

    // Stream: steward decodes, pg_restore reads standard input.
    std::signal(SIGPIPE, SIG_IGN);  // a pg_restore that exits early must not kill steward
    Capture err;
    ProcessOptions o;
    o.argv = argv;
    o.env = env;
    o.stdin_fd = ProcessOptions::kPipe;
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = err.fd();
    Child child = spawn(o);
    try {
        FdSink in(child.stdin_fd(), "pg_restore input");
        decode_file(dump, in, m, key, true, on_bytes);
    } catch (const std::exception& e) {
        run.decode_error = e.what();
    }
    child.close_stdin();
    run.status = child.wait();
    run.stderr_text = err.text();
    // pg_restore's own complaint explains a broken pipe better than EPIPE does.
    if (run.status != 0 && run.decode_error.find("Broken pipe") != std::string::npos)
        run.decode_error.clear();
    return run;
}

}  // namespace steward::backup
