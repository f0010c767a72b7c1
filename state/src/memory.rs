//! The bytes of an in-memory database (the default, without PERSIST_STATE).
//!
//! redb's own `InMemoryBackend` is one `Vec` grown with `resize`: every byte
//! of the file is written (zero-filled), and redb doubles the file as it
//! grows, so up to half of what it keeps resident was never used. Here the
//! file is chunks allocated on first write: the length is a number, and a
//! range nobody wrote reads as zeros without taking memory.

use std::io;
use std::sync::RwLock;

use redb::StorageBackend;

/// Bytes per chunk: a few of redb's 4 KiB pages, small enough that the
/// unused tail of a chunk is little.
const CHUNK: usize = 64 << 10;

#[derive(Debug, Default)]
pub(crate) struct SparseMemory(RwLock<File>);

#[derive(Debug, Default)]
struct File {
    len: u64,
    chunks: Vec<Option<Box<[u8]>>>,
}

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "offset out of range")
}

/// The (chunk, offset in chunk, length) pieces of `len` bytes at `offset`.
fn pieces(offset: u64, len: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    let mut at = offset as usize;
    let end = at + len;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let (chunk, within) = (at / CHUNK, at % CHUNK);
        let n = (CHUNK - within).min(end - at);
        at += n;
        Some((chunk, within, n))
    })
}

impl File {
    fn check(&self, offset: u64, len: usize) -> io::Result<()> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(out_of_range()),
        }
    }
}

impl StorageBackend for SparseMemory {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.read().map_err(|_| out_of_range())?.len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let file = self.0.read().map_err(|_| out_of_range())?;
        file.check(offset, out.len())?;
        let mut done = 0;
        for (chunk, within, n) in pieces(offset, out.len()) {
            let dst = &mut out[done..done + n];
            match &file.chunks[chunk] {
                Some(bytes) => dst.copy_from_slice(&bytes[within..within + n]),
                None => dst.fill(0),
            }
            done += n;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut file = self.0.write().map_err(|_| out_of_range())?;
        let chunks = usize::try_from(len.div_ceil(CHUNK as u64)).map_err(|_| out_of_range())?;
        if len < file.len {
            // What is cut off reads as zeros if the file grows again.
            let within = (len % CHUNK as u64) as usize;
            if within > 0
                && let Some(Some(last)) = file.chunks.get_mut(chunks - 1)
            {
                last[within..].fill(0);
            }
        }
        file.chunks.resize_with(chunks, || None);
        file.len = len;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut file = self.0.write().map_err(|_| out_of_range())?;
        file.check(offset, data.len())?;
        let mut done = 0;
        for (chunk, within, n) in pieces(offset, data.len()) {
            let bytes = file.chunks[chunk].get_or_insert_with(|| vec![0; CHUNK].into_boxed_slice());
            bytes[within..within + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_and_zeros_elsewhere() {
        let m = SparseMemory::default();
        m.set_len(4 * CHUNK as u64).unwrap();
        let data: Vec<u8> = (0..CHUNK + 100).map(|i| (i % 251) as u8 + 1).collect();
        m.write(CHUNK as u64 - 50, &data).unwrap();
        let mut out = vec![9; 4 * CHUNK];
        m.read(0, &mut out).unwrap();
        assert!(out[..CHUNK - 50].iter().all(|b| *b == 0));
        assert_eq!(&out[CHUNK - 50..2 * CHUNK + 50], &data[..]);
        assert!(out[2 * CHUNK + 50..].iter().all(|b| *b == 0));
        // Only the three chunks written hold memory, not the fourth.
        assert_eq!(m.0.read().unwrap().chunks.iter().flatten().count(), 3);
        assert!(m.read(4 * CHUNK as u64 - 1, &mut [0; 2]).is_err());
        assert!(m.write(4 * CHUNK as u64, &[1]).is_err());
    }

    #[test]
    fn a_cut_tail_reads_as_zeros_after_growing_again() {
        let m = SparseMemory::default();
        m.set_len(100).unwrap();
        m.write(0, &[7; 100]).unwrap();
        m.set_len(10).unwrap();
        m.set_len(100).unwrap();
        let mut out = [1; 100];
        m.read(0, &mut out).unwrap();
        assert_eq!(&out[..10], &[7; 10]);
        assert!(out[10..].iter().all(|b| *b == 0));
        assert_eq!(m.len().unwrap(), 100);
    }
}
