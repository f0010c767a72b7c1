-- S3 PutObject, 1 KiB, path-style PUT /bench-bucket/bench-put
-- The wire request boto3 sends (any SigV4-looking Authorization is accepted).
local function auth(svc)
  return "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" .. svc ..
    "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64)
end
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["User-Agent"] = "Boto3/1.35.0 md/Botocore#1.35.0 bench/wrk"
wrk.headers["Authorization"] = auth("s3")
wrk.method = "PUT"
wrk.path = "/bench-bucket/bench-put"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
