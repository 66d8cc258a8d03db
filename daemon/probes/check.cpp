// Picks the check of a target's kind and names targets for logs.
#include "daemon/probes/check.hpp"

#include <fmt/format.h>

#include "core/pg.hpp"
#include "daemon/probes/check_internal.hpp"

namespace steward::probes {

std::unique_ptr<Check> make_check(const CheckTarget& t, const CheckEnvironment& env) {
    if (t.http) return make_http_check(*t.http, env);
    if (t.tcp) return make_tcp_check(*t.tcp, env);
    if (t.postgres) return make_postgres_check(*t.postgres, env);
    if (t.exec) return make_exec_check(*t.exec, env);
    throw std::invalid_argument("check target of no kind");
}

std::string describe(const CheckTarget& t) {
    if (t.http) return fmt::format("http {} {}", t.http->method, t.http->url);
    if (t.tcp) return "tcp " + t.tcp->address;
    if (t.postgres) return "postgres " + t.postgres->query;
    if (t.exec) return fmt::format("exec {}", fmt::join(t.exec->command, " "));
    return "none";
}

}  // namespace steward::probes
