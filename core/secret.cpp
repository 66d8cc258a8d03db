// Secret resolution from env or file, constant-time comparison, and output redaction.
#include "core/secret.hpp"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
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

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// "postgres[ql]://user:PASSWORD@" -> "postgres[ql]://user:***@", up to the last '@' before whitespace: a
// password may hold an unencoded '@'. Hand-written and linear: a regex here recursed once per character
// and overflowed the stack on a long hostile line (the admin API logs request paths through redact()).
std::string mask_passwords_in_urls(std::string text) {
    std::string out;
    std::size_t copied = 0;
    for (std::size_t at = text.find("postgres"); at != std::string::npos; at = text.find("postgres", at + 1)) {
        if (at < copied) continue;
        std::size_t i = at + 8;
        if (text.compare(i, 2, "ql") == 0 && text.compare(i + 2, 3, "://") == 0) i += 2;
        if (text.compare(i, 3, "://") != 0) continue;
        i += 3;
        while (i < text.size() && text[i] != ':' && text[i] != '/' && text[i] != '@' && !space(text[i])) ++i;
        if (i >= text.size() || text[i] != ':') continue;
        std::size_t end = i + 1;
        while (end < text.size() && !space(text[end])) ++end;
        std::size_t last_at = text.rfind('@', end - 1);
        if (last_at == std::string::npos || last_at <= i) continue;
        out.append(text, copied, i + 1 - copied);
        out += "***@";
        copied = last_at + 1;
        at = last_at;
    }
    if (copied == 0) return text;
    out.append(text, copied, std::string::npos);
    return out;
}

// "password = VALUE" and "password='quoted \' value'" -> "password = ***" (libpq's key=value form).
std::string mask_passwords_in_text(std::string text) {
    std::string out;
    std::size_t copied = 0;
    for (std::size_t at = text.find("password"); at != std::string::npos; at = text.find("password", at + 1)) {
        if (at < copied) continue;
        std::size_t i = at + 8;
        while (i < text.size() && space(text[i])) ++i;
        if (i >= text.size() || text[i] != '=') continue;
        ++i;
        while (i < text.size() && space(text[i])) ++i;
        std::size_t end = std::string::npos;
        if (i < text.size() && text[i] == '\'') {  // a quoted value with backslash escapes, when it is closed
            for (std::size_t j = i + 1; j < text.size(); ++j) {
                if (text[j] == '\\' && j + 1 < text.size() && text[j + 1] != '\n' && text[j + 1] != '\r') {
                    ++j;
                } else if (text[j] == '\'') {
                    end = j + 1;
                    break;
                } else if (text[j] == '\\') {
                    break;  // a backslash before a line end or at the end: not a closed quoted value
                }
            }
        }
        if (end == std::string::npos) {  // otherwise the run of non-space characters
            end = i;
            while (end < text.size() && !space(text[end])) ++end;
            if (end == i) continue;
        }
        out.append(text, copied, i - copied);
        out += "***";
        copied = end;
        at = end - 1;
    }
    if (copied == 0) return text;
    out.append(text, copied, std::string::npos);
    return out;
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
    return mask_passwords_in_text(mask_passwords_in_urls(std::move(text)));
}

}  // namespace steward
