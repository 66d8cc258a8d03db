// Secret rules: missing, too short, placeholder, published default, low entropy, inline, file mode and
// owner (secret mounts judged as what they are), reuse, and secrets that reach a service as literals.
#include <fmt/format.h>

#include <cctype>

#include "checks/rule.hpp"
#include "checks/strength.hpp"

namespace steward::checks {
namespace {

std::string path_of(const SecretSpec& s) { return "secrets." + s.name; }

std::string where(const SecretSpec& s) {
    switch (s.source) {
        case SecretSpec::Source::env:
            return "environment variable " + s.env;
        case SecretSpec::Source::file:
            return "file " + s.file.string();
        case SecretSpec::Source::credential:
            return "systemd credential " + s.credential;
        case SecretSpec::Source::value:
            return "the inline value";
    }
    return "its source";
}

const ResolvedSecret* resolved(const RuleContext& ctx, const SecretSpec& s) {
    if (!ctx.secrets) return nullptr;
    auto it = ctx.secrets->find(s.name);
    return it == ctx.secrets->end() ? nullptr : &it->second;
}

bool referenced_by(const SecretOrValue& ref, const SecretSpec& s) {
    return ref.is_secret() && ref.secret == s.name;
}

// How to make a good value of this secret: its kind and its use decide (a provider's API key cannot be
// generated, an SSH key is a key pair).
std::string make_one(const RuleContext& ctx, const SecretSpec& s) {
    const auto& b = ctx.spec.backups;
    if (b && b->sftp && referenced_by(b->sftp->key, s))
        return "create a key pair with `ssh-keygen -t ed25519 -N '' -f KEYFILE` and add KEYFILE.pub to the "
               "server's authorized_keys";
    if (b && referenced_by(b->encryption_key, s)) return "generate one with `openssl rand -base64 32`";
    if (s.kind == SecretKind::key) return "use the key your provider issued";
    if (s.kind == SecretKind::password) return "generate one with `openssl rand -base64 24`";
    return "generate one with `openssl rand -base64 48`";
}

// An optional secret may be absent: unset, missing or empty is no finding.
bool absent_optional(const SecretSpec& s, const ResolvedSecret& r) {
    return s.optional &&
           (r.status == ResolvedSecret::Status::env_unset ||
            r.status == ResolvedSecret::Status::file_missing || r.status == ResolvedSecret::Status::empty);
}

// A value that is an unexpanded reference ("${JWT_SECRET_KEY}", "$TOKEN"), not a secret to judge.
bool reference_text(const std::string& v) {
    return (v.size() > 3 && v.rfind("${", 0) == 0 && v.back() == '}') ||
           (v.size() > 1 && v[0] == '$' && v.find_first_of(" /:@") == std::string::npos);
}

// Env-file lines whose name says they hold a secret: judged like a declared token or password.
struct FileSecret {
    EnvLiteral e;
    SecretKind kind;
};
std::vector<FileSecret> env_file_secrets(const RuleContext& ctx) {
    std::vector<FileSecret> out;
    for (auto& e : env_literals(ctx)) {
        if (!e.from_file() || e.value.empty() || reference_text(e.value) || !secret_like_env_name(e.var))
            continue;
        std::string up = e.var;
        for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        bool password = up.find("PASSWORD") != std::string::npos || up.find("PASSWD") != std::string::npos;
        out.push_back({std::move(e), password ? SecretKind::password : SecretKind::token});
    }
    return out;
}

std::size_t raised(const RuleContext& ctx, SecretKind kind) {
    return std::max(min_secret_length(kind), ctx.spec.checks.min_secret_length.value_or(0));
}

}  // namespace

std::size_t RuleContext::min_length(const SecretSpec& s) const {
    return std::max(
        {min_secret_length(s.kind), spec.checks.min_secret_length.value_or(0), s.min_length.value_or(0)});
}

void check_secret_missing(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const ResolvedSecret* r = resolved(ctx, s);
        if (!r) {
            hits.push_back({path_of(s), "secret was not resolved", "check the secrets." + s.name + " entry"});
            continue;
        }
        if (r->status == ResolvedSecret::Status::ok && r->value && !r->value->empty()) continue;
        if (absent_optional(s, *r)) continue;
        std::string why = !r->problem.empty() ? r->problem : where(s) + " gives no value";
        std::string hint =
            s.source == SecretSpec::Source::file
                ? fmt::format("write the secret to {} (mode 0600); {}", s.file.string(), make_one(ctx, s))
            : s.source == SecretSpec::Source::env
                ? fmt::format("export {} before starting steward; {}", s.env, make_one(ctx, s))
            : s.source == SecretSpec::Source::credential
                ? fmt::format(
                      "give the unit LoadCredential={}:/path/to/file (or SetCredentialEncrypted=); {}",
                      s.credential, make_one(ctx, s))
                : make_one(ctx, s);
        hits.push_back({path_of(s), why, hint});
    }
}

