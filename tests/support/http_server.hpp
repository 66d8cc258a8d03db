// A real HTTP(S) server for probe and readiness tests: Python's http.server serving a folder on loopback.
#pragma once

#include <filesystem>
#include <string>

#include "core/process.hpp"

namespace steward::test {

class HttpServer {
  public:
    // Serves `root` on 127.0.0.1:`port` (0: a free port); with `tls`, a self-signed certificate for
    // localhost.
    explicit HttpServer(std::filesystem::path root, int port = 0, bool tls = false);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void start();  // returns once it accepts connections
    void stop();   // kills it and waits
    int port() const { return port_; }
    std::string url(const std::string& path = "/") const;

  private:
    std::filesystem::path root_;
    int port_;
    bool tls_;
    Child child_;
};

}  // namespace steward::test
