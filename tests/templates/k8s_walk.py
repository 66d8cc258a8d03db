#!/usr/bin/env python3
"""Checks rendered Kubernetes manifests against the API's models of the kubernetes Python client.

Usage: k8s_walk.py FILE...  Every key must be a field of its model (the client's deserializer drops
unknown fields silently, so this walks openapi_types/attribute_map itself) and every value must have
the field's type. Exit 1 with the problems listed.
"""
import re
import sys

import yaml
from kubernetes import client

KINDS = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Service"): "V1Service",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("batch/v1", "CronJob"): "V1CronJob",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
}
PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def walk(value, type_name, path, problems):
    if type_name.startswith("list["):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            walk(item, type_name[5:-1], f"{path}[{i}]", problems)
        return
    m = re.match(r"dict\((\w+), (.+)\)$", type_name)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping")
            return
        for k, v in value.items():
            walk(v, m.group(2), f"{path}.{k}", problems)
        return
    if type_name == "object":  # IntOrString, Quantity, free-form
        return
    if type_name in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[type_name]) or (type_name == "int" and isinstance(value, bool)):
            problems.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    cls = getattr(client, type_name, None)
    if cls is None:
        problems.append(f"{path}: unknown model {type_name}")
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a {type_name} mapping")
        return
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for key, v in value.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: no such field in {type_name}")
            continue
        walk(v, cls.openapi_types[by_json[key]], f"{path}.{key}", problems)


def main():
    problems = []
    docs = 0
    for f in sys.argv[1:]:
        for i, doc in enumerate(yaml.safe_load_all(open(f))):
            if doc is None:
                continue
            docs += 1
            kind = KINDS.get((doc.get("apiVersion"), doc.get("kind")))
            if kind is None:
                problems.append(f"{f}[{i}]: unexpected apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}")
                continue
            walk(doc, kind, f"{f}[{i}]", problems)
    print("\n".join(problems) or f"{docs} manifests match the API models")
    return 1 if problems or docs == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
