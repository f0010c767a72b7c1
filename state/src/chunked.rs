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
//! Chunk signatures are verified when the decoder is given the request's
//! [`ChunkChain`] (its signing key and seed signature); without one they are
//! only parsed. The decoder is incremental: feed it the body in slices of
//! any size; it never panics on bad input.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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
    #[error("aws-chunked: a chunk has no chunk-signature")]
    MissingSignature,
    #[error("aws-chunked: the chunk signature does not match")]
    SignatureMismatch,
}

/// What the chunk signatures of a signed streaming upload chain from: the
/// SigV4 signing key of the request's credential scope, its `X-Amz-Date`,
/// the scope, and the seed signature (the `Authorization` header's).
pub struct ChunkChain {
    key: Vec<u8>,
    date: String,
    scope: String,
    previous: String,
    /// The chunk being read: its claimed signature and the hash so far.
    claimed: Option<String>,
    hasher: Sha256,
    /// `...-PAYLOAD-TRAILER`: the trailers carry `x-amz-trailer-signature`.
    signed_trailer: bool,
    trailer_checked: bool,
}

/// SHA-256 of the empty string, hex.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

impl ChunkChain {
    pub fn new(
        signing_key: Vec<u8>,
        date: &str,
        scope: &str,
        seed_signature: &str,
        signed_trailer: bool,
    ) -> Self {
        Self {
            key: signing_key,
            date: date.to_string(),
            scope: scope.to_string(),
            previous: seed_signature.to_ascii_lowercase(),
            claimed: None,
            hasher: Sha256::new(),
            signed_trailer,
            trailer_checked: false,
        }
    }

