// Shared pieces of the check/run integration tests: a clean spec on disk and JSON helpers.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::checks::test {

inline constexpr const char* kStrongJwt = "mGbT8ranr5yUcMjDFbeo3pUXy4WVBzNuXiDdzsza";
inline constexpr const char* kStrongAdmin = "bNPe5mpv4ctzMuYhNvQKdULv74UyjBmVob2E9lau";
inline constexpr const char* kStrongDbPassword = "T2WL2ZTm6LIT58WD45d7sJQ";

// Everything a spec may vary in these tests; the defaults give a production spec with no finding.
struct SpecText {
    std::string environment = "production";
    // The password comes from the environment: written into the spec it is database.inline_password.
    std::string database_url =
        "postgresql://app:${GATE_TEST_DB_PASSWORD}@db.internal:5432/chat?sslmode=verify-full";
    std::string security =
        "{ require_auth: true, cors_origins: [https://app.example.com], cookie_secure: true, "
        "base_url: https://chat.example.com, hsts: true, debug: false, rate_limit_per_minute: 60 }";
    std::string backups_dir = "backups";
    std::string retention = "{ keep_last: 3, daily: 7, weekly: 4, monthly: 6 }";
    std::string service_command = "[/bin/true]";
    std::string logging_level = "info";
    std::string extra_secrets;  // more lines under secrets:
    std::string extra;          // appended verbatim
};

inline std::string render(const SpecText& t) {
    return "version: 1\n"
           "name: chat\n"
           "environment: " +
           t.environment +
           "\n"
           "database:\n"
           "  url: \"" +
           t.database_url +
           "\"\n"
           "secrets:\n"
           "  jwt_secret: { env: GATE_TEST_JWT }\n"
           "  admin_token: { file: admin.token }\n" +
           t.extra_secrets + "security: " + t.security +
           "\n"
           "migrations: { dir: migrations }\n"
           "backups:\n"
           "  dir: " +
           t.backups_dir +
           "\n"
           "  schedule: \"0 2 * * *\"\n"
           "  retention: " +
           t.retention +
           "\n"
           "services:\n"
           "  api:\n"
           "    command: " +
           t.service_command +
           "\n"
           "probes:\n"
           "  - { name: api, http: { url: \"http://127.0.0.1:8000/health\" } }\n"
           "admin: { listen: \"127.0.0.1:9180\", token: \"secret:admin_token\" }\n"
           "logging: { level: " +
           t.logging_level + " }\n" + t.extra;
}

// A deployment folder: spec, admin.token (0600), migrations/ and backups/.
struct Deployment {
    ::steward::test::TempDir dir{"steward-gate"};
    std::filesystem::path spec;
    std::map<std::string, std::string> env{{"GATE_TEST_JWT", kStrongJwt},
                                           {"GATE_TEST_DB_PASSWORD", kStrongDbPassword}};

    explicit Deployment(const SpecText& t = {}, const std::string& admin_token = kStrongAdmin) {
        std::filesystem::create_directories(dir / "migrations");
        std::filesystem::create_directories(dir / "backups");
        auto token = dir.write("admin.token", admin_token + "\n");
        ::chmod(token.c_str(), 0600);
        spec = dir.write("steward.yaml", render(t));
    }
    ::steward::test::StewardRun check(std::vector<std::string> args = {}) const {
        args.insert(args.begin(), {"check", "--spec", spec.string()});
        return ::steward::test::run_steward(args, env);
    }
};

inline boost::json::object parse_json(const std::string& out) {
    boost::json::value v;
    EXPECT_NO_THROW(v = boost::json::parse(out)) << out;
    EXPECT_TRUE(v.is_object()) << out;
    return v.is_object() ? v.as_object() : boost::json::object{};
}

inline std::vector<std::string> finding_ids(const boost::json::object& doc) {
    std::vector<std::string> ids;
    if (!doc.contains("findings")) return ids;
    for (const auto& f : doc.at("findings").as_array()) ids.emplace_back(f.at("id").as_string().c_str());
    return ids;
}

inline bool has(const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace steward::checks::test
