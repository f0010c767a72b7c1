//! Bodies on both sides of the server: collecting small request bodies,
//! streaming large ones into blobs, and streaming blobs out.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use base64::Engine as _;
use ministack_protocol::AwsError;
use ministack_state::checksum::{self, Algorithms};
use ministack_state::chunked::{ChunkChain, ChunkedDecoder, ChunkedError};

use crate::capabilities::Shared;

/// Bodies larger than this are refused unless they stream into a blob.
pub const MAX_BUFFERED_BODY: usize = 512 << 20;
/// A non-streaming blob payload (Lambda Invoke's) above this size is stored
/// in a blob like a streamed one instead of being buffered.
pub const BLOB_PAYLOAD_AT: u64 = 1 << 20;
/// Chunk size when streaming a blob out.
const CHUNK: u64 = 1 << 20;

/// A response body: bytes in hand, or a blob streamed from the host's store.
pub enum ResponseBody {
    Full(Option<Bytes>),
    Stream {
        rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
        remaining: u64,
    },
    /// A streamed event-stream response (crate::streams::pump): length
    /// unknown, so HTTP/1.1 sends it chunked, HTTP/2 as data frames.
    Events(mpsc::Receiver<Result<Bytes, std::io::Error>>),
}

impl ResponseBody {
    pub fn empty() -> Self {
        ResponseBody::Full(None)
    }
    pub fn from_bytes(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        ResponseBody::Full((!b.is_empty()).then_some(b))
    }

    /// Streams `[start, end)` of a blob, reading 1 MiB at a time so memory
    /// stays flat whatever the blob's size. A range of at most one chunk of
    /// an in-memory blob is sent as it is, without a task and a channel.
    pub fn blob(
        shared: std::sync::Arc<Shared>,
        plugin: String,
        id: String,
        start: u64,
        end: u64,
    ) -> Self {
        if end.saturating_sub(start) <= CHUNK
            && let Some(bytes) = shared.blobs.slice_in_memory(&plugin, &id, start, end)
        {
            return ResponseBody::from_bytes(bytes);
        }
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut offset = start;
            while offset < end {
                let len = CHUNK.min(end - offset);
                match shared.blobs.read(&plugin, &id, offset, len).await {
                    Ok(bytes) if !bytes.is_empty() => {
                        offset += bytes.len() as u64;
                        if tx.send(Ok(bytes)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {
                        let _ = tx
                            .send(Err(std::io::Error::other("blob ended early")))
                            .await;
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                        return;
                    }
                }
            }
        });
        ResponseBody::Stream {
            rx,
            remaining: end.saturating_sub(start),
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            ResponseBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream { rx, remaining } => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    *remaining = remaining.saturating_sub(b.len() as u64);
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            ResponseBody::Events(rx) => rx.poll_recv(cx).map(|b| b.map(|b| b.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Full(b) => b.is_none(),
            ResponseBody::Stream { remaining, .. } => *remaining == 0,
            ResponseBody::Events(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            ResponseBody::Stream { remaining, .. } => SizeHint::with_exact(*remaining),
            ResponseBody::Events(_) => SizeHint::default(),
        }
    }
}

/// A request body as it arrives from the client, failing when the client
/// pauses longer than the body idle timeout (a body shorter than its
/// `Content-Length` would otherwise hold the request open forever).
pub struct WireBody {
    inner: hyper::body::Incoming,
    idle: Option<std::time::Duration>,
    /// Armed while the client owes us data; rearmed by every frame.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WireBody {
    pub fn new(inner: hyper::body::Incoming, idle: Option<std::time::Duration>) -> Self {
        Self {
            inner,
            idle,
            deadline: None,
        }
    }
}

/// The error a stalled body ends with (read as `IncompleteBody`).
#[derive(Debug)]
pub struct BodyIdle(std::time::Duration);

impl std::fmt::Display for BodyIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no data for {} s", self.0.as_secs())
    }
}

impl std::error::Error for BodyIdle {}

impl Body for WireBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.deadline = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let Some(idle) = this.idle else {
                    return Poll::Pending;
                };
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyIdle(idle))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum ReadError {
    TooLarge,
    Io(String),
}

