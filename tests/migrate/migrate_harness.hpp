// Shared helpers for the migrate integration tests: a migrations folder, a database, the binary.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {

// One test's world: a fresh database and an empty migrations folder.
struct MigrateWorld {
    std::string url = fresh_database("mig");
    TempDir dir{"steward-mig"};

    void write(const std::string& name, const std::string& sql) const { dir.write(name, sql); }

    StewardRun run(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
        args.insert(args.begin(), "migrate");
        args.push_back("--dir");
        args.push_back(dir.path().string());
        args.push_back("--database-url");
        args.push_back(url);
        return run_steward(args, env);
    }

    boost::json::object json(std::vector<std::string> args, int expect_status = 0) const {
        args.push_back("--json");
        auto r = run(args);
        EXPECT_EQ(r.status, expect_status) << r.out << r.err;
        try {
            return boost::json::parse(r.out).as_object();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "not JSON: " << r.out << r.err;
            return {};
        }
    }

    std::string value(const std::string& sql) const { return query_value(url, sql); }
    int count(const std::string& sql) const { return std::stoi(value(sql)); }
};

inline std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

}  // namespace steward::test
