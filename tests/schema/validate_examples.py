#!/usr/bin/env python3
"""Validates every example spec against configs/steward.schema.json, and checks the schema rejects bad specs."""
import glob
import json
import os
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:  # a missing tool fails loudly, never skips
    sys.exit(f"FAIL: {e}; run scripts/install-deps (python3-jsonschema, python3-yaml)")

root = sys.argv[1]
schema = json.load(open(os.path.join(root, "configs/steward.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

files = sorted(glob.glob(os.path.join(root, "configs/*.yaml")) + [f for f in glob.glob(os.path.join(root, "examples/**/*.yaml"), recursive=True) if "/rendered/" not in f])
if len(files) < 4:
    sys.exit(f"FAIL: expected at least 4 example specs, found {len(files)}")
failed = 0
for f in files:
    errors = list(validator.iter_errors(yaml.safe_load(open(f))))
    for e in errors:
        print(f"FAIL {os.path.relpath(f, root)}: {'/'.join(map(str, e.path))}: {e.message}")
    failed += bool(errors)

base = yaml.safe_load(open(os.path.join(root, "configs/production.yaml")))
bad_cases = {
    "unknown top-level key": dict(base, secuirty={}),
    "unknown nested key": {**base, "migrations": {"lock_wiat": "10s"}},
    "wrong type": {**base, "security": {"require_auth": "yes please"}},
    "bad environment": {**base, "environment": "prod"},
    "missing database": {k: v for k, v in base.items() if k != "database"},
    "bad duration": {**base, "migrations": {"lock_wait": "soon"}},
    "probe with two targets": {**base, "probes": [{"name": "p", "tcp": {"address": "a:1"}, "exec": {"command": ["x"]}}]},
    "waiver without a reason": {**base, "checks": {"waive": [{"rule": "database.sslmode", "path": "database.url"}]}},
    "minimum lowered": {**base, "checks": {"min_secret_length": 8}},
    "literal database password": {**base, "database": {"url": "postgresql://a@h/d", "password": "hunter2"}},
}
for name, spec in bad_cases.items():
    if validator.is_valid(spec):
        print(f"FAIL schema accepts a bad spec: {name}")
        failed += 1

passed = len(files) + len(bad_cases) - failed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