/// Collects a request body up to [`MAX_BUFFERED_BODY`].
pub async fn collect<B>(body: B) -> Result<Bytes, ReadError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    collect_at_most(body, MAX_BUFFERED_BODY).await
}

/// The largest body a service's operations take whole (bodies that stream
/// into blobs are not limited), and the error AWS answers above it.
pub struct BodyLimit {
    pub bytes: usize,
    code: &'static str,
    message: &'static str,
    status: u16,
}

impl BodyLimit {
    /// The error a body over the limit gets (built only then: the limit
    /// is looked up for every request).
    pub fn error(&self) -> AwsError {
        AwsError::new(self.code, self.message, self.status)
    }
}

/// The limit of a service, by endpoint prefix. DynamoDB: 16 MB per request
/// (BatchWriteItem's documented maximum; one item is 400 KB, which the
/// plugin checks). SQS: messages of 1 MiB (the model's `MaximumMessageSize`
/// bound since 2025), sent as JSON (botocore escapes non-ASCII, up to 3×)
/// or a form (percent-encoding, 3×), plus attributes. Lambda: a 50 MB
/// zip inline in CreateFunction, base64 (4/3). Others: 128 MiB.
pub fn limit_for(endpoint_prefix: &str) -> BodyLimit {
    const MIB: usize = 1 << 20;
    match endpoint_prefix {
        "dynamodb" => BodyLimit {
            bytes: 16 * MIB,
            code: "ValidationException",
            message: "Request must be smaller than 16777216 bytes",
            status: 400,
        },
        "sqs" => BodyLimit {
            bytes: 4 * MIB,
            code: "InvalidParameterValue",
            message: "One or more parameters are invalid. Reason: the request must be shorter than 4194304 bytes (messages: 1048576 bytes).",
            status: 400,
        },
        "lambda" => BodyLimit {
            bytes: 70 * MIB,
            code: "RequestTooLargeException",
            message: "Request must be smaller than 73400320 bytes for this operation",
            status: 413,
        },
        _ => BodyLimit {
            bytes: 128 * MIB,
            code: "RequestEntityTooLarge",
            message: "The request body is larger than 134217728 bytes",
            status: 413,
        },
    }
}

/// The declared length of a body, when it is declared.
pub fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads and drops the rest of a refused body (up to 1 GiB), so that a
/// client which writes its whole body before reading sees the answer
/// rather than a reset connection. Costs time, not memory.
pub async fn discard<B>(mut body: B)
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > 1 << 30 {
                return;
            }
        }
    }
}

