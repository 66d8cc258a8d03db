// Composes the connection URLs: database.password added to database.url, migrations.database_url.
#include "core/database_url.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace steward {
namespace {

std::string percent_encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out.push_back(static_cast<char>(c));
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

Secret secret_or_throw(const Spec& spec, const std::string& name, const std::string& path,
                       const std::map<std::string, ResolvedSecret>* resolved) {
    ResolvedSecret own;
    const ResolvedSecret* r = nullptr;
    if (resolved) {
        auto it = resolved->find(name);
        if (it != resolved->end()) r = &it->second;
    }
    if (!r) {
        const SecretSpec* s = spec.find_secret(name);
        if (!s) throw std::runtime_error(path + ": secrets." + name + " is not defined");
        own = resolve_secret(*s);
        r = &own;
    }
    if (!r->value)
        throw std::runtime_error(fmt::format("{}: secret {} did not resolve ({})", path, name, r->problem));
    return *r->value;
}

}  // namespace

std::string with_password(const std::string& url, const std::string& password) {
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
        std::string base = url;
        std::string fragment;
        if (auto hash = base.find('#'); hash != std::string::npos) {
            fragment = base.substr(hash);
            base.resize(hash);
        }
        return base + (base.find('?') == std::string::npos ? "?" : "&") +
               "password=" + percent_encode(password) + fragment;
    }
    std::string quoted;
    for (char c : password) {
        if (c == '\'' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
    }
    return url + " password='" + quoted + "'";
}

std::string effective_database_url(const Spec& spec, const std::map<std::string, ResolvedSecret>& secrets) {
    if (!spec.database.url) return {};
    if (!spec.database.password.is_secret()) return *spec.database.url;
    Secret pw = secret_or_throw(spec, spec.database.password.secret, "database.password", &secrets);
    return with_password(*spec.database.url, pw.reveal());
}

std::string effective_database_url(const Spec& spec) {
    if (!spec.database.url) return {};
    if (!spec.database.password.is_secret()) return *spec.database.url;
    Secret pw = secret_or_throw(spec, spec.database.password.secret, "database.password", nullptr);
    return with_password(*spec.database.url, pw.reveal());
}

std::string migrations_database_url(const Spec& spec, const std::string& database_url) {
    const SecretOrValue& m = spec.migrations.database_url;
    if (m.empty()) return database_url;
    if (!m.is_secret()) return m.literal;
    return secret_or_throw(spec, m.secret, "migrations.database_url", nullptr).reveal();
}

}  // namespace steward
