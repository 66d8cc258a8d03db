// steward render against the real tools: systemd-analyze, nginx -t, promtool; secrets never in a file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>

#include "tests/support/steward_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/templates/render_support.hpp"

using namespace steward;
namespace fs = std::filesystem;

namespace {

struct Rendered {
    test::TempDir dir{"steward-render"};
    fs::path spec, out;
    std::string printed;
    explicit Rendered(const std::vector<std::string>& extra = {},
                      const std::map<std::string, std::string>& env = {}) {
        spec = dir.write("steward.yaml", test::full_spec(dir.path()));
        fs::create_directories(dir / "backups");
        out = dir / "out";
        printed = test::render(spec, out, extra, env);
    }
    std::string file(const std::string& rel) const { return test::read_file(out / rel); }
};

}  // namespace

TEST(Render, WritesEveryTargetAndPrintsWhatItWrote) {
    Rendered r;
    std::vector<std::string> expected = {"env/production.env.example",   "nginx/chat.conf",
                                         "prometheus/steward-rules.yml", "systemd/steward-backup.service",
                                         "systemd/steward-backup.timer", "systemd/steward.service"};
    auto files = test::files_under(r.out);
    for (const auto& f : expected) {
        EXPECT_NE(std::find(files.begin(), files.end(), f), files.end()) << f << " missing";
        EXPECT_NE(r.printed.find("wrote     " + (r.out / f).string()), std::string::npos) << r.printed;
    }
}

TEST(Render, LeavesUnchangedFilesAloneAndReplacesChangedOnes) {
    Rendered r;
    auto unit = r.out / "systemd/steward.service";
    struct stat before {};
    ASSERT_EQ(::stat(unit.c_str(), &before), 0);
    auto again = test::render(r.spec, r.out);
    EXPECT_NE(again.find("unchanged " + unit.string()), std::string::npos) << again;
    EXPECT_EQ(again.find("wrote"), std::string::npos) << again;
    struct stat after {};
    ASSERT_EQ(::stat(unit.c_str(), &after), 0);
    EXPECT_EQ(before.st_ino, after.st_ino);  // not rewritten
    EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);

    std::ofstream(unit) << "edited by hand\n";
    auto third = test::render(r.spec, r.out, {"--json"});
    EXPECT_NE(third.find("{\"path\":\"systemd/steward.service\",\"changed\":true}"), std::string::npos)
        << third;
    EXPECT_NE(third.find("{\"path\":\"nginx/chat.conf\",\"changed\":false}"), std::string::npos) << third;
    EXPECT_NE(r.file("systemd/steward.service").find("Type=notify"), std::string::npos);
}

TEST(Render, SystemdUnitsPassSystemdAnalyzeVerify) {
    Rendered r;
    auto unit = r.file("systemd/steward.service");
    for (const char* line :
         {"Type=notify\n", "NotifyAccess=main\n", "WatchdogSec=30s\n", "Restart=on-failure\n",
          "KillMode=mixed\n", "User=steward\n", "NoNewPrivileges=yes\n", "ProtectSystem=strict\n",
          "PrivateTmp=yes\n", "ProtectHome=yes\n",
          "LoadCredential=smtp_password:/etc/steward/credentials/smtp_password\n",
          "EnvironmentFile=/etc/steward/chat.env\n", "CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL\n",
          // readiness 90s + 60s for the gate; stop 25s + 10s
          "TimeoutStartSec=150s\n", "TimeoutStopSec=35s\n"})
        EXPECT_NE(unit.find(line), std::string::npos) << line << " not in\n" << unit;
    EXPECT_NE(unit.find("ReadWritePaths=" + (r.dir / "backups").string() + "\n"), std::string::npos) << unit;
    EXPECT_NE(unit.find("ExecStart=" + std::string(test::steward_binary()) +
                        " --spec /etc/steward/steward.yaml run"),
              std::string::npos);
    auto timer = r.file("systemd/steward-backup.timer");
    EXPECT_NE(timer.find("OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 02:00:00 Europe/Berlin\n"), std::string::npos)
        << timer;
    EXPECT_NE(r.file("systemd/steward-backup.service").find("backup now --metrics-textfile "),
              std::string::npos);

    auto v = test::run_tool({"systemd-analyze", "verify", (r.out / "systemd/steward.service").string(),
                             (r.out / "systemd/steward-backup.service").string(),
                             (r.out / "systemd/steward-backup.timer").string()});
    EXPECT_EQ(v.status, 0) << v.out << v.err;
    EXPECT_EQ(v.err, "") << "systemd-analyze verify complained:\n" << v.err;
}

