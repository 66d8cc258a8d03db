// The admin API's request and response, independent of sockets: the router maps one to the other.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

namespace steward::admin {

struct Request {
    std::string method;                          // "GET", "POST", ...
    std::string target;                          // as sent: "/api/v1/backups?x=1"
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string peer;  // "127.0.0.1:53122", for the audit log

    std::string header(const std::string& lower_name) const;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
    void set(const std::string& name, const std::string& value) { headers.emplace_back(name, value); }
};

// The one way the admin API writes JSON.
std::string json_body(const boost::json::value& v);

// {"error": {"code": CODE, "message": MESSAGE}} with `status`.
Response error_response(int status, const std::string& code, const std::string& message);

}  // namespace steward::admin
