// The URLs steward connects with: database.url with database.password filled in, and the migrations'.
#pragma once

#include <map>
#include <string>

#include "core/secret.hpp"
#include "core/spec.hpp"

namespace steward {

// `url` (a postgresql:// URL or a key=value string) with `password` added the way libpq reads it back:
// a percent-encoded `password` query parameter, or a quoted `password='...'` keyword.
std::string with_password(const std::string& url, const std::string& password);

// database.url, with the password of database.password (secret:NAME) added when it is set. Throws
// std::runtime_error naming the secret when it does not resolve (never its value).
std::string effective_database_url(const Spec& spec, const std::map<std::string, ResolvedSecret>& secrets);
std::string effective_database_url(const Spec& spec);  // resolves the one secret it needs

// The URL migrations run with: migrations.database_url (a ${VAR} or secret:NAME) when set, else
// `database_url`. Throws std::runtime_error when its secret does not resolve.
std::string migrations_database_url(const Spec& spec, const std::string& database_url);

}  // namespace steward
