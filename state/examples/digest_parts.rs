//! Throughput of each digest alone: `cargo run -p ministack-state --release --example digest_parts`.
use md5::Digest as _;
use std::time::Instant;

fn time(name: &str, data: &[u8], mut f: impl FnMut(&[u8])) {
    let start = Instant::now();
    for chunk in data.chunks(1 << 20) {
        f(chunk);
    }
    let mib = data.len() as f64 / (1 << 20) as f64;
    println!(
        "{name:<10} {:>6.0} MiB/s",
        mib / start.elapsed().as_secs_f64()
    );
}

fn main() {
    let data: Vec<u8> = (0..64u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let mut md5 = md5::Md5::new();
    time("MD5", &data, |c| md5.update(c));
    let mut sha1 = sha1::Sha1::new();
    time("SHA1", &data, |c| sha1.update(c));
    let mut sha256 = sha2::Sha256::new();
    time("SHA256", &data, |c| sha256.update(c));
    let mut crc32 = crc32fast::Hasher::new();
    time("CRC32", &data, |c| crc32.update(c));
    let mut crc32c = 0;
    time("CRC32C", &data, |c| {
        crc32c = crc32c::crc32c_append(crc32c, c)
    });
    const CRC64: crc::Crc<u64, crc::Table<16>> =
        crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_NVME);
    let mut crc64 = CRC64.digest();
    time("CRC64NVME", &data, |c| crc64.update(c));
    std::hint::black_box((
        md5.finalize(),
        sha1.finalize(),
        sha256.finalize(),
        crc32.finalize(),
        crc32c,
        crc64.finalize(),
    ));
}
