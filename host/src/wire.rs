//! hyper's own answers, in the service's protocol.
//!
//! hyper answers a request head it cannot parse (bad method, URI or header
//! line, an invalid `Content-Length`, a URI over 64 KiB, a head larger than
//! its buffer) by itself, before the gateway sees the request: an empty
//! 400/414/431. It has no hook for that answer, so the connection's I/O is
//! wrapped: the bytes of the current request head are kept as they are read
//! (up to [`HEAD_LOG`]), and when hyper writes one of its bare error heads
//! the wrapper writes, in its place, the answer [`Rewrite`] builds from those
//! bytes (the service the head names, in that service's protocol).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes of a request head kept for the rewrite (Host, Content-Type,
/// X-Amz-Target and Authorization come first in every SDK's requests).
const HEAD_LOG: usize = 128 << 10;

/// A head buffer up to this size is kept between requests.
const KEPT_HEAD: usize = 8 << 10;

/// Builds the full HTTP/1.1 response (head and body) that replaces hyper's
/// bare `status` for a request whose head began with the given bytes.
pub type Rewrite = Arc<dyn Fn(u16, &[u8]) -> Vec<u8> + Send + Sync>;

pub struct RewriteErrors<T> {
    inner: T,
    rewrite: Rewrite,
    /// The bytes read since the last response head was written, up to the
    /// end of the request head (a body is not kept).
    head: Vec<u8>,
    head_complete: bool,
    /// A replacement being written, and how much of it is out.
    pending: Vec<u8>,
    written: usize,
}