void check_secret_too_short(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const Secret* v = ctx.secret(s.name);
        // A placeholder is reported as such; its length is beside the point.
        if (!v || v->empty() || is_placeholder(v->reveal()) || is_published_default(v->reveal())) continue;
        std::size_t need = ctx.min_length(s);
        if (v->size() >= need) continue;
        hits.push_back({path_of(s),
                        fmt::format("{} is {} characters; a {} needs at least {}", to_string(s.kind),
                                    v->size(), to_string(s.kind), need),
                        make_one(ctx, s)});
    }
    for (const auto& [e, kind] : env_file_secrets(ctx)) {
        std::size_t need = raised(ctx, kind);
        if (is_placeholder(e.value) || is_published_default(e.value) || e.value.size() >= need) continue;
        hits.push_back({e.path,
                        fmt::format("{} is {} characters; a {} needs at least {}", e.var, e.value.size(),
                                    to_string(kind), need),
                        "generate one with `openssl rand -base64 48`", e.line, e.file});
    }
}

void check_secret_placeholder(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const Secret* v = ctx.secret(s.name);
        if (!v || !is_placeholder(v->reveal()) || is_published_default(v->reveal())) continue;
        hits.push_back({path_of(s), "value is a placeholder or default, not a real secret",
                        "replace it; " + make_one(ctx, s)});
    }
    for (const auto& [e, kind] : env_file_secrets(ctx)) {
        if (!is_placeholder(e.value) || is_published_default(e.value)) continue;
        hits.push_back({e.path, fmt::format("{} is a placeholder or default, not a real secret", e.var),
                        "replace it; generate one with `openssl rand -base64 48`", e.line, e.file});
    }
}

void check_secret_published_default(const RuleContext& ctx, Hits& hits) {
    constexpr const char* kWhy = "is a published default or example value that attackers try first";
    for (const auto& s : ctx.spec.secrets) {
        const Secret* v = ctx.secret(s.name);
        if (!v || !is_published_default(v->reveal())) continue;
        hits.push_back({path_of(s), std::string("value ") + kWhy, "replace it; " + make_one(ctx, s)});
    }
    for (const auto& e : env_literals(ctx)) {
        if (!secret_like_env_name(e.var) || !is_published_default(e.value)) continue;
        hits.push_back({e.path, fmt::format("{} {}", e.var, kWhy),
                        "replace it; generate one with `openssl rand -base64 48`", e.line, e.file});
    }
    if (ctx.spec.database.url) {
        try {
            std::string pw = pg::parse_conninfo(*ctx.spec.database.url).get("password");
            if (!pw.empty() && is_published_default(pw))
                hits.push_back(
                    {"database.url", std::string("the password in database.url ") + kWhy,
                     "set a random password (`openssl rand -base64 24`) with ALTER ROLE ... PASSWORD"});
        } catch (const std::exception&) {
        }
    }
    const auto& token = ctx.spec.admin.token;
    if (!token.literal.empty() && is_published_default(token.literal))
        hits.push_back({"admin.token", std::string("the admin token ") + kWhy,
                        "generate one with `openssl rand -base64 48`"});
}

