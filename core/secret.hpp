// Secret values that never print themselves, and their resolution from env or file.
#pragma once

#include <fmt/format.h>
#include <sys/types.h>

#include <boost/json/value_from.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "core/spec.hpp"

namespace steward {

// Holds a secret value. Formatting it (fmt, spdlog, ostream, Boost.JSON) yields "***";
// the value is only reachable through reveal().
class Secret {
  public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}
    const std::string& reveal() const { return value_; }
    bool empty() const { return value_.empty(); }
    std::size_t size() const { return value_.size(); }
    friend bool operator==(const Secret& a, const Secret& b);  // constant time

  private:
    std::string value_;
};

inline std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }
inline void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const Secret&) { v = "***"; }

// Constant-time comparison for tokens.
bool constant_time_equals(std::string_view a, std::string_view b);

// The outcome of resolving one secrets.<name> entry.
struct ResolvedSecret {
    enum class Status { ok, env_unset, file_missing, file_unreadable, empty };
    std::string name;
    Status status = Status::ok;
    std::optional<Secret> value;  // set when status is ok
    // For Source::file: what the gate checks.
    std::optional<mode_t> file_mode;
    std::optional<uid_t> file_owner;
    std::string
        problem;  // human text when status is not ok ("environment variable JWT_SECRET_KEY is not set")
    std::filesystem::path file;  // the file read, for file and credential secrets
};

// Resolves every secret of the spec. File contents lose one trailing newline (\n or \r\n).
// Never throws for a missing secret: the gate decides how bad that is.
std::map<std::string, ResolvedSecret> resolve_secrets(const Spec& spec);
ResolvedSecret resolve_secret(const SecretSpec& spec);

// Value of a SecretOrValue: the literal, or the resolved secret; nullopt if the secret did not resolve.
std::optional<Secret> secret_value(const SecretOrValue& ref,
                                   const std::map<std::string, ResolvedSecret>& resolved);

// Registers a value that the logger must mask wherever it appears (defense in depth).
void register_redaction(const std::string& value);
// Masks every registered value and the password of any postgres URL in `text`.
std::string redact(std::string text);

}  // namespace steward

template <>
struct fmt::formatter<steward::Secret> : fmt::formatter<std::string_view> {
    template <typename Ctx>
    auto format(const steward::Secret&, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format("***", ctx);
    }
};
