//! A cache of small freed blocks in front of the system allocator, for
//! plugins whose requests are many small allocations (a JSON tree's strings
//! and maps, a decoded record's fields). In a wasm plugin the system
//! allocator is wasi-libc's dlmalloc behind three calls (`__rust_alloc` →
//! `malloc` → `dlmalloc`); allocation and freeing were a fifth of the S3
//! and DynamoDB plugins' own time per request (docs/performance.md,
//! "Plugin code"). Here a block of at most 256 bytes is taken from a free
//! list of its size class (multiples of 16 bytes) and given back to it:
//! a few instructions each way.
//!
//! Opt in per plugin, for the wasm build only (natively, unit tests run on
//! several threads and this cache is single-threaded):
//!
//! ```text
//! #[cfg(target_arch = "wasm32")]
//! #[global_allocator]
//! static ALLOCATOR: ministack_sdk::alloc::SmallBlocks = ministack_sdk::alloc::SmallBlocks::new();
//! ```
//!
//! Memory: a class keeps at most [`KEEP`] free blocks (beyond that they go
//! back to dlmalloc), so at most ~1.1 MB sits in the lists whatever a
//! request freed, and a block is at most 15 bytes larger than asked for.
//! When the host resets an instance's memory, the lists go with it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// Size-class granularity and the blocks' alignment bound.
const GRAIN: usize = 16;
/// Classes: 16, 32, ... 256 bytes.
const CLASSES: usize = 16;
/// Free blocks kept per class at most.
pub const KEEP: usize = 512;
/// The alignment blocks are asked of the system allocator with (and the
/// most a cached layout may ask): `malloc`'s, so dlmalloc's plain path.
const ALIGN: usize = 8;

#[derive(Clone, Copy)]
struct FreeList {
    head: *mut u8,
    len: usize,
}

/// See the module documentation. Single-threaded: for `wasm32-wasip2`
/// components (no threads) only.
pub struct SmallBlocks {
    lists: UnsafeCell<[FreeList; CLASSES]>,
}

// SAFETY: a wasm32-wasip2 component runs on one thread; the type is meant
// for that target only (see the module documentation).
unsafe impl Sync for SmallBlocks {}

impl SmallBlocks {
    pub const fn new() -> Self {
        SmallBlocks {
            lists: UnsafeCell::new(
                [FreeList {
                    head: std::ptr::null_mut(),
                    len: 0,
                }; CLASSES],
            ),
        }
    }
}

impl Default for SmallBlocks {
    fn default() -> Self {
        Self::new()
    }
}

/// The class of a layout the cache serves, `None` for the others.
fn class_of(size: usize, align: usize) -> Option<usize> {
    if size == 0 || size > GRAIN * CLASSES || align > ALIGN {
        None
    } else {
        Some((size - 1) / GRAIN)
    }
}

/// The layout a block of class `c` has in the system allocator.
fn block(c: usize) -> Layout {
    // SAFETY: non-zero size, a power-of-two alignment, far below isize::MAX.
    unsafe { Layout::from_size_align_unchecked((c + 1) * GRAIN, ALIGN) }
}

impl SmallBlocks {
    /// What the cache does not serve: a block it has none of, or a layout
    /// outside its classes. Kept out of line so that `alloc`'s hit, inlined
    /// into its callers, needs no stack frame (in wasm a call costs ~15
    /// instructions before its body, and this path's registers saved five
    /// more on every hit).
    #[inline(never)]
    unsafe fn alloc_from_system(&self, layout: Layout) -> *mut u8 {
        match class_of(layout.size(), layout.align()) {
            Some(c) => unsafe { System.alloc(block(c)) },
            None => unsafe { System.alloc(layout) },
        }
    }

    /// `dealloc`'s counterpart of `alloc_from_system`: a full class, or a
    /// layout outside the classes.
    #[inline(never)]
    unsafe fn dealloc_to_system(&self, ptr: *mut u8, layout: Layout) {
        match class_of(layout.size(), layout.align()) {
            Some(c) => unsafe { System.dealloc(ptr, block(c)) },
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }
}

unsafe impl GlobalAlloc for SmallBlocks {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(c) = class_of(layout.size(), layout.align()) {
            // SAFETY: single-threaded (see `Sync`), and no reference to the
            // lists outlives this call.
            let list = unsafe { &mut (*self.lists.get())[c] };
            let p = list.head;
            if !p.is_null() {
                // SAFETY: a free block holds the next free block's address.
                list.head = unsafe { (p as *mut *mut u8).read() };
                list.len -= 1;
                return p;
            }
        }
        unsafe { self.alloc_from_system(layout) }
    }

    #[inline(always)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(c) = class_of(layout.size(), layout.align()) {
            // SAFETY: as in `alloc`.
            let list = unsafe { &mut (*self.lists.get())[c] };
            if list.len < KEEP {
                // SAFETY: the block is at least GRAIN bytes and
                // ALIGN-aligned: room for a pointer.
                unsafe { (ptr as *mut *mut u8).write(list.head) };
                list.head = ptr;
                list.len += 1;
                return;
            }
        }
        unsafe { self.dealloc_to_system(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = class_of(layout.size(), layout.align());
        let new = class_of(new_size, layout.align());
        match (old, new) {
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            // The block already has room for the new size.
            (Some(a), Some(b)) if a == b => ptr,
            _ => {
                // SAFETY: the caller guarantees a valid new size for this alignment.
                let new_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                let p = unsafe { self.alloc(new_layout) };
                if !p.is_null() {
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                p
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_small_blocks_of_plain_alignment() {
        assert_eq!(class_of(1, 1), Some(0));
        assert_eq!(class_of(16, 8), Some(0));
        assert_eq!(class_of(17, 8), Some(1));
        assert_eq!(class_of(256, 4), Some(15));
        assert_eq!(class_of(257, 4), None);
        assert_eq!(class_of(0, 1), None);
        assert_eq!(class_of(32, 16), None);
    }

    #[test]
    fn blocks_are_reused_and_bounded() {
        // One thread: the allocator is not shared here.
        let a = SmallBlocks::new();
        unsafe {
            let l = Layout::from_size_align(24, 8).unwrap();
            let p = a.alloc(l);
            p.write_bytes(7, 24);
            a.dealloc(p, l);
            let q = a.alloc(Layout::from_size_align(20, 4).unwrap());
            assert_eq!(p, q, "the freed block of the class comes back");
            q.write_bytes(9, 20);
            // Growing within the class keeps the block; past it copies.
            let r = a.realloc(q, Layout::from_size_align(20, 4).unwrap(), 32);
            assert_eq!(r, q);
            let s = a.realloc(r, Layout::from_size_align(32, 4).unwrap(), 300);
            assert_eq!(*s.add(19), 9);
            a.dealloc(s, Layout::from_size_align(300, 4).unwrap());
            let blocks: Vec<*mut u8> = (0..KEEP + 10).map(|_| a.alloc(l)).collect();
            for b in blocks {
                a.dealloc(b, l);
            }
            assert_eq!((*a.lists.get())[1].len, KEEP);
        }
    }
}
