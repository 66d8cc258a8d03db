// Secret rules: missing, too short, placeholder, low entropy, inline, file mode/owner, reuse.
#include <fmt/format.h>

#include <cctype>

#include "checks/rule.hpp"
#include "checks/strength.hpp"

namespace steward::checks {
namespace {

constexpr const char* kGenerate = "generate one with `openssl rand -base64 48`";

std::string path_of(const SecretSpec& s) { return "secrets." + s.name; }

std::string where(const SecretSpec& s) {
    switch (s.source) {
        case SecretSpec::Source::env:
            return "environment variable " + s.env;
        case SecretSpec::Source::file:
            return "file " + s.file.string();
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

}  // namespace

void check_secret_missing(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const ResolvedSecret* r = resolved(ctx, s);
        if (!r) {
            hits.push_back({path_of(s), "secret was not resolved", "check the secrets." + s.name + " entry"});
            continue;
        }
        if (r->status == ResolvedSecret::Status::ok && r->value && !r->value->empty()) continue;
        std::string why = !r->problem.empty() ? r->problem : where(s) + " gives no value";
        std::string hint =
            s.source == SecretSpec::Source::file
                ? fmt::format("write the secret to {} (mode 0600); {}", s.file.string(), kGenerate)
            : s.source == SecretSpec::Source::env
                ? fmt::format("export {} before starting steward; {}", s.env, kGenerate)
                : std::string(kGenerate);
        hits.push_back({path_of(s), why, hint});
    }
}

void check_secret_too_short(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const Secret* v = ctx.secret(s.name);
        // A placeholder is reported as such; its length is beside the point.
        if (!v || v->empty() || is_placeholder(v->reveal())) continue;
        std::size_t need = min_secret_length(s.kind);
        if (v->size() >= need) continue;
        hits.push_back({path_of(s),
                        fmt::format("{} is {} characters; a {} needs at least {}", to_string(s.kind),
                                    v->size(), to_string(s.kind), need),
                        kGenerate});
    }
}

void check_secret_placeholder(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const Secret* v = ctx.secret(s.name);
        if (!v || !is_placeholder(v->reveal())) continue;
        hits.push_back({path_of(s), "value is a placeholder or default, not a real secret",
                        std::string("replace it; ") + kGenerate});
    }
}

void check_secret_low_entropy(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const Secret* v = ctx.secret(s.name);
        // Too short or placeholder values are reported by those rules; entropy is judged on the rest.
        if (!v || v->size() < min_secret_length(s.kind) || is_placeholder(v->reveal()) ||
            !is_low_entropy(v->reveal()))
            continue;
        hits.push_back({path_of(s),
                        fmt::format(
                            "value has low entropy ({} distinct of {} characters, repeated or sequential)",
                            [&] {
                                std::string seen;
                                for (char c : v->reveal())
                                    if (seen.find(c) == std::string::npos) seen.push_back(c);
                                return seen.size();
                            }(),
                            v->size()),
                        std::string("use a random value; ") + kGenerate});
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
        if (s.source != SecretSpec::Source::file || !r || !r->file_mode) continue;
        mode_t mode = *r->file_mode & 07777;
        if ((mode & 0077) == 0) continue;
        hits.push_back({path_of(s),
                        fmt::format("secret file {} has mode {:04o}: group or others can access it",
                                    s.file.string(), static_cast<unsigned>(mode)),
                        fmt::format("chmod 600 {}", s.file.string())});
    }
}

void check_secret_file_owner(const RuleContext& ctx, Hits& hits) {
    for (const auto& s : ctx.spec.secrets) {
        const ResolvedSecret* r = resolved(ctx, s);
        if (s.source != SecretSpec::Source::file || !r || !r->file_owner) continue;
        if (*r->file_owner == ctx.facts.uid) continue;
        hits.push_back(
            {path_of(s),
             fmt::format("secret file {} is owned by uid {}, but steward runs as uid {}", s.file.string(),
                         static_cast<unsigned>(*r->file_owner), static_cast<unsigned>(ctx.facts.uid)),
             fmt::format("chown {} {}", static_cast<unsigned>(ctx.facts.uid), s.file.string())});
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
                            std::string("give every secret its own value; ") + kGenerate});
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