/// Collects a request body of at most `max` bytes.
pub async fn collect_at_most<B>(body: B, max: usize) -> Result<Bytes, ReadError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // One buffer sized from the declared length: collecting the chunks and
    // concatenating them at the end held the body twice.
    let expected = body.size_hint().lower();
    if expected > max as u64 {
        return Err(ReadError::TooLarge);
    }
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Io(e.into().to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let len = first.as_ref().map_or(0, Bytes::len) + joined.len() + data.len();
        if len > max {
            return Err(ReadError::TooLarge);
        }
        match first.take() {
            // A body in one frame is kept as it came, without a copy.
            None if joined.is_empty() => first = Some(data),
            held => {
                if let Some(held) = held {
                    joined.reserve((expected as usize).max(len));
                    joined.extend_from_slice(&held);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

/// A request body the client gzipped is inflated before routing and
/// decoding (see `ministack_protocol::compression`), up to
/// [`MAX_BUFFERED_BODY`].
pub fn decompress(headers: &mut http::HeaderMap, body: Bytes) -> Result<Bytes, ReadError> {
    decompress_at_most(headers, body, MAX_BUFFERED_BODY)
}

/// [`decompress`], inflating to at most `max` bytes.
pub fn decompress_at_most(
    headers: &mut http::HeaderMap,
    body: Bytes,
    max: usize,
) -> Result<Bytes, ReadError> {
    use ministack_protocol::compression::{InflateError, inflate_request};
    inflate_request(headers, body, max).map_err(|e| match e {
        InflateError::TooLarge(_) => ReadError::TooLarge,
        e @ InflateError::Corrupt(_) => ReadError::Io(e.to_string()),
    })
}

/// Streams a request body into a new blob of `plugin`, frame by frame,
/// decoding `aws-chunked` framing (SigV4 streaming uploads) on the way and
/// checking `Content-MD5` and `x-amz-checksum-*` (headers or trailers)
/// against the digests computed while writing. Trailers are added to
/// `headers`, and `aws-chunked` is dropped from `Content-Encoding`, so the
/// codec sees the request as a plain upload.
///
/// `chain`: the signature chain of a signed streaming upload whose seed
/// signature verified; every chunk (and signed trailer) is then checked.
/// With `X-Amz-Decoded-Content-Length`, the decoded size must match it; a
/// hex `X-Amz-Content-SHA256` must be the body's hash.
pub async fn into_blob<B>(
    shared: &Shared,
    plugin: &str,
    headers: &mut http::HeaderMap,
    mut body: B,
    chain: Option<ChunkChain>,
    algorithms: Algorithms,
) -> Result<ministack_state::blobs::BlobInfo, AwsError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let chunked = is_aws_chunked(headers);
    let mut decoder = chunked.then(|| match chain {
        Some(c) => ChunkedDecoder::with_chain(c),
        None => ChunkedDecoder::new(),
    });
    let declared: Option<u64> = match headers.get("x-amz-decoded-content-length") {
        Some(v) if chunked => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| {
                    AwsError::new(
                        "InvalidArgument",
                        "x-amz-decoded-content-length is not a valid length",
                        400,
                    )
                })?,
        ),
        _ => None,
    };
    let size_hint = declared.or_else(|| (!chunked).then(|| declared_length(headers)).flatten());
    let mut writer = shared
        .blobs
        .writer_with(plugin, algorithms, size_hint)
        .map_err(internal)?;
    let mut decoded = Vec::new();
    let mut failed = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                failed = Some(incomplete(&e.to_string()));
                break;
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match decoder.as_mut() {
            None => writer.write_bytes(data).await.map_err(internal)?,
            Some(d) => {
                if let Err(e) = d.feed_into(&data, &mut decoded) {
                    failed = Some(chunked_error(e));
                    break;
                }
                if declared.is_some_and(|n| d.decoded_len() > n) {
                    failed = Some(incomplete_decoded());
                    break;
                }
                if !decoded.is_empty() {
                    let bytes = Bytes::from(std::mem::take(&mut decoded));
                    writer.write_bytes(bytes).await.map_err(internal)?;
                }
            }
        }
    }
    if let Some(e) = failed {
        // The writer's file is dropped unfinished, so nothing is kept.
        drop(writer);
        return Err(e);
    }
    if let Some(d) = decoder {
        if declared.is_some_and(|n| d.decoded_len() != n) {
            return Err(incomplete_decoded());
        }
        for (name, value) in d.finish().map_err(chunked_error)? {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(name.as_bytes()), value.parse()) {
                headers.insert(n, v);
            }
        }
        strip_aws_chunked(headers);
    }
    let info = writer.finish().await.map_err(internal)?;
    let verified = match verify_content_sha256(headers, &info) {
        Ok(()) => verify_digests(headers, &info),
        Err(e) => Err(e),
    };
    if let Err(e) = verified {
        shared.blobs.release(plugin, &info.id);
        return Err(e);
    }
    Ok(info)
}

/// The digests an S3 upload needs besides MD5: the algorithm the
/// client sent (`x-amz-checksum-*`, as a header or announced in
/// `x-amz-trailer`) or asked for (`x-amz-sdk-checksum-algorithm`),
/// SHA256 when `x-amz-content-sha256` is a hash to verify, and S3's
/// default CRC64NVME.
pub fn upload_checksums(headers: &http::HeaderMap) -> Algorithms {
    let mut algs = Algorithms::DEFAULT;
    for (name, value) in headers {
        let name = name.as_str();
        if let Some(alg) = name.strip_prefix("x-amz-checksum-") {
            algs = algs.with(alg);
        }
        let Ok(value) = value.to_str() else { continue };
        match name {
            "x-amz-sdk-checksum-algorithm" => algs = algs.with(value),
            "x-amz-trailer" => {
                for t in value.split(',') {
                    if let Some(alg) = t
                        .trim()
                        .to_ascii_lowercase()
                        .strip_prefix("x-amz-checksum-")
                    {
                        algs = algs.with(alg);
                    }
                }
            }
            "x-amz-content-sha256"
                if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                algs = algs.with("SHA256")
            }
            _ => {}
        }
    }
    algs
}