void check_secret_low_entropy(const RuleContext& ctx, Hits& hits) {
    auto distinct = [](const std::string& value) {
        std::string seen;
        for (char c : value)
            if (seen.find(c) == std::string::npos) seen.push_back(c);
        return seen.size();
    };
    for (const auto& s : ctx.spec.secrets) {
        const Secret* v = ctx.secret(s.name);
        // Too short or placeholder values are reported by those rules; entropy is judged on the rest.
        if (!v || v->size() < ctx.min_length(s) || is_placeholder(v->reveal()) ||
            is_published_default(v->reveal()) || !is_low_entropy(v->reveal()))
            continue;
        hits.push_back(
            {path_of(s),
             fmt::format("value has low entropy ({} distinct of {} characters, repeated or sequential)",
                         distinct(v->reveal()), v->size()),
             "use a random value; " + make_one(ctx, s)});
    }
    for (const auto& [e, kind] : env_file_secrets(ctx)) {
        if (e.value.size() < raised(ctx, kind) || is_placeholder(e.value) || is_published_default(e.value) ||
            !is_low_entropy(e.value))
            continue;
        hits.push_back({e.path,
                        fmt::format("{} has low entropy ({} distinct of {} characters)", e.var,
                                    distinct(e.value), e.value.size()),
                        "use a random value; generate one with `openssl rand -base64 48`", e.line, e.file});
    }
}

void check_secret_inline_value(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        if (s.source != SecretSpec::Source::value) continue;
        hits.push_back({path_of(s), "secret is written inline in the spec (value:)",
                        "move it to a file (`file: /etc/steward/" + s.name +
                            "`, mode 0600) or an environment variable (`env: ...`)"});
    }
    // The backup keys take "secret:NAME"; a literal is a key written into the spec, judged by no secret rule.
    if (!ctx.spec.backups) return;
    auto literal = [&](const SecretOrValue& ref, const std::string& path, const std::string& name) {
        if (ref.empty() || ref.is_secret()) return;
        hits.push_back({path, path + " is written inline in the spec, not secret:NAME",
                        "declare it under secrets: (`" + name + ": { file: /etc/steward/" + name +
                            ", kind: key }`, mode 0600) and set " + path + ": \"secret:" + name + "\""});
    };
    literal(ctx.spec.backups->encryption_key, "backups.encryption.key", "backup_key");
    if (ctx.spec.backups->sftp)
        literal(ctx.spec.backups->sftp->key, "backups.offsite.sftp.key", "backup_ssh_key");
}

void check_secret_file_mode(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const ResolvedSecret* r = resolved(ctx, s);
        if (!r || !r->file_mode) continue;
        mode_t mode = *r->file_mode & 07777;
        if ((mode & 0077) == 0) continue;
        auto facts = ctx.facts.secret_files.find(s.name);
        bool mounted = facts != ctx.facts.secret_files.end() && facts->second.in_secret_mount;
        // Kubernetes, Docker and systemd hand secrets over as 0440/0444 files on read-only mounts:
        // nobody else reads them there, and chmod cannot be done.
        if (mounted && !facts->second.writable) continue;
        std::string file = r->file.empty() ? s.file.string() : r->file.string();
        hits.push_back({path_of(s),
                        fmt::format("secret file {} has mode {:04o}: group or others can access it", file,
                                    static_cast<unsigned>(mode)),
                        mounted ? "mount the secret read-only with mode 0400 (Kubernetes defaultMode: 0400)"
                                : fmt::format("chmod 600 {}", file)});
    }
}

