//! Compression of delivered objects (`CompressionFormat`), with pure-Rust
//! crates that build for wasm32-wasip2.

use std::io::{Cursor, Write};

/// Compresses `data`; answers the bytes and the file extension AWS gives
/// the object (`""` when uncompressed).
pub fn compress(format: &str, data: &[u8], entry_name: &str) -> (Vec<u8>, &'static str) {
    match format {
        "GZIP" => (gzip(data), ".gz"),
        "ZIP" => (zip(data, entry_name), ".zip"),
        "Snappy" => (snappy_framed(data), ".snappy"),
        "HADOOP_SNAPPY" => (hadoop_snappy(data), ".snappy"),
        _ => (data.to_vec(), ""),
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// A zip archive holding one entry.
pub fn zip(data: &[u8], entry_name: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    if w.start_file(entry_name, options).is_err() || w.write_all(data).is_err() {
        return Vec::new();
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// The Snappy framing format (`snappy` streams, as `snappy-java`'s framed codec).
pub fn snappy_framed(data: &[u8]) -> Vec<u8> {
    let mut enc = snap::write::FrameEncoder::new(Vec::new());
    let _ = enc.write_all(data);
    enc.into_inner().unwrap_or_default()
}

/// Hadoop's block format: per block, the uncompressed length and the
/// compressed length (4 bytes big-endian each), then a raw Snappy block.
pub fn hadoop_snappy(data: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 256 * 1024;
    let mut out = Vec::new();
    let mut enc = snap::raw::Encoder::new();
    for chunk in data.chunks(BLOCK) {
        let compressed = enc.compress_vec(chunk).unwrap_or_default();
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
        out.extend_from_slice(&compressed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const DATA: &[u8] = b"hello firehose hello firehose hello firehose";

    #[test]
    fn every_format_round_trips() {
        let (g, ext) = compress("GZIP", DATA, "x");
        assert_eq!(ext, ".gz");
        let mut s = Vec::new();
        flate2::read::GzDecoder::new(&g[..])
            .read_to_end(&mut s)
            .unwrap();
        assert_eq!(s, DATA);

        let (z, _) = compress("ZIP", DATA, "x");
        let mut a = zip::ZipArchive::new(Cursor::new(z)).unwrap();
        let mut s = Vec::new();
        a.by_index(0).unwrap().read_to_end(&mut s).unwrap();
        assert_eq!(s, DATA);

        let (f, _) = compress("Snappy", DATA, "x");
        let mut s = Vec::new();
        snap::read::FrameDecoder::new(&f[..])
            .read_to_end(&mut s)
            .unwrap();
        assert_eq!(s, DATA);

        let (h, _) = compress("HADOOP_SNAPPY", DATA, "x");
        let n = u32::from_be_bytes(h[0..4].try_into().unwrap()) as usize;
        let c = u32::from_be_bytes(h[4..8].try_into().unwrap()) as usize;
        assert_eq!(n, DATA.len());
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&h[8..8 + c])
            .unwrap();
        assert_eq!(raw, DATA);

        assert_eq!(compress("UNCOMPRESSED", DATA, "x"), (DATA.to_vec(), ""));
    }
}
