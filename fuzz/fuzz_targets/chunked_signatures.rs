#![no_main]

//! The aws-chunked decoder with chunk-signature verification
//! (ministack_state::chunked). Two shapes of input: raw bytes fed as a
//! body (must never panic), and a correctly signed body built from the
//! input's bytes, optionally with one byte flipped (must decode to the
//! payload when intact; with a flipped byte, either fail or still give
//! exactly the signed payload).

use libfuzzer_sys::fuzz_target;
use ministack_state::chunked::{ChunkChain, ChunkedDecoder};

const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

fn chain() -> ChunkChain {
    ChunkChain::new(
        b"fuzz signing key".to_vec(),
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        SEED,
        false,
    )
}

fn decode(body: &[u8], slice: usize) -> Result<Vec<u8>, ()> {
    let mut d = ChunkedDecoder::with_chain(chain());
    let mut out = Vec::new();
    for piece in body.chunks(slice.max(1)) {
        d.feed_into(piece, &mut out).map_err(|_| ())?;
    }
    d.finish().map_err(|_| ())?;
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let slice = 1 + (control as usize >> 2);
    if control & 1 == 0 {
        let _ = decode(rest, slice);
        return;
    }
    // A signed body: chunk sizes from the control bits, payload from rest.
    let chunk = 1 + (control as usize >> 3);
    let mut signer = chain();
    let mut body = Vec::new();
    for piece in rest.chunks(chunk) {
        let sig = signer.sign_next(piece);
        body.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    let sig = signer.sign_next(b"");
    body.extend_from_slice(format!("0;chunk-signature={sig}\r\n\r\n").as_bytes());
    assert_eq!(decode(&body, slice).as_deref(), Ok(rest));
    if control & 2 != 0 && !rest.is_empty() {
        let at = (rest[0] as usize * 251 + rest.len()) % body.len();
        body[at] ^= 0x01;
        // A changed byte is refused, or harmless (framing whitespace the
        // decoder tolerates): whatever decodes is the signed payload.
        if let Ok(out) = decode(&body, slice) {
            assert_eq!(out, rest, "flipped byte {at} changed the payload unnoticed");
        }
    }
});
