#!/usr/bin/env python3
"""promtool test rules for the rendered alert rules: each alert fires on its condition and not without it.

Usage: rules_test.py RULES_FILE ALERTS_DOC. Every alert in RULES_FILE needs a scenario here (a new alert
without one fails), and its runbook_url anchor must be a section of ALERTS_DOC.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

DAY = 86400
# alert -> (firing series, quiet series, eval time, labels of the firing alert besides severity)
# Series values use promtool's expanding notation; the interval is 1m.
SCENARIOS = {
    "StewardDown": (
        ['up{job="steward",instance="h:9180"} 0x10'],
        ['up{job="steward",instance="h:9180"} 1x10', 'up{job="steward",instance="h2:9180"} 1 1 1 1 1 1 1 0 0 0 0'],
        "10m", {"job": "steward", "instance": "h:9180"}),
    "StewardRestarting": (
        ['process_start_time_seconds{job="steward",instance="h"} 100 100 200 200 300 300 400 400'],
        ['process_start_time_seconds{job="steward",instance="h"} 100 100 200 200 300 300 300 300'],
        "7m", {"job": "steward", "instance": "h"}),
    "StewardProbeFailing": (
        ['steward_probe_success{probe="api"} 1 0 0 0'],
        ['steward_probe_success{probe="api"} 1 1 1 0'],
        "3m", {"probe": "api"}),
    "StewardServiceDown": (
        ['steward_service_up{service="api"} 0x5'],
        ['steward_service_up{service="api"} 1 1 1 1 0 0'],
        "5m", {"service": "api"}),
    "StewardServiceCrashLooping": (
        ['steward_service_state{service="api",state="crashloop"} 0 1 1'],
        ['steward_service_state{service="api",state="crashloop"} 0 0 0',
         'steward_service_state{service="api",state="running"} 1 1 1'],
        "2m", {"service": "api", "state": "crashloop"}),
    # At 0..10m the time is 0..600s: a success at 0 with a 3-day gap is stale only past 3 days + 1 h.
    "StewardBackupStale": (
        ['steward_backup_last_success_timestamp_seconds -270000x10', 'steward_backup_schedule_max_gap_seconds 259200x10'],
        ['steward_backup_last_success_timestamp_seconds -262000x10', 'steward_backup_schedule_max_gap_seconds 259200x10'],
        "5m", {}),
    "StewardBackupFailing": (
        ['steward_backup_failures_total 2 2 3 3'],
        ['steward_backup_failures_total 2 2 2 2'],
        "3m", {}),
    "StewardOffsiteCopyStale": (
        ['steward_backup_offsite_last_success_timestamp_seconds -100000x10', 'steward_backup_schedule_max_gap_seconds 86400x10'],
        ['steward_backup_offsite_last_success_timestamp_seconds -90000x10', 'steward_backup_schedule_max_gap_seconds 86400x10'],
        "5m", {}),
    "StewardRestoreDrillStale": (
        ['steward_backup_last_drill_success_timestamp_seconds -%dx10' % (8 * DAY)],
        ['steward_backup_last_drill_success_timestamp_seconds -%dx10' % (6 * DAY)],
        "5m", {}),
    "StewardRestoreDrillFailing": (
        ['steward_backup_drill_failures_total 0 0 1 1'],
        ['steward_backup_drill_failures_total 1 1 1 1'],
        "3m", {}),
    "StewardMigrationsPending": (
        ['steward_migrations_pending 2x40'],
        ['steward_migrations_pending 2x10 0x30', 'steward_migrations_pending{x="short"} 2x20'],
        "35m", {}),
    "StewardMigrationsFailed": (
        ['steward_migrations_failed 0 1 1'],
        ['steward_migrations_failed 0 0 0'],
        "2m", {}),
}


def series(lines):
    out = []
    for line in lines:
        name, values = line.rsplit(" ", 1) if "}" not in line else (line[:line.index("}") + 1], line[line.index("}") + 2:])
        out.append({"series": name, "values": values})
    return out


def fill(text, labels):
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)


def main():
    rules_file, alerts_doc = sys.argv[1], sys.argv[2]
    rules = [r for g in yaml.safe_load(open(rules_file))["groups"] for r in g["rules"]]
    doc = open(alerts_doc).read()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", doc, re.M)}
    problems = []
    tests = []
    for rule in rules:
        name = rule["alert"]
        ann = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not ann.get(key):
                problems.append(f"{name}: no {key} annotation")
        anchor = ann.get("runbook_url", "").rsplit("#", 1)[-1]
        if anchor not in anchors:
            problems.append(f"{name}: runbook anchor #{anchor} is no section of {alerts_doc}")
        if name not in SCENARIOS:
            problems.append(f"{name}: no scenario in rules_test.py")
            continue
        firing, quiet, at, labels = SCENARIOS[name]
        labels = dict(labels, severity=rule["labels"]["severity"])
        expected = {"exp_labels": labels,
                    "exp_annotations": {k: fill(v, labels) for k, v in ann.items()}}
        tests.append({"interval": "1m", "input_series": series(firing),
                      "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": [expected]}]})
        tests.append({"interval": "1m", "input_series": series(quiet),
                      "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": []}]})
    for name in SCENARIOS:
        if name not in {r["alert"] for r in rules}:
            problems.append(f"{name}: scenario for an alert the rules do not have")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="steward-rules-")
    try:
        shutil.copy(rules_file, os.path.join(work, "rules.yml"))
        with open(os.path.join(work, "test.yml"), "w") as f:
            yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}, f)
        r = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=work, capture_output=True, text=True)
        print(r.stdout, r.stderr)
        print(f"{len(tests)} rule tests for {len(rules)} alerts")
        return r.returncode
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
