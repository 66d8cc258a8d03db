// Running `steward render` and the real tools that judge its files (systemd-analyze, nginx, promtool, ...).
#include "tests/templates/render_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/steward_process.hpp"

namespace steward::test {

ProcessResult run_tool(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
    if (!find_program(argv.at(0))) {
        ADD_FAILURE() << argv[0] << " is not installed: run scripts/install-deps";
        return ProcessResult{127, false, "", argv[0] + " not installed"};
    }
    ProcessOptions o;
    o.argv = argv;
    if (!cwd.empty()) o.cwd = cwd;
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = ProcessOptions::kPipe;
    return run_process(o, std::chrono::seconds(120));
}

std::string render(const std::filesystem::path& spec, const std::filesystem::path& out,
                   const std::vector<std::string>& extra, const std::map<std::string, std::string>& env) {
    std::vector<std::string> args = {"--spec",     spec.string(), "render",        "--out",
                                     out.string(), "--binary",    steward_binary()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_steward(args, env);
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    return r.out;
}

std::vector<std::string> files_under(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out.push_back(std::filesystem::relative(e.path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string full_spec(const std::filesystem::path& dir) {
    return "version: 1\n"
           "name: chat\n"
           "environment: production\n"
           "timezone: Europe/Berlin\n"
           "database:\n"
           "  url: ${DATABASE_URL}\n"
           "secrets:\n"
           "  jwt_secret: { env: JWT_SECRET_KEY }\n"
           "  admin_token: { file: " +
           (dir / "admin.token").string() +
           " }\n"
           "  backup_key: { file: " +
           (dir / "backup.key").string() +
           ", kind: key }\n"
           "  smtp_password: { credential: smtp_password, kind: password }\n"
           "security:\n"
           "  cors_origins: [https://app.example.com]\n"
           "  base_url: https://chat.example.com\n"
           "  rate_limit_per_minute: 60\n"
           "migrations: { dir: " +
           (dir / "migrations").string() +
           " }\n"
           "backups:\n"
           "  dir: " +
           (dir / "backups").string() +
           "\n"
           "  schedule: \"0 2 * * 1-5\"\n"
           "  drill: { schedule: \"0 5 * * 0\" }\n"
           "  encryption: { key: \"secret:backup_key\" }\n"
           "  offsite: { sftp: { host: backup.example.com, user: backup, key: \"secret:backup_key\",\n"
           "             known_hosts: /etc/steward/known_hosts, path: /srv/backups } }\n"
           "services:\n"
           "  chat-api:\n"
           "    command: [/opt/chat/bin/chat-api, --port, \"8000\"]\n"
           "    user: chat\n"
           "    env:\n"
           "      DATABASE_URL: database:url\n"
           "      JWT_SECRET_KEY: secret:jwt_secret\n"
           "      SMTP_PASSWORD: secret:smtp_password\n"
           "      CORS_ORIGINS: security:cors_origins\n"
           "      LOG_LEVEL: info\n"
           "    readiness: { http: { url: \"http://127.0.0.1:8000/health\" }, timeout: 90s }\n"
           "    stop: { timeout: 25s }\n"
           "probes:\n"
           "  - { name: chat-health, http: { url: \"http://127.0.0.1:8000/health\" }, interval: 10s }\n"
           "  - { name: database, postgres: { query: \"SELECT 1\" } }\n"
           "admin: { listen: \"127.0.0.1:9180\", token: \"secret:admin_token\" }\n";
}

}  // namespace steward::test
