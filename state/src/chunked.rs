//! `Content-Encoding: aws-chunked` request bodies (SigV4 streaming uploads).
//!
//! ```text
//! <hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n     (repeated)
//! 0[;chunk-signature=<sig>]\r\n
//! [<trailer name>:<value>\r\n]*                          (e.g. x-amz-checksum-crc32)
//! \r\n
//! ```
//!
//! Covers `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (signed chunks),
//! `STREAMING-UNSIGNED-PAYLOAD-TRAILER` and the signed trailer variant.
//! Chunk signatures are parsed but not verified. The decoder is incremental:
//! feed it the body in slices of any size; it never panics on bad input.

/// Longest chunk header or trailer line accepted (a signature line is ~90 bytes).
const MAX_LINE: usize = 4096;
/// Most trailer lines accepted.
const MAX_TRAILERS: usize = 64;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkedError {
    #[error("aws-chunked: bad chunk header {0:?}")]
    BadHeader(String),
    #[error("aws-chunked: chunk data not followed by CRLF")]
    MissingCrlf,
    #[error("aws-chunked: line too long")]
    LineTooLong,
    #[error("aws-chunked: bad trailer line {0:?}")]
    BadTrailer(String),
    #[error("aws-chunked: too many trailers")]
    TooManyTrailers,
    #[error("aws-chunked: bytes after the end of the body")]
    TrailingBytes,
    #[error("aws-chunked: body ended inside a chunk")]
    Truncated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a `<hex>[;ext]` line.
    Header,
    /// Inside a chunk's bytes.
    Data {
        remaining: u64,
    },
    /// Expecting the CR LF after a chunk's bytes (`seen` of the 2 read).
    DataEnd {
        seen: u8,
    },
    /// After the last (zero) chunk: trailer lines until an empty one.
    Trailers,
    Done,
    Failed,
}

/// One chunk's header, as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkHeader {
    pub size: u64,
    pub signature: Option<String>,
}

