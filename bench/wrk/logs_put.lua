-- CloudWatch Logs PutLogEvents, 100 events of ~100 bytes per call into one stream;
-- LOG_GROUP comes from the environment (stream "bench"). Timestamps: now, when wrk starts.
-- The wire request boto3 sends (any SigV4-looking Authorization is accepted).
local function auth(svc)
  return "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" .. svc ..
    "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64)
end
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["User-Agent"] = "Boto3/1.35.0 md/Botocore#1.35.0 bench/wrk"
wrk.headers["Authorization"] = auth("logs")
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "Logs_20140328.PutLogEvents"
local now = os.time() * 1000
local events = {}
for i = 0, 99 do
  events[#events + 1] = '{"timestamp": ' .. (now + i) .. ', "message": "GET /api/item/' .. i ..
    ' 200 ' .. (i * 7 % 250) .. ' ms user-' .. (i % 31) .. ' padding-padding-padding-padding-padding"}'
end
wrk.body = '{"logGroupName": "' .. os.getenv("LOG_GROUP") .. '", "logStreamName": "bench", "logEvents": [' ..
  table.concat(events, ", ") .. ']}'