void check_secret_file_owner(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const ResolvedSecret* r = resolved(ctx, s);
        if (!r || !r->file_owner || *r->file_owner == ctx.facts.uid) continue;
        auto facts = ctx.facts.secret_files.find(s.name);
        bool mounted = facts != ctx.facts.secret_files.end() && facts->second.in_secret_mount;
        if (mounted && !facts->second.writable) continue;  // root-owned on a read-only secret mount
        std::string file = r->file.empty() ? s.file.string() : r->file.string();
        hits.push_back(
            {path_of(s),
             fmt::format("secret file {} is owned by uid {}, but steward runs as uid {}", file,
                         static_cast<unsigned>(*r->file_owner), static_cast<unsigned>(ctx.facts.uid)),
             mounted ? "mount the secret read-only (a secret volume, or LoadCredential=)"
                     : fmt::format("chown {} {}", static_cast<unsigned>(ctx.facts.uid), file)});
    }
}

void check_secret_reused(const RuleContext& ctx, Hits& hits) {
    const auto& secrets = ctx.spec.secrets;
    for (std::size_t i = 0; i < secrets.size(); ++i) {
        const Secret* a = ctx.secret(secrets[i].name);
        if (!a || a->empty()) continue;
        for (std::size_t j = 0; j < i; ++j) {
            const Secret* b = ctx.secret(secrets[j].name);
            if (!b || !(*a == *b)) continue;
            hits.push_back({path_of(secrets[i]), "has the same value as secrets." + secrets[j].name,
                            "give every secret its own value; " + make_one(ctx, secrets[i])});
            break;
        }
    }
}

bool secret_like_env_name(const std::string& name) {
    std::vector<std::string> words;
    std::string word;
    for (char c : name + "_") {
        if (c == '_' || c == '-' || c == '.') {
            if (!word.empty()) words.push_back(word);
            word.clear();
        } else {
            word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        }
    }
    if (words.empty()) return false;
    auto any = [&](std::initializer_list<const char*> list, const std::string& w) {
        for (const char* l : list)
            if (w == l) return true;
        return false;
    };
    // Settings about a secret, not the secret: TOKEN_EXPIRY_HOURS, PASSWORD_MIN_LENGTH, JWT_SECRET_FILE.
    if (any({"EXPIRY", "EXPIRATION", "EXPIRES",   "HOURS",    "MINUTES", "SECONDS", "DAYS",  "TTL", "TIMEOUT",
             "LENGTH", "LEN",        "ALGORITHM", "ALG",      "ROUNDS",  "FILE",    "PATH",  "DIR", "URL",
             "HEADER", "NAME",       "ENABLED",   "REQUIRED", "TYPE",    "ID",      "PREFIX"},
            words.back()))
        return false;
    for (const auto& w : words) {
        if (w == "PUBLIC" || w == "ANON") return false;  // public keys and Supabase's anon key are not secret
        if (any({"SECRET", "PASSWORD", "PASSWD", "PWD", "TOKEN", "APIKEY", "CREDENTIALS", "CREDENTIAL"}, w))
            return true;
    }
    return words.back() == "KEY";  // API_KEY, SECRET_KEY, PRIVATE_KEY, OPENAI_API_KEY
}

void check_secret_service_env_literal(const RuleContext& ctx, Hits& hits) {
    for (const auto& svc : ctx.spec.services) {
        for (const auto& [var, value] : svc.env) {
            if (value.kind != EnvValue::Kind::literal || value.text.empty()) continue;
            std::string path = "services." + svc.name + ".env." + var;
            bool url_password = false;
            if (value.text.rfind("postgres", 0) == 0) {
                try {
                    url_password = !pg::parse_conninfo(value.text).get("password").empty();
                } catch (const std::exception&) {
                }
            }
            if (url_password) {
                hits.push_back({path, var + " is a database URL with a password written in the spec",
                                "use " + var + ": \"database:url\" (steward passes its own database.url)"});
            } else if (secret_like_env_name(var)) {
                hits.push_back({path,
                                var + " looks like a secret but is a plain value, not secret:NAME: no secret "
                                      "rule checks it, and written in the spec it sits in version control",
                                "declare it under secrets: (file or env, with a kind) and set " + var +
                                    ": \"secret:<name>\""});
            }
        }
    }
}

}  // namespace steward::checks