/// Incremental aws-chunked decoder.
pub struct ChunkedDecoder {
    state: State,
    line: Vec<u8>,
    trailers: Vec<(String, String)>,
    signatures: Vec<String>,
    decoded: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self {
            state: State::Header,
            line: Vec::new(),
            trailers: Vec::new(),
            signatures: Vec::new(),
            decoded: 0,
        }
    }

    /// Decodes `input`, handing each run of payload bytes to `payload`.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut payload: impl FnMut(&[u8]),
    ) -> Result<(), ChunkedError> {
        if self.state == State::Failed {
            return Err(ChunkedError::TrailingBytes);
        }
        let result = (|| {
            while !input.is_empty() {
                match self.state {
                    State::Header => {
                        let Some(line) = self.take_line(&mut input)? else {
                            break;
                        };
                        let header = parse_header(&line)?;
                        if let Some(sig) = header.signature {
                            self.signatures.push(sig);
                        }
                        self.state = if header.size == 0 {
                            State::Trailers
                        } else {
                            State::Data {
                                remaining: header.size,
                            }
                        };
                    }
                    State::Data { remaining } => {
                        let n = (remaining.min(input.len() as u64)) as usize;
                        payload(&input[..n]);
                        self.decoded += n as u64;
                        input = &input[n..];
                        let left = remaining - n as u64;
                        self.state = if left == 0 {
                            State::DataEnd { seen: 0 }
                        } else {
                            State::Data { remaining: left }
                        };
                    }
                    State::DataEnd { seen } => {
                        let want = if seen == 0 { b'\r' } else { b'\n' };
                        if input[0] != want {
                            return Err(ChunkedError::MissingCrlf);
                        }
                        input = &input[1..];
                        self.state = if seen == 0 {
                            State::DataEnd { seen: 1 }
                        } else {
                            State::Header
                        };
                    }
                    State::Trailers => {
                        let Some(line) = self.take_line(&mut input)? else {
                            break;
                        };
                        if line.is_empty() {
                            self.state = State::Done;
                            continue;
                        }
                        if self.trailers.len() >= MAX_TRAILERS {
                            return Err(ChunkedError::TooManyTrailers);
                        }
                        let text = String::from_utf8(line).map_err(|e| {
                            ChunkedError::BadTrailer(String::from_utf8_lossy(e.as_bytes()).into())
                        })?;
                        let Some((name, value)) = text.split_once(':') else {
                            return Err(ChunkedError::BadTrailer(text));
                        };
                        let name = name.trim();
                        if name.is_empty()
                            || !name
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                        {
                            return Err(ChunkedError::BadTrailer(text.clone()));
                        }
                        self.trailers
                            .push((name.to_ascii_lowercase(), value.trim().to_string()));
                    }
                    State::Done => {
                        // Tolerate stray line ends after the final CRLF, nothing else.
                        if input.iter().all(|b| *b == b'\r' || *b == b'\n') {
                            input = &[];
                        } else {
                            return Err(ChunkedError::TrailingBytes);
                        }
                    }
                    State::Failed => return Err(ChunkedError::TrailingBytes),
                }
            }
            Ok(())
        })();
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    /// Convenience: decodes `input` appending the payload to `out`.
    pub fn feed_into(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        self.feed(input, |b| out.extend_from_slice(b))
    }

    /// True once the terminating empty line has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Payload bytes produced so far (compare with `x-amz-decoded-content-length`).
    pub fn decoded_len(&self) -> u64 {
        self.decoded
    }

    /// Chunk signatures seen, in order (for a verifier, if one is added).
    pub fn signatures(&self) -> &[String] {
        &self.signatures
    }

    /// Ends the body and returns the trailer headers (lower-case names).
    /// A body that ends right after a complete trailer line, without the
    /// final empty line, is accepted (some clients omit it).
    pub fn finish(self) -> Result<Vec<(String, String)>, ChunkedError> {
        match self.state {
            State::Done => Ok(self.trailers),
            State::Trailers if self.line.is_empty() => Ok(self.trailers),
            _ => Err(ChunkedError::Truncated),
        }
    }

    /// Takes bytes up to and including CRLF; returns the line without it, or
    /// None when `input` ran out first (the part read is kept).
    fn take_line(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, ChunkedError> {
        match input.iter().position(|b| *b == b'\n') {
            Some(i) => {
                self.line.extend_from_slice(&input[..i]);
                *input = &input[i + 1..];
                if self.line.len() > MAX_LINE + 1 {
                    return Err(ChunkedError::LineTooLong);
                }
                let mut line = std::mem::take(&mut self.line);
                if line.pop() != Some(b'\r') {
                    return Err(ChunkedError::BadHeader(
                        String::from_utf8_lossy(&line).into(),
                    ));
                }
                Ok(Some(line))
            }
            None => {
                self.line.extend_from_slice(input);
                *input = &[];
                if self.line.len() > MAX_LINE {
                    return Err(ChunkedError::LineTooLong);
                }
                Ok(None)
            }
        }
    }
}

/// Parses `<hex size>[;name=value]*`.
pub fn parse_header(line: &[u8]) -> Result<ChunkHeader, ChunkedError> {
    let bad = || ChunkedError::BadHeader(String::from_utf8_lossy(line).into());
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let mut parts = text.split(';');
    let size = parts.next().unwrap_or_default().trim();
    if size.is_empty() || size.len() > 16 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let size = u64::from_str_radix(size, 16).map_err(|_| bad())?;
    let mut signature = None;
    for ext in parts {
        let (name, value) = ext.split_once('=').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        if name == "chunk-signature" {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            signature = Some(value.to_string());
        }
    }
    Ok(ChunkHeader { size, signature })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Decoded = (Vec<u8>, Vec<(String, String)>);

    const SIG: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";

    fn signed_body(payload: &[u8], chunk: usize) -> Vec<u8> {
        let mut body = Vec::new();
        for piece in payload.chunks(chunk) {
            body.extend_from_slice(
                format!("{:x};chunk-signature={SIG}\r\n", piece.len()).as_bytes(),
            );
            body.extend_from_slice(piece);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("0;chunk-signature={SIG}\r\n\r\n").as_bytes());
        body
    }

    fn decode_in_slices(body: &[u8], slice: usize) -> Result<Decoded, ChunkedError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        for piece in body.chunks(slice.max(1)) {
            d.feed_into(piece, &mut out)?;
        }
        assert_eq!(d.decoded_len(), out.len() as u64);
        Ok((out, d.finish()?))
    }

    #[test]
    fn aws_documentation_example_shape() {
        // The SigV4 streaming example: 65536 + 1024 bytes of 'a', then the final chunk.
        let payload = vec![b'a'; 66_560];
        let body = signed_body(&payload, 65_536);
        for slice in [1, 2, 3, 7, 64, 1000, body.len()] {
            let (out, trailers) = decode_in_slices(&body, slice).unwrap();
            assert_eq!(out, payload, "slice {slice}");
            assert!(trailers.is_empty());
        }
        let mut d = ChunkedDecoder::new();
        d.feed(&body, |_| {}).unwrap();
        assert!(d.is_done());
        assert_eq!(d.signatures().len(), 3);
    }

    #[test]
    fn unsigned_with_checksum_trailer() {
        // What botocore / the CLI send with STREAMING-UNSIGNED-PAYLOAD-TRAILER.
        let body = b"b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n";
        for slice in 1..body.len() {
            let (out, trailers) = decode_in_slices(body, slice).unwrap();
            assert_eq!(out, b"Hello world");
            assert_eq!(
                trailers,
                vec![("x-amz-checksum-crc32".to_string(), "i9aeUg==".to_string())]
            );
        }
        // Without the final empty line.
        let (_, trailers) = decode_in_slices(&body[..body.len() - 2], 5).unwrap();
        assert_eq!(trailers.len(), 1);
    }

    #[test]
    fn signed_trailer() {
        let body = format!(
            "5;chunk-signature={SIG}\r\nhello\r\n0;chunk-signature={SIG}\r\nx-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{SIG}\r\n\r\n"
        );
        let (out, trailers) = decode_in_slices(body.as_bytes(), 3).unwrap();
        assert_eq!(out, b"hello");
        assert_eq!(
            trailers[0],
            ("x-amz-checksum-crc32c".into(), "sOO8/Q==".into())
        );
        assert_eq!(trailers[1].0, "x-amz-trailer-signature");
    }

    #[test]
    fn empty_body() {
        let (out, trailers) = decode_in_slices(b"0\r\n\r\n", 1).unwrap();
        assert!(out.is_empty() && trailers.is_empty());
    }

    #[test]
    fn malformed_framing_is_an_error() {
        let cases: &[&[u8]] = &[
            b"zz\r\nab\r\n0\r\n\r\n",                 // not hex
            b"\r\n",                                  // empty size
            b"2\r\nabc\r\n0\r\n\r\n",                 // data longer than declared
            b"2\nab\r\n0\r\n\r\n",                    // bare LF
            b"2;chunk-signature=xyz\r\nab\r\n",       // bad signature
            b"2;=1\r\nab\r\n",                        // empty extension name
            b"0\r\nno-colon-here\r\n\r\n",            // bad trailer
            b"0\r\n\r\nmore",                         // bytes after the end
            b"11111111111111111\r\n",                 // size too long
            b"ffffffffffffffff;chunk-signature=\r\n", // empty signature
        ];
        for case in cases {
            for slice in [1, 3, case.len()] {
                assert!(
                    decode_in_slices(case, slice).is_err(),
                    "{:?} in slices of {slice}",
                    String::from_utf8_lossy(case)
                );
            }
        }
    }

    #[test]
    fn truncated_bodies_are_errors_at_finish() {
        let body = signed_body(b"hello world", 4);
        for cut in 0..body.len() - 2 {
            let r = decode_in_slices(&body[..cut], 3);
            assert!(r.is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn overlong_lines_are_rejected() {
        let mut d = ChunkedDecoder::new();
        let long = vec![b'1'; MAX_LINE + 10];
        assert_eq!(d.feed(&long, |_| {}), Err(ChunkedError::LineTooLong));
        // A failed decoder stays failed.
        assert!(d.feed(b"0\r\n\r\n", |_| {}).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic fuzz: random-ish mutations of a valid body.
        let base = signed_body(b"some payload bytes", 5);
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..5_000 {
            let mut body = base.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed as usize) % body.len();
                body[at] = (seed >> 32) as u8;
            }
            let slice = 1 + (seed as usize >> 8) % 17;
            let _ = decode_in_slices(&body, slice);
        }
    }
}
