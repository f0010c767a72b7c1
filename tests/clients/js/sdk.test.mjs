// The AWS SDK for JavaScript v3 against ministack, configured only through
// AWS_ENDPOINT_URL (+ AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION)
// as a user's code would be. Run by tests/e2e/test_client_js.py:
//   node --test sdk.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import dns from "node:dns";
import { readFileSync } from "node:fs";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import {
  SQSClient, CreateQueueCommand, SendMessageCommand, ReceiveMessageCommand, DeleteMessageCommand,
} from "@aws-sdk/client-sqs";
import { DynamoDBClient, CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { LambdaClient, CreateFunctionCommand, InvokeCommand, waitUntilFunctionActiveV2 } from "@aws-sdk/client-lambda";

assert.ok(process.env.AWS_ENDPOINT_URL, "AWS_ENDPOINT_URL must be set");
// Virtual-hosted S3 names <bucket>.localhost; glibc does not resolve
// *.localhost (browsers and systemd-resolved do), so this process does.
const lookup = dns.lookup;
dns.lookup = (host, opts, cb) =>
  host.endsWith(".localhost") ? lookup("127.0.0.1", opts, cb) : lookup(host, opts, cb);

const uid = () => Math.random().toString(36).slice(2, 10);

test("S3 path style", async () => {
  const s3 = new S3Client({ forcePathStyle: true });
  const Bucket = `js-path-${uid()}`;
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutObjectCommand({ Bucket, Key: "dir/hello.txt", Body: "hello from js", ContentType: "text/plain" }));
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: "dir/hello.txt" }));
  assert.equal(await got.Body.transformToString(), "hello from js");
  assert.equal(got.ContentType, "text/plain");
  const list = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "dir/" }));
  assert.deepEqual(list.Contents.map((o) => o.Key), ["dir/hello.txt"]);
});

test("S3 virtual host", async () => {
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL);
  assert.equal(endpoint.hostname, "localhost", "virtual host needs a localhost endpoint");
  const s3 = new S3Client({});
  const Bucket = `js-vhost-${uid()}`;
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutObjectCommand({ Bucket, Key: "v.txt", Body: "virtual" }));
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: "v.txt" }));
  assert.equal(await got.Body.transformToString(), "virtual");
  // The same object through path style: it is one bucket.
  const path = new S3Client({ forcePathStyle: true });
  const again = await path.send(new GetObjectCommand({ Bucket, Key: "v.txt" }));
  assert.equal(await again.Body.transformToString(), "virtual");
});

test("SQS send, receive, delete", async () => {
  const sqs = new SQSClient({});
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `js-q-${uid()}` }));
  await sqs.send(new SendMessageCommand({
    QueueUrl, MessageBody: "from js",
    MessageAttributes: { kind: { DataType: "String", StringValue: "test" } },
  }));
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }));
  assert.equal(out.Messages.length, 1);
  assert.equal(out.Messages[0].Body, "from js");
  assert.equal(out.Messages[0].MessageAttributes.kind.StringValue, "test");
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle }));
  const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
  assert.equal((empty.Messages ?? []).length, 0);
});

test("DynamoDB DocumentClient", async () => {
  const ddb = new DynamoDBClient({});
  const TableName = `js-t-${uid()}`;
  await ddb.send(new CreateTableCommand({
    TableName, BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
  }));
  const doc = DynamoDBDocumentClient.from(ddb);
  for (const sk of [1, 2, 3]) {
    await doc.send(new PutCommand({ TableName, Item: { pk: "user", sk, tags: new Set(["a", "b"]), nested: { n: sk, l: [true, null] } } }));
  }
  const one = await doc.send(new GetCommand({ TableName, Key: { pk: "user", sk: 2 } }));
  assert.deepEqual(one.Item.nested, { n: 2, l: [true, null] });
  assert.deepEqual([...one.Item.tags].sort(), ["a", "b"]);
  const q = await doc.send(new QueryCommand({
    TableName, KeyConditionExpression: "pk = :p AND sk >= :s",
    ExpressionAttributeValues: { ":p": "user", ":s": 2 }, ScanIndexForward: false,
  }));
  assert.deepEqual(q.Items.map((i) => i.sk), [3, 2]);
});

test("Lambda invoke", async () => {
  const lambda = new LambdaClient({});
  const FunctionName = `js-fn-${uid()}`;
  await lambda.send(new CreateFunctionCommand({
    FunctionName, Runtime: "nodejs20.x", Handler: "index.handler",
    Role: "arn:aws:iam::000000000000:role/lambda-role",
    Code: { ZipFile: readFileSync(process.env.FUNCTION_ZIP) },
  }));
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 30 }, { FunctionName });
  const out = await lambda.send(new InvokeCommand({ FunctionName, Payload: JSON.stringify({ name: "js" }) }));
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, undefined);
  assert.deepEqual(JSON.parse(Buffer.from(out.Payload).toString()), { greeting: "hello js" });
});