/// Joins repeated request header lines into one, as RFC 9110 §5.3 allows
/// (`, ` between values; `; ` for `Cookie`, RFC 9113 §8.2.3), so that every
/// later `headers.get` sees all of them: `Content-Encoding: aws-chunked` +
/// `Content-Encoding: gzip` is `aws-chunked, gzip`.
pub fn join_repeated_headers(headers: &mut http::HeaderMap) {
    // As many values as names: nothing is repeated (the usual request,
    // told without a lookup per name).
    if headers.len() == headers.keys_len() {
        return;
    }
    let repeated: Vec<http::HeaderName> = headers
        .keys()
        .filter(|k| headers.get_all(*k).iter().nth(1).is_some())
        .cloned()
        .collect();
    for name in repeated {
        let sep: &[u8] = if name == http::header::COOKIE {
            b"; "
        } else {
            b", "
        };
        let mut joined = Vec::new();
        for v in headers.get_all(&name) {
            if !joined.is_empty() {
                joined.extend_from_slice(sep);
            }
            joined.extend_from_slice(v.as_bytes());
        }
        if let Ok(v) = http::HeaderValue::from_bytes(&joined) {
            headers.insert(name, v);
        }
    }
}

/// An `aws-chunked` body (SigV4 streaming, or unsigned with trailers).
pub fn is_aws_chunked(headers: &http::HeaderMap) -> bool {
    let encoding = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sha = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    encoding.split(',').any(|e| e.trim() == "aws-chunked") || sha.starts_with("STREAMING-")
}

fn strip_aws_chunked(headers: &mut http::HeaderMap) {
    let Some(v) = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let rest: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|e| *e != "aws-chunked" && !e.is_empty())
        .collect();
    if rest.is_empty() {
        headers.remove(http::header::CONTENT_ENCODING);
    } else if let Ok(v) = rest.join(", ").parse() {
        headers.insert(http::header::CONTENT_ENCODING, v);
    }
}

/// S3's answers for a body that does not match the digests the client sent.
// A failed upload builds one error; its size does not matter.
#[allow(clippy::result_large_err)]
fn verify_digests(
    headers: &http::HeaderMap,
    info: &ministack_state::blobs::BlobInfo,
) -> Result<(), AwsError> {
    if let Some(md5) = headers.get("content-md5").and_then(|v| v.to_str().ok()) {
        let valid = base64::engine::general_purpose::STANDARD
            .decode(md5.trim())
            .is_ok_and(|b| b.len() == 16);
        if !valid {
            return Err(AwsError::new(
                "InvalidDigest",
                "The Content-MD5 you specified was invalid.",
                400,
            ));
        }
        if !checksum::content_md5_matches(&info.md5_hex, md5) {
            return Err(AwsError::new(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
                400,
            ));
        }
    }
    for (name, value) in headers {
        let name = name.as_str();
        if checksum::algorithm_of_header(name).is_none() {
            continue;
        }
        let value = value.to_str().unwrap_or("");
        if let Err(checksum::ChecksumError::Mismatch { algorithm }) =
            checksum::verify_header(&info.checksums, name, value)
        {
            return Err(AwsError::new(
                "BadDigest",
                format!("The {algorithm} you specified did not match the calculated checksum."),
                400,
            ));
        }
    }
    Ok(())
}

/// A hex `X-Amz-Content-SHA256` (a signed, non-streaming payload) must be
/// the hash of the body received.
#[allow(clippy::result_large_err)]
fn verify_content_sha256(
    headers: &http::HeaderMap,
    info: &ministack_state::blobs::BlobInfo,
) -> Result<(), AwsError> {
    let Some(claimed) = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        return Ok(());
    };
    let computed = info
        .checksums
        .iter()
        .find(|(a, _)| a == "SHA256")
        .and_then(|(_, b64)| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .map(hex::encode)
        .unwrap_or_default();
    content_sha256_matches(claimed, &computed)
}