TEST(Render, SystemdVerifyCatchesABrokenUnit) {
    // The check above is worth something only if verify rejects a bad unit.
    Rendered r;
    auto unit = r.out / "systemd/steward.service";
    std::ofstream(unit, std::ios::app) << "[Service]\nType=bogus\n";
    auto v = test::run_tool({"systemd-analyze", "verify", unit.string()});
    EXPECT_NE(v.status == 0 && v.err.empty(), true) << v.out << v.err;
}

TEST(Render, NoScheduleNoTimer) {
    test::TempDir dir("steward-render");
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: chat\nenvironment: development\n"
                          "database: { url: 'postgresql://localhost/chat' }\n");
    test::render(spec, dir / "out");
    EXPECT_FALSE(fs::exists(dir / "out/systemd/steward-backup.timer"));
    EXPECT_FALSE(fs::exists(dir / "out/nginx/chat.conf"));  // no service to proxy
    EXPECT_TRUE(fs::exists(dir / "out/systemd/steward.service"));
    EXPECT_NE(test::read_file(dir / "out/systemd/steward.service").find("CapabilityBoundingSet=\n"),
              std::string::npos);
}

TEST(Render, NginxConfigPassesNginxT) {
    Rendered r;
    auto conf = r.file("nginx/chat.conf");
    for (const char* s : {"return 301 https://$host$request_uri;", "ssl_protocols TLSv1.2 TLSv1.3;",
                          "Strict-Transport-Security", "X-Content-Type-Options",
                          "limit_req_zone $binary_remote_addr "
                          "zone=chat_api:10m rate=60r/m;",
                          "limit_req zone=chat_api burst=20 nodelay;", "server 127.0.0.1:8000;",
                          "location = /health", "proxy_buffering off;", "server_name chat.example.com;"})
        EXPECT_NE(conf.find(s), std::string::npos) << s << " not in\n" << conf;
    // A throwaway certificate where the config expects Let's Encrypt's.
    auto tls = r.dir / "tls";
    fs::create_directories(tls);
    auto cert = test::run_tool({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                "-subj", "/CN=chat.example.com", "-keyout", (tls / "privkey.pem").string(),
                                "-out", (tls / "fullchain.pem").string()});
    ASSERT_EQ(cert.status, 0) << cert.err;
    conf = std::regex_replace(conf, std::regex("/etc/letsencrypt/live/chat.example.com"), tls.string());
    r.dir.write("site.conf", conf);
    auto main =
        r.dir.write("nginx.conf", "pid " + (r.dir / "nginx.pid").string() + ";\nerror_log " +
                                      (r.dir / "error.log").string() + ";\nevents {}\nhttp {\n  include " +
                                      (r.dir / "site.conf").string() + ";\n}\n");
    auto t = test::run_tool({"nginx", "-t", "-q", "-c", main.string(), "-p", r.dir.path().string()});
    EXPECT_EQ(t.status, 0) << t.out << t.err;
}

TEST(Render, PrometheusRulesPassPromtoolCheckAndTests) {
    Rendered r;
    auto rules = r.out / "prometheus/steward-rules.yml";
    auto check = test::run_tool({"promtool", "check", "rules", rules.string()});
    EXPECT_EQ(check.status, 0) << check.out << check.err;
    // Every alert fires on its condition and stays quiet without it; every runbook section exists.
    auto t = test::run_tool({"/usr/bin/python3",
                             std::string(test::source_dir()) + "/tests/templates/rules_test.py",
                             rules.string(), std::string(test::source_dir()) + "/docs/alerts.md"});
    EXPECT_EQ(t.status, 0) << t.out << t.err;
}

TEST(Render, EnvExampleNamesEveryVariableWithoutValues) {
    Rendered r({}, {{"JWT_SECRET_KEY", "from-the-environment"}});
    auto env = r.file("env/production.env.example");
    EXPECT_NE(env.find("\nJWT_SECRET_KEY=\n"), std::string::npos) << env;
    EXPECT_NE(env.find("\nDATABASE_URL=\n"), std::string::npos) << env;
    EXPECT_NE(env.find("openssl rand"), std::string::npos) << env;
    EXPECT_NE(env.find("systemd credential smtp_password"), std::string::npos) << env;
    EXPECT_EQ(env.find("from-the-environment"), std::string::npos) << env;
    std::regex assignment("^[A-Z_]+=.+$", std::regex::multiline);
    EXPECT_FALSE(std::regex_search(env, assignment)) << "a value in\n" << env;
}

