// Secret resolution from env or file, constant-time comparison, and output redaction.
#include "core/secret.hpp"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "core/pg.hpp"
#include "core/small_file.hpp"

namespace steward {

bool constant_time_equals(std::string_view a, std::string_view b) {
    // Compare over the longer length so timing does not reveal a prefix match.
    std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

bool operator==(const Secret& a, const Secret& b) { return constant_time_equals(a.value_, b.value_); }

ResolvedSecret resolve_secret(const SecretSpec& spec) {
    ResolvedSecret r;
    r.name = spec.name;
    switch (spec.source) {
        case SecretSpec::Source::value:
            r.value = Secret(spec.value);
            break;
        case SecretSpec::Source::env: {
            const char* v = std::getenv(spec.env.c_str());
            if (!v) {
                r.status = ResolvedSecret::Status::env_unset;
                r.problem = "environment variable " + spec.env + " is not set";
                return r;
            }
            r.value = Secret(v);
            break;
        }
        case SecretSpec::Source::credential:
        case SecretSpec::Source::file: {
            if (spec.source == SecretSpec::Source::credential) {
                // systemd's LoadCredential=NAME:PATH puts the file at $CREDENTIALS_DIRECTORY/NAME.
                const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
                if (!dir || !*dir) {
                    r.status = ResolvedSecret::Status::file_missing;
                    r.problem = "systemd credential " + spec.credential +
                                ": $CREDENTIALS_DIRECTORY is not set (steward is not running under a unit "
                                "with LoadCredential=" +
                                spec.credential + ":...)";
                    return r;
                }
                r.file = std::filesystem::path(dir) / spec.credential;
            } else {
                r.file = spec.file;
            }
            SmallFile f = read_small_file(r.file);
            if (f.exists) {
                r.file_mode = f.mode;
                r.file_owner = f.owner;
            }
            if (!f.ok()) {
                r.status = f.status == SmallFile::Status::missing ? ResolvedSecret::Status::file_missing
                                                                  : ResolvedSecret::Status::file_unreadable;
                r.problem = f.error;
                return r;
            }
            std::string text = std::move(f.text);
            if (text.size() >= 2 && text.compare(text.size() - 2, 2, "\r\n") == 0)
                text.resize(text.size() - 2);
            else if (!text.empty() && text.back() == '\n')
                text.pop_back();
            r.value = Secret(std::move(text));
            break;
        }
    }
    if (r.value->empty()) {
        r.status = ResolvedSecret::Status::empty;
        r.problem = "the value is empty";
        r.value.reset();
        return r;
    }
    register_redaction(r.value->reveal());
    return r;
}

std::map<std::string, ResolvedSecret> resolve_secrets(const Spec& spec) {
    std::map<std::string, ResolvedSecret> out;
    for (const auto& s : spec.secrets) out[s.name] = resolve_secret(s);
    return out;
}

std::optional<Secret> secret_value(const SecretOrValue& ref,
                                   const std::map<std::string, ResolvedSecret>& resolved) {
    if (!ref.is_secret()) {
        if (ref.literal.empty()) return std::nullopt;
        return Secret(ref.literal);
    }
    auto it = resolved.find(ref.secret);
    if (it == resolved.end() || !it->second.value) return std::nullopt;
    return it->second.value;
}

namespace {
std::mutex redaction_mutex;
std::set<std::string>& redactions() {
    static std::set<std::string> values;
    return values;
}
}  // namespace

void register_redaction(const std::string& value) {
    if (value.size() < 8) return;  // masking short strings would mangle ordinary words in logs
    std::lock_guard lock(redaction_mutex);
    redactions().insert(value);
}

std::string redact(std::string text) {
    {
        std::lock_guard lock(redaction_mutex);
        for (const auto& v : redactions()) {
            for (auto pos = text.find(v); pos != std::string::npos; pos = text.find(v, pos + 3))
                text.replace(pos, v.size(), "***");
        }
    }
    if (text.find("postgres") != std::string::npos || text.find("password") != std::string::npos) {
        // Up to the last '@' of the URL: a password may hold an unencoded '@'.
        static const std::regex uri(R"((postgres(?:ql)?://[^:/@\s]*:)\S*@)");
        static const std::regex kv(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))");
        text = std::regex_replace(text, uri, "$1***@");
        text = std::regex_replace(text, kv, "$1***");
    }
    return text;
}

}  // namespace steward