/// S3's `XAmzContentSHA256Mismatch`, with both hashes.
#[allow(clippy::result_large_err)]
pub fn content_sha256_matches(claimed: &str, computed: &str) -> Result<(), AwsError> {
    if claimed.eq_ignore_ascii_case(computed) {
        return Ok(());
    }
    let mut e = AwsError::new(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        400,
    );
    let mut extra = serde_json::Map::new();
    extra.insert("ClientComputedContentSHA256".into(), claimed.into());
    extra.insert("S3ComputedContentSHA256".into(), computed.into());
    e.extra = Some(extra);
    Err(e)
}

fn chunked_error(e: ChunkedError) -> AwsError {
    match e {
        ChunkedError::SignatureMismatch | ChunkedError::MissingSignature => AwsError::new(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            403,
        ),
        e => incomplete(&e.to_string()),
    }
}

fn incomplete_decoded() -> AwsError {
    AwsError::new(
        "IncompleteBody",
        "The request body's decoded length does not match X-Amz-Decoded-Content-Length.",
        400,
    )
}

fn internal(e: ministack_state::StateError) -> AwsError {
    AwsError::new(
        "InternalError",
        format!("storing the request body: {e}"),
        500,
    )
}

fn incomplete(message: &str) -> AwsError {
    AwsError::new(
        "IncompleteBody",
        format!("Could not read the request body: {message}"),
        400,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_header_lines_are_joined() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::CONTENT_ENCODING,
            "aws-chunked".parse().unwrap(),
        );
        h.append(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
        h.append(http::header::COOKIE, "a=1".parse().unwrap());
        h.append(http::header::COOKIE, "b=2".parse().unwrap());
        h.insert("x-single", "v".parse().unwrap());
        join_repeated_headers(&mut h);
        assert_eq!(h.get_all(http::header::CONTENT_ENCODING).iter().count(), 1);
        assert_eq!(h[http::header::CONTENT_ENCODING], "aws-chunked, gzip");
        assert_eq!(h[http::header::COOKIE], "a=1; b=2");
        assert_eq!(h["x-single"], "v");
        strip_aws_chunked(&mut h);
        assert_eq!(h[http::header::CONTENT_ENCODING], "gzip");
    }

    #[test]
    fn aws_chunked_detection_and_stripping() {
        let mut h = http::HeaderMap::new();
        assert!(!is_aws_chunked(&h));
        h.insert(
            "x-amz-content-sha256",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER".parse().unwrap(),
        );
        assert!(is_aws_chunked(&h));
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::CONTENT_ENCODING,
            "aws-chunked, gzip".parse().unwrap(),
        );
        assert!(is_aws_chunked(&h));
        strip_aws_chunked(&mut h);
        assert_eq!(h.get(http::header::CONTENT_ENCODING).unwrap(), "gzip");
        h.insert(
            http::header::CONTENT_ENCODING,
            "aws-chunked".parse().unwrap(),
        );
        strip_aws_chunked(&mut h);
        assert!(h.get(http::header::CONTENT_ENCODING).is_none());
    }

    #[test]
    fn digest_mismatches_are_s3_errors() {
        let info = ministack_state::blobs::BlobInfo {
            id: "b0".into(),
            size: 3,
            md5_hex: "900150983cd24fb0d6963f7d28e17f72".into(),
            checksums: vec![("CRC32".into(), "NSRBwg==".into())],
        };
        let mut h = http::HeaderMap::new();
        h.insert("content-md5", "kAFQmDzST7DWlj99KOF/cg==".parse().unwrap());
        h.insert("x-amz-checksum-crc32", "NSRBwg==".parse().unwrap());
        assert!(verify_digests(&h, &info).is_ok());
        h.insert("x-amz-checksum-crc32", "AAAAAA==".parse().unwrap());
        assert_eq!(verify_digests(&h, &info).unwrap_err().code, "BadDigest");
        h.remove("x-amz-checksum-crc32");
        h.insert("content-md5", "not base64!".parse().unwrap());
        assert_eq!(verify_digests(&h, &info).unwrap_err().code, "InvalidDigest");
        h.insert("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==".parse().unwrap());
        assert_eq!(verify_digests(&h, &info).unwrap_err().code, "BadDigest");
    }
}
