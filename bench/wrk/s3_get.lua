-- S3 GetObject of a 1 KiB object (created by the fixtures)
-- The wire request boto3 sends (any SigV4-looking Authorization is accepted).
local function auth(svc)
  return "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" .. svc ..
    "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64)
end
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["User-Agent"] = "Boto3/1.35.0 md/Botocore#1.35.0 bench/wrk"
wrk.headers["Authorization"] = auth("s3")
wrk.method = "GET"
wrk.path = "/bench-bucket/bench-get"
wrk.headers["x-amz-content-sha256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
