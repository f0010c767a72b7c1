#!/usr/bin/env python3
"""Builds the fuzz models and seed corpus from the protocol test vectors.

models/<target>.json: every suite of a vector file merged into one model
(metadata of the first suite, all operations and shapes).
corpus/<target>/<case id>: each input case as `METHOD uri\\nheaders\\n\\nbody`.
Run from fuzz/: python3 make_corpus.py
"""
import base64
import json
import os

VEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "protocol-vectors", "input")
TARGETS = {
    "decode_json": ["json.json", "json_1_0.json", "json_1_0-query-compatible.json"],
    "decode_query": ["query.json"],
    "decode_ec2": ["ec2.json"],
    "decode_rest_json": ["rest-json.json"],
    "decode_rest_xml": ["rest-xml.json"],
    "decode_cbor": ["smithy-rpc-v2-cbor.json", "smithy-rpc-v2-cbor-query-compatible.json"],
    "decode_s3": ["rest-xml.json"],
}
MODELS = {
    "decode_json": "json", "decode_query": "query", "decode_ec2": "ec2v",
    "decode_rest_json": "restjson", "decode_rest_xml": "restxml", "decode_cbor": "cbor",
}

for target, files in TARGETS.items():
    model = {"metadata": None, "operations": {}, "shapes": {}}
    out_dir = os.path.join("corpus", target)
    os.makedirs(out_dir, exist_ok=True)
    for f in files:
        for suite in json.load(open(os.path.join(VEC, f))):
            model["metadata"] = model["metadata"] or suite["metadata"]
            model["shapes"].update(suite["shapes"])
            for case in suite["cases"]:
                given = dict(case["given"])
                given.pop("documentation", None)
                model["operations"][given["name"]] = given
                ser = case["serialized"]
                body = ser.get("body", "") or ""
                raw = base64.b64decode(body) if "cbor" in f else body.encode()
                head = f"{ser.get('method', 'POST')} {ser.get('uri', '/')}\n"
                for k, v in (ser.get("headers") or {}).items():
                    head += f"{k}: {v}\n"
                if ser.get("host"):
                    head += f"host: {ser['host']}\n"
                with open(os.path.join(out_dir, case["id"]), "wb") as out:
                    out.write(head.encode() + b"\n" + raw)
    if target in MODELS:
        os.makedirs("models", exist_ok=True)
        with open(os.path.join("models", MODELS[target] + ".json"), "w") as out:
            json.dump(model, out, separators=(",", ":"))
# A few S3 requests as SDKs send them.
s3 = os.path.join("corpus", "decode_s3")
seeds = {
    "list-v2": "GET /bucket?list-type=2&prefix=a%2F&max-keys=\nhost: localhost:4566\n\n",
    "vhost-put": "PUT /dir/key%20name/\nhost: bucket.s3.us-east-1.localhost\ncontent-length: 3\nx-amz-meta-a: b\n\nabc",
    "upload-part": "PUT /b/k?partNumber=1&uploadId=u\nx-amz-copy-source: src/key\n\n",
    "create-bucket": "PUT /b\n\n<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
    "delete-objects": "POST /b?delete\n\n<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>",
}
for name, text in seeds.items():
    with open(os.path.join(s3, name), "wb") as out:
        out.write(text.encode())
