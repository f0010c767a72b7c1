//! Large futures boxed where they are built.
//!
//! An async fn's future is as large as its deepest await (a request's was
//! 8–14 KB), and every move of it copies all of it, even before its first
//! poll, when only its arguments are set. `Box::pin(f())` builds the future
//! on the stack and copies it in; hyper moved the request's future a few
//! times more before polling it. Writing `make()` straight into a fresh
//! allocation lets the compiler build it there: STS GetCallerIdentity ran
//! 9 % fewer instructions, most of them `memcpy` (docs/performance.md,
//! eleventh sitting).

use std::future::Future;
use std::pin::Pin;

/// `make()`'s future, built in its box.
#[inline(always)]
pub fn in_place<F: Future>(make: impl FnOnce() -> F) -> Pin<Box<F>> {
    Box::into_pin(Box::write(Box::new_uninit(), make()))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_boxed_future_runs_as_it_would_unboxed() {
        let big = [7u8; 16 * 1024];
        let fut = super::in_place(|| async move {
            tokio::task::yield_now().await;
            big.iter().map(|&b| u64::from(b)).sum::<u64>()
        });
        assert_eq!(fut.await, 7 * 16 * 1024);
    }
}
