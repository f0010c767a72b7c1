-- EventBridge PutEvents, 10 entries per call, matched by one rule with an SQS target;
-- EVENT_SOURCE (the rule's source) comes from the environment.
-- The wire request boto3 sends (any SigV4-looking Authorization is accepted).
local function auth(svc)
  return "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" .. svc ..
    "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64)
end
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["User-Agent"] = "Boto3/1.35.0 md/Botocore#1.35.0 bench/wrk"
wrk.headers["Authorization"] = auth("events")
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSEvents.PutEvents"
local entries = {}
for i = 0, 9 do
  entries[#entries + 1] = '{"Source": "' .. os.getenv("EVENT_SOURCE") .. '", "DetailType": "bench", "Detail": "{\\"i\\": ' .. i .. '}"}'
end
wrk.body = '{"Entries": [' .. table.concat(entries, ", ") .. ']}'
