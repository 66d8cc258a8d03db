#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the tests, examples and configs (re-runnable)."""
import hashlib, pathlib, re, sys

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def literals(pattern, paths):
    out = set()
    for p in paths:
        for m in re.finditer(pattern, p.read_text(errors="replace")):
            out.add(bytes(m.group(1), "utf-8").decode("unicode_escape"))
    return sorted(out)


tests = sorted((root / "tests").rglob("*.cpp"))
# spec: every YAML file the project ships, plus the specs embedded in tests
for y in list((root / "configs").glob("*.yaml")) + list((root / "examples").rglob("*.yaml")):
    put("spec", y.read_bytes())
for s in literals(r'parse_spec\(\s*"((?:[^"\\]|\\.)*)"', tests)[:80]:
    put("spec", s)
for s in ["${DATABASE_URL}", "${X:-default}", "$$literal", "${UNSET}", "${EMPTY:-x}", "${", "a${B:-${C}}d"]:
    put("spec", s)
# sql: the example migrations and the scanner's test inputs
for f in (root / "examples").rglob("*.sql"):
    put("sql", f.read_bytes())
for s in literals(r'scan_sql\(\s*"((?:[^"\\]|\\.)*)"', tests):
    put("sql", s)
put("sql", "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nBEGIN; COMMIT;\n\\! echo hi\n")
put("sql", "-- steward:no-transaction\nCREATE INDEX CONCURRENTLY i ON t(x);\n/* nested /* c */ */ SELECT E'\\'';")
# migration_names: real names, one per line, and the two versions compared first
names = [f.name for f in (root / "examples").rglob("*.sql")]
names += ["1_init.up.sql", "1_init.down.sql", "0002_add.up.sql", "V1.2.10__x.sql", "V1_2_9__y.sql",
          "R__views.sql", "U1__undo.sql", "V1__a.sql"]
put("migration_names", "\n".join(names))
put("migration_names", "1.2.10\n1.2.9\nV1__a.sql")
put("migration_names", "001\n1\n1_init.up.sql\n1_init.down.sql")
# cron
for s in literals(r'CronSchedule::parse\("((?:[^"\\]|\\.)*)"\)', tests) + [
        "@hourly", "@weekly", "@monthly", "@yearly", "0 0 30 2 *", "0 2 * JAN-MAR MON-FRI", "*/10 * * * * *",
        "0 0 1,15 * 7", "5-10/2 1 * * SUN"]:
    put("cron", s)
# duration
for s in literals(r'parse_duration\("((?:[^"\\]|\\.)*)"\)', tests) + ["0s", "1ms", "90m", "2147483648ms", "-1s"]:
    put("duration", s)
# redact_url: test URLs, and "password\nrest" inputs for the constructed cases
for s in literals(r'redact_url\("((?:[^"\\]|\\.)*)"\)', tests):
    put("redact_url", s)
for s in ["correct-horse-battery\ndb:5432/chat?sslmode=require", "p@ss/w0rd?x\n[::1]:5432/chat",
          "host=db user=app password='it''s a secret' dbname=chat", "postgresql://app:longpassword1@db/chat"]:
    put("redact_url", s)
# manifest: one of each shape the writer produces
manifest = ('{"steward_backup":1,"id":"chat-20261123T114303Z","deployment":"chat","database":"chat",'
            '"host":"app1","server_version":"15.8","pg_dump_version":"15.8","format":"custom",'
            '"compression":"zstd:3","encryption":"none","jobs":1,"raw_bytes":1234,'
            '"files":[{"path":"dump","bytes":1000,"sha256":"' + "ab" * 32 + '"}],'
            '"started":"2026-11-23T11:43:03Z","finished":"2026-11-23T11:43:05Z","duration_seconds":2.0,'
            '"verification":{"level":"full","ok":true,"at":"2026-11-23T11:43:06Z","duration_seconds":0.5},'
            '"row_counts":{"public.users":3}}')
put("manifest", manifest)
put("manifest", manifest.replace('"custom"', '"directory"').replace('"dump"', '"dump/toc.dat"'))
put("manifest", manifest.replace('"path":"dump"', '"path":"../../etc/passwd"'))
put("manifest", "{}")
put("manifest", manifest[:-1] + ',"mac":{"alg":"hmac-sha512-256","value":"' + "cd" * 32 + '"}}')
# admin_http: requests a client sends, with and without the token, and the path tricks
token = "fuzz-admin-token-0123456789abcdef0123"
for method, target, auth, body in [
        ("GET", "/healthz", None, ""), ("GET", "/readyz", None, ""), ("GET", "/metrics", None, ""),
        ("GET", "/api/v1/status", token, ""), ("GET", "/api/v1/status", "wrong", ""),
        ("GET", "/api/v1/help", token, ""), ("GET", "/api/v1/backups", token, ""),
        ("POST", "/api/v1/backups", token, "{}"), ("POST", "/api/v1/services/chat-api/restart", token, ""),
        ("POST", "/api/v1/reload?dry_run=true", token, "{}"), ("GET", "/api/v1/../healthz", None, ""),
        ("GET", "/api/v1/services/a%2Fb/restart", token, ""), ("GET", "/api/v1/history?limit=5", token, ""),
        ("POST", "/api/v1/migrations/apply", token, "{}"), ("GET", "/api/v1/check", token, ""),
        ("GET", "/" + "a" * 3000, None, "")]:
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if auth:
        head += f"Authorization: Bearer {auth}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    put("admin_http", head + "\r\n" + body)
put("admin_http", "GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
put("admin_http", "GET /healthz HTTP/1.1\r\nX: " + "y" * 9000 + "\r\n\r\n")
print("seeds written under", corpus)
