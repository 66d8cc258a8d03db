// Temporary directories for tests, removed on destruction.
#pragma once

#include <filesystem>
#include <string>

namespace steward::test {

class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "steward-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    // Writes `content` to path()/name (creating folders), returns the full path.
    std::filesystem::path write(const std::string& name, const std::string& content) const;

  private:
    std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);

}  // namespace steward::test
