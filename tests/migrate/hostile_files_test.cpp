// Migration folders written by someone else: NUL bytes, and entries named like migrations that are not
// regular files (a FIFO would hang the read, a directory or a broken link was silently skipped).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/migrate/migrate_harness.hpp"

using namespace steward::test;
namespace fs = std::filesystem;

TEST(MigrateHostileFiles, NulByteRefusesTheRunBeforeAnythingApplies) {
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    using namespace std::string_literals;
    std::ofstream(w.dir / "V2__b.sql", std::ios::binary) << "CREATE TABLE b (x int);\n\0DROP TABLE a;\n"s;
    auto r = w.run({"up"});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("V2__b.sql: contains a NUL byte at byte offset 24"), std::string::npos) << r.err;
    EXPECT_EQ(w.value("SELECT to_regclass('a') IS NULL AND to_regclass('b') IS NULL"), "t")
        << "something ran";
    EXPECT_EQ(w.value("SELECT to_regclass('steward_migrations') IS NULL"), "t");
}

// Every kind of entry that is not a regular file, named like a migration: an error naming it, exit 1,
// never "current version: none".
TEST(MigrateHostileFiles, EntriesThatAreNotRegularFilesNameTheFile) {
    struct Shape {
        std::string what;
        std::function<void(const fs::path&)> make;
    };
    std::vector<Shape> shapes{
        {"a directory", [](const fs::path& p) { fs::create_directory(p); }},
        {"a FIFO", [](const fs::path& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0); }},
        {"leads nowhere",
         [](const fs::path& p) { fs::create_symlink(p.parent_path() / "missing.sql.txt", p); }},
        {"a loop", [](const fs::path& p) { fs::create_symlink(p, p); }},
    };
    for (const auto& s : shapes) {
        MigrateWorld w;
        s.make(w.dir / "V1__x.sql");
        for (const std::string cmd : {"status", "up", "validate"}) {
            auto r = w.run({cmd});
            EXPECT_EQ(r.status, 1) << s.what << " " << cmd << ": " << r.out << r.err;
            EXPECT_NE(r.err.find("V1__x.sql: "), std::string::npos) << r.err;
            EXPECT_NE(r.err.find(s.what), std::string::npos) << r.err;
            EXPECT_EQ(r.out.find("current version: none"), std::string::npos) << r.out;
        }
    }
    // A symlink to a regular file is a migration like any other (how some deployments share files).
    MigrateWorld w;
    w.write("real.sql.txt", "CREATE TABLE linked (x int);\n");
    fs::create_symlink(w.dir / "real.sql.txt", w.dir / "V1__linked.sql");
    auto r = w.run({"up"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(w.value("SELECT to_regclass('linked') IS NOT NULL"), "t");
}

// --wait takes the spec's durations: bounded the same way, a usage error (exit 2) with the limit.
TEST(MigrateHostileFiles, WaitBeyondTheDurationLimitIsAUsageError) {
    MigrateWorld w;
    w.write("V1__a.sql", "CREATE TABLE a (x int);\n");
    auto r = w.run({"up", "--wait", "200000d"});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("2147483647"), std::string::npos) << r.err;
    EXPECT_EQ(w.value("SELECT to_regclass('a') IS NULL"), "t");
}