TEST(Render, CanarySecretsAppearInNoRenderedFile) {
    const std::string jwt = "Zq8vN3kR7wT1yX5mB9cF2hJ6pL4sD0gA-jwt-canary";
    const std::string admin = "Hr5tY8uI1oP4aS7dF0gJ3kL6zX9cV2bN-admin-canary";
    const std::string key = "Mn4bV7cX0zL3kJ6hG9fD2sA5pO8iU1yT-key-canary";
    const std::string dbpw = "Qw3eR6tY9uI2oP5aS8dF1gH4jK7lZ0xC-dbpw";
    test::TempDir dir("steward-render");
    auto spec = dir.write("steward.yaml", test::full_spec(dir.path()));
    ::chmod(dir.write("admin.token", admin + "\n").c_str(), 0600);
    ::chmod(dir.write("backup.key", key + "\n").c_str(), 0600);
    std::map<std::string, std::string> env{{"JWT_SECRET_KEY", jwt},
                                           {"DATABASE_URL", "postgresql://chat:" + dbpw + "@db:5432/chat"}};
    auto r = test::run_steward({"--spec", spec.string(), "render", "--out", (dir / "out").string()}, env);
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = test::run_steward({"--spec", spec.string(), "render", "--json", "--out", (dir / "out").string()},
                               env);
    for (const auto& f : test::files_under(dir / "out")) {
        auto text = test::read_file(dir / "out" / f);
        for (const auto* c : {&jwt, &admin, &key, &dbpw})
            EXPECT_EQ(text.find(*c), std::string::npos) << f << " holds a secret";
    }
    for (const auto* c : {&jwt, &admin, &key, &dbpw}) {
        EXPECT_EQ((r.out + r.err + j.out + j.err).find(*c), std::string::npos);
    }
}

TEST(Render, OnlyPicksTargets) {
    Rendered r({"--only", "prometheus,env"});
    EXPECT_EQ(test::files_under(r.out),
              (std::vector<std::string>{"env/production.env.example", "prometheus/steward-rules.yml"}));
}

TEST(Render, TemplatesFolderReplacesOneTemplate) {
    test::TempDir mine("steward-templates");
    mine.write("nginx/{{name}}.conf.mustache", "# mine for {{name}} on {{app.port}}\n");
    mine.write("nginx/extra.txt.mustache", "extra {{name}}\n");
    Rendered r({"--templates", mine.path().string(), "--only", "nginx,systemd"});
    EXPECT_EQ(r.file("nginx/chat.conf"), "# mine for chat on 8000\n");
    EXPECT_EQ(r.file("nginx/extra.txt"), "extra chat\n");
    EXPECT_NE(r.file("systemd/steward.service").find("Type=notify"), std::string::npos);  // the installed one
}

