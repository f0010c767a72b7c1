#!/usr/bin/env python3
"""Write a plugin's service model from the installed botocore.

    scripts/strip-model.py <service> [--version YYYY-MM-DD] [--out PATH]

Reads botocore's `data/<service>/<version>/service-2.json(.gz)` (the newest
version unless --version is given), drops what only documents the API
(`documentation`, `documentationUrl`, `examples`, `deprecatedMessage`), and
writes `plugins/<service>/model/service-2.json` (or PATH), for the plugin to
embed with include_str!. Key order is kept so diffs against botocore stay small.
"""

import argparse
import gzip
import json
import os
import sys

DOC_KEYS = {"documentation", "documentationUrl", "examples", "deprecatedMessage"}


def botocore_data_dir():
    import botocore

    return os.path.join(os.path.dirname(botocore.__file__), "data")


def load_model(service, version=None):
    base = os.path.join(botocore_data_dir(), service)
    if not os.path.isdir(base):
        sys.exit(f"no botocore data for service {service!r} under {base}")
    versions = sorted(v for v in os.listdir(base) if os.path.isdir(os.path.join(base, v)))
    if version is None:
        candidates = [v for v in versions if any(
            os.path.exists(os.path.join(base, v, f)) for f in ("service-2.json.gz", "service-2.json"))]
        if not candidates:
            sys.exit(f"no service-2.json for {service!r} in {base}")
        version = candidates[-1]
    folder = os.path.join(base, version)
    gz = os.path.join(folder, "service-2.json.gz")
    if os.path.exists(gz):
        with gzip.open(gz, "rt", encoding="utf-8") as f:
            return json.load(f), version
    with open(os.path.join(folder, "service-2.json"), encoding="utf-8") as f:
        return json.load(f), version


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DOC_KEYS}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("service", help="botocore service name, e.g. sts, sqs, s3")
    ap.add_argument("--version", help="API version folder, e.g. 2011-06-15 (default: newest)")
    ap.add_argument("--out", help="output path (default: plugins/<service>/model/service-2.json)")
    args = ap.parse_args()

    model, version = load_model(args.service, args.version)
    model = strip(model)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = args.out or os.path.join(repo, "plugins", args.service, "model", "service-2.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(model, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{args.service} {version}: {len(model.get('operations', {}))} operations, "
          f"{len(model.get('shapes', {}))} shapes -> {os.path.relpath(out)} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
