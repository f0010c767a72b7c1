#!/usr/bin/env python3
"""Add MiniStack's internal operations to the dynamodb model (run after
scripts/strip-model.py dynamodb).

MinistackInternalStreamsRead: the dynamodbstreams plugin reads the stream
records this plugin writes (see docs/services/dynamodb.md). Its input is a
DynamoDB Streams operation name (an enum) and that operation's JSON input
(validated again by the handler); it only reads.
"""

import json
import os

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "service-2.json")
with open(path) as f:
    model = json.load(f)

model["operations"]["MinistackInternalStreamsRead"] = {
    "name": "MinistackInternalStreamsRead",
    "http": {"method": "POST", "requestUri": "/"},
    "input": {"shape": "MinistackInternalStreamsReadInput"},
    "output": {"shape": "MinistackInternalStreamsReadOutput"},
    "errors": [{"shape": "ResourceNotFoundException"}, {"shape": "InternalServerError"}],
}
model["shapes"]["MinistackInternalStreamsReadInput"] = {
    "type": "structure",
    "required": ["Operation", "Input"],
    "members": {
        "Operation": {"shape": "MinistackInternalStreamsOperation"},
        "Input": {"shape": "MinistackInternalJson"},
    },
}
model["shapes"]["MinistackInternalStreamsReadOutput"] = {
    "type": "structure",
    "required": ["Output"],
    "members": {"Output": {"shape": "MinistackInternalJson"}},
}
model["shapes"]["MinistackInternalStreamsOperation"] = {
    "type": "string",
    "enum": ["ListStreams", "DescribeStream", "GetShardIterator", "GetRecords"],
}
model["shapes"]["MinistackInternalJson"] = {"type": "string", "max": 1048576}

with open(path, "w") as f:
    json.dump(model, f, indent=1)
    f.write("\n")
