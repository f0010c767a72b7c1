-- Kinesis PutRecords, 100 records of 100 bytes per call over 100 partition keys;
-- STREAM_NAME comes from the environment.
-- The wire request boto3 sends (any SigV4-looking Authorization is accepted).
local function auth(svc)
  return "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" .. svc ..
    "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64)
end
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["User-Agent"] = "Boto3/1.35.0 md/Botocore#1.35.0 bench/wrk"
wrk.headers["Authorization"] = auth("kinesis")
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "Kinesis_20131202.PutRecords"
-- 100 bytes of "b" in base64 (the Data blob's wire form)
local data = string.rep("YmJi", 33) .. "Yg=="
local records = {}
for i = 0, 99 do
  records[#records + 1] = '{"Data": "' .. data .. '", "PartitionKey": "key-' .. i .. '"}'
end
wrk.body = '{"StreamName": "' .. os.getenv("STREAM_NAME") .. '", "Records": [' .. table.concat(records, ", ") .. ']}'