TEST(Render, BadInputExitsTwoAndWritesNothing) {
    test::TempDir dir("steward-render");
    auto spec = dir.write("steward.yaml", test::full_spec(dir.path()));
    auto run = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = {"--spec", spec.string(), "render", "--out", (dir / "out").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return test::run_steward(args);
    };
    auto r = run({"--only", "systemd,helm"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown target 'helm'"), std::string::npos) << r.err;
    test::TempDir bad("steward-templates");
    bad.write("systemd/steward.service.mustache", "{{#unclosed}}\n");
    r = run({"--templates", bad.path().string()});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("steward.service.mustache"), std::string::npos) << r.err;
    r = run({"--templates", (dir / "missing").string()});
    EXPECT_EQ(r.status, 2);
    r = test::run_steward({"--spec", spec.string(), "render"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));
    // A value that would add a directive to a line-based file is refused.
    auto evil = dir.write("evil.yaml",
                          "version: 1\nname: chat\nenvironment: development\n"
                          "database: { url: 'postgresql://localhost/chat' }\n"
                          "security: { base_url: 'https://x.example.com;evil' }\n"
                          "services: { api: { command: [/bin/true] } }\n");
    r = test::run_steward(
        {"--spec", evil.string(), "render", "--out", (dir / "out").string(), "--only", "nginx"});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(Render, ComposeFilePassesDockerComposeConfig) {
    Rendered r({"--only", "compose"});
    auto dir = r.out / "compose";
    auto compose = r.file("compose/compose.yaml");
    for (const char* s :
         {"condition: service_completed_successfully", "pg_isready", "command: [\"migrate\", \"up\"]",
          "network_mode: \"service:app\"", "source: \"chat-admin-token\"", "- \"/opt/chat/bin/chat-api\""})
        EXPECT_NE(compose.find(s), std::string::npos) << s << " not in\n" << compose;
    EXPECT_NE(r.file("compose/Dockerfile").find("FROM debian:12-slim"), std::string::npos);
    auto spec = r.file("compose/steward.yaml");
    EXPECT_EQ(spec.find("\nservices:"), std::string::npos) << spec;
    EXPECT_NE(spec.find("${DATABASE_URL}"), std::string::npos) << spec;
    // What the file names must exist for docker-compose to validate it.
    r.dir.write("out/compose/production.env", "POSTGRES_PASSWORD=x\n");
    for (const char* s : {"admin.token", "backup.key", "smtp_password"})
        r.dir.write(std::string("out/compose/secrets/") + s, "x\n");
    auto c = test::run_tool({"docker-compose", "-f", (dir / "compose.yaml").string(), "config", "-q"}, dir);
    EXPECT_EQ(c.status, 0) << c.out << c.err;
    // The check rejects what compose would not run: an unknown key.
    r.dir.write("out/compose/bad.yaml", compose + "\nbogus_top_level: 1\n");
    auto bad = test::run_tool({"docker-compose", "-f", (dir / "bad.yaml").string(), "config", "-q"}, dir);
    EXPECT_NE(bad.status, 0) << bad.out << bad.err;
}

TEST(Render, KubernetesManifestsMatchTheApiModels) {
    Rendered r({"--only", "k8s"});
    std::vector<std::string> args = {"/usr/bin/python3",
                                     std::string(test::source_dir()) + "/tests/templates/k8s_walk.py"};
    for (const auto& f : test::files_under(r.out)) args.push_back((r.out / f).string());
    EXPECT_EQ(args.size(), 8u) << "configmap, cronjob, deployment, pdb, pvc, service";
    auto w = test::run_tool(args);
    EXPECT_EQ(w.status, 0) << w.out << w.err;
    auto deployment = r.file("k8s/deployment.yaml");
    for (const char* s :
         {"initContainers:", "args: [\"migrate\", \"up\"]", "secretKeyRef: { name: chat-jwt-secret",
          "startupProbe:", "readinessProbe:", "livenessProbe:", "path: \"/health\"", "resources:"})
        EXPECT_NE(deployment.find(s), std::string::npos) << s << " not in\n" << deployment;
    EXPECT_NE(r.file("k8s/cronjob.yaml").find("concurrencyPolicy: Forbid"), std::string::npos);
    // The walk is worth something only if it rejects a field the API does not have.
    r.dir.write("bad.yaml", deployment + "\n");
    auto bad_text = test::read_file(r.dir / "bad.yaml");
    bad_text.replace(bad_text.find("replicas: 2"), 11, "replicas: 2\n  replica: 3");
    r.dir.write("bad.yaml", bad_text);
    auto bad = test::run_tool({"/usr/bin/python3", args[1], (r.dir / "bad.yaml").string()});
    EXPECT_NE(bad.status, 0) << bad.out;
    EXPECT_NE(bad.out.find("replica: no such field"), std::string::npos) << bad.out;
}

TEST(Render, AnInlineSecretNeverReachesAContainerSpec) {
    test::TempDir dir("steward-render");
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: chat\nenvironment: development\n"
                          "database: { url: 'postgresql://localhost/chat' }\n"
                          "secrets: { jwt: { value: Zq8vN3kR7wT1yX5mB9cF2hJ6pL4sD0gA-inline } }\n");
    auto r = test::run_steward(
        {"--spec", spec.string(), "render", "--out", (dir / "out").string(), "--only", "k8s"});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("secrets.jwt is inline"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out"));
    test::render(spec, dir / "out", {"--only", "systemd,prometheus"});  // no container spec: fine
}

TEST(Render, InKubernetesTheAppReadsTheDatabaseUrlWhereStewardReadsIt) {
    // database.url is ${DATABASE_URL}: steward's containers read it from <name>-env, and so does the app.
    Rendered whole({"--only", "k8s"});
    auto deployment = whole.file("k8s/deployment.yaml");
    EXPECT_NE(deployment.find("secretKeyRef: { name: chat-env, key: \"DATABASE_URL\" }"), std::string::npos)
        << deployment;
    EXPECT_EQ(deployment.find("chat-database-url"), std::string::npos) << deployment;
    // With the password in a secret of its own, the app's URL is not the one in <name>-env: a Secret of its own.
    test::TempDir dir("steward-render");
    auto spec = dir.write("steward.yaml",
                          "version: 1\nname: chat\nenvironment: development\n"
                          "database: { url: '${DATABASE_URL}', password: 'secret:db_password' }\n"
                          "secrets: { db_password: { env: DB_PASSWORD } }\n"
                          "services: { api: { command: [/bin/true], env: { DATABASE_URL: 'database:url' } } }\n");
    test::render(spec, dir / "out", {"--only", "k8s"}, {{"DATABASE_URL", "postgresql://app@db/chat"}});
    auto split = test::read_file(dir / "out/k8s/deployment.yaml");
    EXPECT_NE(split.find("secretKeyRef: { name: chat-database-url, key: \"value\" }"), std::string::npos) << split;
    // The same with the variable declared as a secret's env: steward's containers get it from that secret's
    // Secret, not from <name>-env, so the app cannot read it there either.
    auto declared = dir.write("declared.yaml",
                              "version: 1\nname: chat\nenvironment: development\n"
                              "database: { url: '${DATABASE_URL}' }\n"
                              "secrets: { db_url: { env: DATABASE_URL } }\n"
                              "services: { api: { command: [/bin/true], env: { DATABASE_URL: 'database:url' } } }\n");
    test::render(declared, dir / "declared", {"--only", "k8s"}, {{"DATABASE_URL", "postgresql://app@db/chat"}});
    EXPECT_NE(test::read_file(dir / "declared/k8s/deployment.yaml").find("name: chat-database-url"),
              std::string::npos);
}

TEST(Install, LayoutAndInstalledTemplatesAreFound) {
    // cmake --install into a staging folder; the installed steward renders from the installed templates.
    test::TempDir stage("steward-install");
    ProcessOptions o;
    o.argv = {"cmake", "--install", STEWARD_BUILD_DIR, "--prefix", "/usr"};
    o.env = {{"DESTDIR", stage.path().string()}};
    o.stdout_fd = ProcessOptions::kPipe;
    o.stderr_fd = ProcessOptions::kPipe;
    auto r = run_process(o, std::chrono::seconds(120));
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    auto root = stage.path() / "usr";
    for (const char* f : {"bin/steward", "share/steward/steward.schema.json",
                          "share/steward/templates/systemd/steward.service.mustache",
                          "share/steward/templates/k8s/deployment.yaml.mustache",
                          "lib/systemd/system/steward.service", "share/doc/steward/alerts.md"})
        EXPECT_TRUE(fs::exists(root / f)) << f;
    // Configured with the default prefix: /usr/local/etc (a /usr prefix gives /etc, as `make package` uses).
    EXPECT_TRUE(fs::exists(stage / "etc/steward/steward.yaml.example") ||
                fs::exists(stage / "usr/local/etc/steward/steward.yaml.example"));
    // The installed binary reads the installed templates, not the source tree's.
    std::ofstream(root / "share/steward/templates/systemd/steward.service.mustache", std::ios::app)
        << "# installed copy\n";
    test::TempDir out("steward-install-out");
    auto spec = out.write("steward.yaml",
                          "version: 1\nname: chat\nenvironment: development\n"
                          "database: { url: 'postgresql://localhost/chat' }\n");
    ProcessOptions ro;
    ro.argv = {(root / "bin/steward").string(), "--spec", spec.string(), "render", "--out",
               (out / "rendered").string(),     "--only", "systemd"};
    ro.stdout_fd = ProcessOptions::kPipe;
    ro.stderr_fd = ProcessOptions::kPipe;
    auto run = run_process(ro, std::chrono::seconds(60));
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_NE(test::read_file(out / "rendered/systemd/steward.service").find("# installed copy"),
              std::string::npos);
}

TEST(Install, PackageConfigurationNamesWhatStewardRuns) {
    auto config = test::read_file(fs::path(STEWARD_BUILD_DIR) / "CPackConfig.cmake");
    for (const char* s : {"set(CPACK_GENERATOR \"DEB\")", "set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS \"ON\")",
                          "set(CPACK_DEBIAN_PACKAGE_DEPENDS \"postgresql-client-15\")",
                          "set(CPACK_PACKAGING_INSTALL_PREFIX \"/usr\")"})
        EXPECT_NE(config.find(s), std::string::npos) << s;
}