impl<T> RewriteErrors<T> {
    pub fn new(inner: T, rewrite: Rewrite) -> Self {
        Self {
            inner,
            rewrite,
            head: Vec::new(),
            head_complete: false,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The status of a bare error head hyper wrote itself: a 4xx status line
/// followed only by `content-length: 0`, `date` and `connection` lines (the
/// gateway's own answers always carry a request id).
pub fn hyper_error_status(buf: &[u8]) -> Option<u16> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let status: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    if !matches!(status, 400 | 414 | 431) {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n").skip(1);
    let bare = lines.all(|l| {
        let name = l.split(':').next().unwrap_or("").to_ascii_lowercase();
        match name.as_str() {
            "content-length" => l[name.len() + 1..].trim() == "0",
            "date" | "connection" => true,
            _ => false,
        }
    });
    bare.then_some(status)
}

impl<T: AsyncRead + Unpin> AsyncRead for RewriteErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if self.head_complete {
            return Poll::Ready(Ok(()));
        }
        let room = HEAD_LOG.saturating_sub(self.head.len());
        let new = &buf.filled()[before..];
        let take = new.len().min(room);
        let from = self.head.len().saturating_sub(3);
        self.head.extend_from_slice(&new[..take]);
        // memmem, not `windows(4)`: this runs on every request's head
        // (~2.5 k instructions of a 87 k STS request the byte-wise way).
        self.head_complete = memchr::memmem::find(&self.head[from..], b"\r\n\r\n").is_some();
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> RewriteErrors<T> {
    /// Writes what is left of a replacement.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Called before `buf` (the start of a write) goes out: a response head
    /// ends the request whose head was logged; a bare hyper error is
    /// replaced. Returns true when `buf` was taken over.
    fn intercept(&mut self, buf: &[u8]) -> bool {
        if !buf.starts_with(b"HTTP/1.") {
            return false;
        }
        self.head_complete = false;
        let rewritten = match hyper_error_status(buf) {
            Some(status) => {
                self.pending = (self.rewrite)(status, &self.head);
                self.written = 0;
                true
            }
            None => false,
        };
        // The buffer is kept for the next request's head (one allocation
        // per connection, not per request), unless a large head grew it.
        if self.head.capacity() > KEPT_HEAD {
            self.head = Vec::new();
        } else {
            self.head.clear();
        }
        rewritten
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for RewriteErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if this.intercept(buf) {
            // Reported as written; the replacement goes out now or on flush.
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && this.intercept(first)
        {
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(first.len()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request head as far as it was read: method, target and the header
/// lines that parse (a line hyper refused is skipped).
pub struct PartialHead {
    pub method: http::Method,
    pub path: String,
    pub query: String,
    pub headers: http::HeaderMap,
}

pub fn parse_partial_head(bytes: &[u8]) -> PartialHead {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let mut lines = bytes[..end].split(|b| *b == b'\n');
    let first = lines.next().unwrap_or_default();
    let mut parts = first.trim_ascii().split(|b| *b == b' ');
    let method =
        http::Method::from_bytes(parts.next().unwrap_or_default()).unwrap_or(http::Method::GET);
    let target = String::from_utf8_lossy(parts.next().unwrap_or(b"/")).into_owned();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let line = line.trim_ascii();
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(line[..colon].trim_ascii()),
            http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) {
            headers.append(name, value);
        }
    }
    PartialHead {
        method,
        path,
        query,
        headers,
    }
}

/// Why hyper refused a head, as far as the logged bytes tell.
pub fn reason(status: u16, head: &PartialHead, raw: &[u8]) -> (&'static str, String) {
    match status {
        414 => (
            "RequestURITooLong",
            "The request URI is longer than the server accepts (64 KiB).".to_string(),
        ),
        431 => (
            "RequestHeaderSectionTooLarge",
            "Your request header section exceeds the maximum allowed size.".to_string(),
        ),
        _ => {
            let lengths: Vec<&[u8]> = raw_header_values(raw, b"content-length");
            if !lengths.is_empty()
                && (lengths
                    .iter()
                    .any(|v| v.is_empty() || !v.iter().all(u8::is_ascii_digit))
                    || lengths.windows(2).any(|w| w[0] != w[1]))
            {
                return (
                    "InvalidArgument",
                    "The Content-Length header is not a valid non-negative integer.".to_string(),
                );
            }
            let _ = head;
            (
                "BadRequest",
                "The HTTP request could not be parsed (malformed request line or header)."
                    .to_string(),
            )
        }
    }
}

/// The raw values of a header, as sent (not validated).
fn raw_header_values<'a>(raw: &'a [u8], name: &[u8]) -> Vec<&'a [u8]> {
    raw.split(|b| *b == b'\n')
        .skip(1)
        .take_while(|l| !l.trim_ascii().is_empty())
        .filter_map(|l| {
            let colon = l.iter().position(|b| *b == b':')?;
            l[..colon]
                .trim_ascii()
                .eq_ignore_ascii_case(name)
                .then(|| l[colon + 1..].trim_ascii())
        })
        .collect()
}

/// Serializes a small response for the wire (the connection is closed
/// after it, as hyper would).
pub fn serialize(resp: http::Response<bytes::Bytes>) -> Vec<u8> {
    let (parts, body) = resp.into_parts();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (k, v) in &parts.headers {
        if k == http::header::CONTENT_LENGTH || k == http::header::CONNECTION {
            continue;
        }
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_hyper_bare_errors() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 10:00:00 GMT\r\n\r\n";
        assert_eq!(hyper_error_status(bare), Some(431));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-amzn-requestid: x\r\n\r\n";
        assert_eq!(hyper_error_status(ours), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(hyper_error_status(ok), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\n";
        assert_eq!(hyper_error_status(with_body), None);
    }

    #[tokio::test]
    async fn a_head_is_complete_when_its_blank_line_arrives_across_reads() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(256);
        let mut wrapped = RewriteErrors::new(server, Arc::new(|_, _| Vec::new()));
        let mut buf = [0u8; 256];
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r")
            .await
            .unwrap();
        let n = wrapped.read(&mut buf).await.unwrap();
        assert!(!wrapped.head_complete);
        client.write_all(b"\nbody").await.unwrap();
        let more = wrapped.read(&mut buf[n..]).await.unwrap();
        assert_eq!(&buf[n..n + more], b"\nbody");
        assert!(wrapped.head_complete);
        // A response head ends the request: the next head starts empty.
        wrapped.intercept(b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(wrapped.head.is_empty() && !wrapped.head_complete);
    }

    #[test]
    fn partial_heads_and_reasons() {
        let raw = b"POST /a/b?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nbad line";
        let head = parse_partial_head(raw);
        assert_eq!(head.method, http::Method::POST);
        assert_eq!((head.path.as_str(), head.query.as_str()), ("/a/b", "x=1"));
        assert_eq!(head.headers["x-amz-target"], "DynamoDB_20120810.ListTables");
        assert_eq!(reason(400, &head, raw).0, "InvalidArgument");
        let twice = b"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(
            reason(400, &parse_partial_head(twice), twice).0,
            "InvalidArgument"
        );
        let fine = b"PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\n";
        assert_eq!(reason(400, &parse_partial_head(fine), fine).0, "BadRequest");
    }
}
