-- SQS ReceiveMessage (JSON protocol), 1 message, no wait, VisibilityTimeout 0 (the
-- message stays visible: a queue of constant depth). QUEUE_URL from the environment.
-- The wire request boto3 sends (any SigV4-looking Authorization is accepted).
local function auth(svc)
  return "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" .. svc ..
    "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64)
end
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["User-Agent"] = "Boto3/1.35.0 md/Botocore#1.35.0 bench/wrk"
wrk.headers["Authorization"] = auth("sqs")
local q = os.getenv("QUEUE_URL")
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "AmazonSQS.ReceiveMessage"
wrk.body = '{"QueueUrl": "' .. q .. '", "MaxNumberOfMessages": 1, "WaitTimeSeconds": 0, "VisibilityTimeout": 0}'
