// Python's http.server (optionally wrapped in TLS) as a child of the test.
#include "tests/support/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "core/embedded_postgres.hpp"

namespace steward::test {
namespace {

bool accepts(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

const char* kTlsServer = R"(
import http.server, ssl, sys, functools
port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
httpd = http.server.HTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
)";

}  // namespace

HttpServer::HttpServer(std::filesystem::path root, int port, bool tls)
    : root_(std::move(root)), port_(port ? port : free_loopback_port()), tls_(tls) {
    start();
}

HttpServer::~HttpServer() { stop(); }

std::string HttpServer::url(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") + "://" + (tls_ ? "localhost" : "127.0.0.1") + ":" +
           std::to_string(port_) + path;
}

void HttpServer::start() {
    if (child_.running()) return;
    ProcessOptions o;
    if (tls_) {
        auto cert = root_ / ".cert.pem", key = root_ / ".key.pem";
        if (!std::filesystem::exists(cert)) {
            ProcessOptions gen;
            gen.argv = {"openssl",  "req",           "-x509",   "-newkey",
                        "rsa:2048", "-nodes",        "-days",   "2",
                        "-subj",    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout",  key.string(),    "-out",    cert.string()};
            if (!run_process(gen, std::chrono::seconds(60)).ok())
                throw std::runtime_error("openssl req failed");
        }
        o.argv = {"python3",      "-c",          kTlsServer,  std::to_string(port_),
                  root_.string(), cert.string(), key.string()};
    } else {
        o.argv = {"python3", "-m",        "http.server", std::to_string(port_),
                  "--bind",  "127.0.0.1", "--directory", root_.string()};
    }
    o.stdout_fd = ProcessOptions::kDevNull;
    o.stderr_fd = ProcessOptions::kDevNull;
    child_ = spawn(o);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!accepts(port_)) {
        if (child_.try_wait()) throw std::runtime_error("the test HTTP server exited (python3 missing?)");
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the test HTTP server did not start");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void HttpServer::stop() {
    if (!child_.running()) return;
    child_.signal(SIGKILL);
    child_.wait();
}

}  // namespace steward::test