    /// The signature of the next chunk, given its data's hash.
    pub fn chunk_signature(&self, data_sha256_hex: &str) -> String {
        let to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{data_sha256_hex}",
            self.date, self.scope, self.previous
        );
        hmac_hex(&self.key, to_sign.as_bytes())
    }

    /// The signature of the trailers (`name:value\n` each, as sent).
    pub fn trailer_signature(&self, trailers: &[(String, String)]) -> String {
        let mut canonical = String::new();
        for (name, value) in trailers {
            canonical.push_str(&format!("{name}:{value}\n"));
        }
        let to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.date,
            self.scope,
            self.previous,
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        hmac_hex(&self.key, to_sign.as_bytes())
    }

    /// Signs the next chunk as a client would, moving the chain on (tests
    /// and fuzzing build signed bodies with it).
    pub fn sign_next(&mut self, data: &[u8]) -> String {
        let sig = self.chunk_signature(&hex::encode(Sha256::digest(data)));
        self.previous = sig.clone();
        sig
    }

    fn start(&mut self, claimed: Option<String>) -> Result<(), ChunkedError> {
        self.claimed = Some(claimed.ok_or(ChunkedError::MissingSignature)?);
        self.hasher = Sha256::new();
        Ok(())
    }

    fn end(&mut self) -> Result<(), ChunkedError> {
        let hash = hex::encode(std::mem::take(&mut self.hasher).finalize());
        let expected = self.chunk_signature(&hash);
        let claimed = self.claimed.take().unwrap_or_default();
        if !claimed.eq_ignore_ascii_case(&expected) {
            return Err(ChunkedError::SignatureMismatch);
        }
        self.previous = expected;
        Ok(())
    }
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
    chain: Option<ChunkChain>,
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
            chain: None,
        }
    }

    /// A decoder that checks every chunk's signature against `chain`.
    pub fn with_chain(chain: ChunkChain) -> Self {
        Self {
            chain: Some(chain),
            ..Self::new()
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
                        if let Some(chain) = self.chain.as_mut() {
                            chain.start(header.signature.clone())?;
                            if header.size == 0 {
                                chain.end()?;
                            }
                        }
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
                        let left = remaining - n as u64;
                        if let Some(chain) = self.chain.as_mut() {
                            chain.hasher.update(&input[..n]);
                            if left == 0 {
                                chain.end()?;
                            }
                        }
                        input = &input[n..];
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
                        if let Some(chain) = self.chain.as_mut()
                            && let Some(sig) = line.strip_prefix(b"x-amz-trailer-signature:")
                        {
                            let sig = String::from_utf8_lossy(sig.trim_ascii());
                            if chain.trailer_signature(&self.trailers) != sig.to_ascii_lowercase() {
                                return Err(ChunkedError::SignatureMismatch);
                            }
                            chain.trailer_checked = true;
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
        if let Some(chain) = &self.chain
            && chain.signed_trailer
            && !chain.trailer_checked
            && matches!(self.state, State::Done | State::Trailers)
        {
            return Err(ChunkedError::MissingSignature);
        }
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

    /// AWS's documented streaming example (S3 "Signature calculations for
    /// the Authorization header: transferring payload in multiple chunks"):
    /// 65536 + 1024 bytes of 'a', the seed signature and the three chunk
    /// signatures it gives.
    fn documented_chain() -> ChunkChain {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let mut key = format!("AWS4{secret}").into_bytes();
        for part in ["20130524", "us-east-1", "s3", "aws4_request"] {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(part.as_bytes());
            key = mac.finalize().into_bytes().to_vec();
        }
        ChunkChain::new(
            key,
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            false,
        )
    }

    fn documented_body() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
        body.extend_from_slice(&[b'a'; 65536]);
        body.extend_from_slice(b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
        body.extend_from_slice(&[b'a'; 1024]);
        body.extend_from_slice(b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
        body
    }

    #[test]
    fn verifies_the_documented_chain() {
        let body = documented_body();
        for slice in [1, 7, 4096, body.len()] {
            let mut d = ChunkedDecoder::with_chain(documented_chain());
            for piece in body.chunks(slice) {
                d.feed(piece, |_| {}).unwrap();
            }
            assert_eq!(d.decoded_len(), 66_560);
            d.finish().unwrap();
        }
    }

    #[test]
    fn a_changed_byte_or_signature_breaks_the_chain() {
        let body = documented_body();
        let at = body.len() - 200; // inside the second chunk's data
        let mut tampered = body.clone();
        tampered[at] = b'b';
        let mut d = ChunkedDecoder::with_chain(documented_chain());
        assert_eq!(
            d.feed(&tampered, |_| {}),
            Err(ChunkedError::SignatureMismatch)
        );
        let resigned = String::from_utf8_lossy(&body)
            .replace("b6c6ea8a", "b6c6ea8b")
            .into_bytes();
        let mut d = ChunkedDecoder::with_chain(documented_chain());
        assert_eq!(
            d.feed(&resigned, |_| {}),
            Err(ChunkedError::SignatureMismatch)
        );
        let unsigned = b"5\r\nhello\r\n0\r\n\r\n";
        let mut d = ChunkedDecoder::with_chain(documented_chain());
        assert_eq!(
            d.feed(unsigned, |_| {}),
            Err(ChunkedError::MissingSignature)
        );
    }

    #[test]
    fn signed_trailers_are_checked() {
        let mut chain = documented_chain();
        chain.signed_trailer = true;
        let sig0 = chain.chunk_signature(EMPTY_SHA256);
        let mut after = documented_chain();
        after.previous = sig0.clone();
        let trailers = vec![("x-amz-checksum-crc32c".to_string(), "AAAAAA==".to_string())];
        let tsig = after.trailer_signature(&trailers);
        let body = format!(
            "0;chunk-signature={sig0}\r\nx-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:{tsig}\r\n\r\n"
        );
        let mut d = ChunkedDecoder::with_chain(chain);
        d.feed(body.as_bytes(), |_| {}).unwrap();
        assert_eq!(d.finish().unwrap(), trailers);
        let mut chain = documented_chain();
        chain.signed_trailer = true;
        let forged = body.replace("AAAAAA==", "BBBBBB==");
        let mut d = ChunkedDecoder::with_chain(chain);
        assert_eq!(
            d.feed(forged.as_bytes(), |_| {}),
            Err(ChunkedError::SignatureMismatch)
        );
        let mut chain = documented_chain();
        chain.signed_trailer = true;
        let mut d = ChunkedDecoder::with_chain(chain);
        d.feed(
            format!("0;chunk-signature={sig0}\r\n\r\n").as_bytes(),
            |_| {},
        )
        .unwrap();
        assert_eq!(d.finish(), Err(ChunkedError::MissingSignature));
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
