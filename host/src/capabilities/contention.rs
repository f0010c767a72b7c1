//! When a plugin's requests run one at a time.
//!
//! Units are optimistic: two requests that touch one key run side by side
//! and the second to commit runs again (docs/state.md). That is free while
//! keys differ and wasteful when every request writes the same one (32
//! clients overwriting one S3 object or receiving from one queue re-ran
//! half of their requests). So a plugin whose units conflict often (two
//! conflicts within [`FREQUENT`]: re-runs then waste a few percent of a
//! core or more) runs its next [`SERIAL_AFTER_CONFLICT`] requests under a
//! per-plugin turn lock, one at a time, then is optimistic again. Rare
//! conflicts cost less than serializing would, and only re-run. A request
//! that keeps conflicting waits for the lock unconditionally after
//! [`OPTIMISTIC_ATTEMPTS`], so it finishes.
//!
//! The lock only saves work, it guarantees nothing: validation at commit
//! stays the judge. So a turn is given up as soon as the request's first
//! unit has landed (validated and visible, before a group commit's fsync),
//! and waiting for a turn is bounded ([`MAX_TURN_WAIT`]) so a request that
//! holds it across a long host call (a function invocation commits first,
//! but a plugin may still compute for a while) delays others by at most
//! that much.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OwnedMutexGuard};

/// After this many conflicts a request waits for its plugin's turn lock
/// however long it takes.
pub const OPTIMISTIC_ATTEMPTS: u32 = 3;
/// Two conflicts closer than this make a plugin contended.
const FREQUENT: Duration = Duration::from_millis(1);
/// Requests of a plugin that run under its turn lock once contended.
const SERIAL_AFTER_CONFLICT: u32 = 256;
/// Longest wait for a turn while merely contended: then the request runs
/// optimistically.
const MAX_TURN_WAIT: Duration = Duration::from_millis(5);

/// One plugin's turn lock and what decides when it is taken.
pub struct Contention {
    turn: Arc<Mutex<()>>,
    /// Requests still to run under the lock.
    serial_budget: AtomicU32,
    /// When the last conflict happened (ns since `epoch`).
    last_conflict: AtomicU64,
    epoch: Instant,
    /// Requests run again because their unit conflicted with a concurrent
    /// one (`GET /_ministack/plugins`).
    reruns: AtomicU64,
}

/// Holding it, a request runs alone among its plugin's turn-takers.
pub type Turn = OwnedMutexGuard<()>;

impl Default for Contention {
    fn default() -> Self {
        Self {
            turn: Arc::default(),
            serial_budget: AtomicU32::new(0),
            last_conflict: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
            reruns: AtomicU64::new(0),
        }
    }
}

impl Contention {
    pub fn reruns(&self) -> u64 {
        self.reruns.load(Ordering::Relaxed)
    }

    /// A unit conflicted and its request runs again.
    pub fn note_rerun(&self) {
        self.reruns.fetch_add(1, Ordering::Relaxed);
        let now = self.epoch.elapsed().as_nanos() as u64;
        let previous = self.last_conflict.swap(now, Ordering::Relaxed);
        // `previous` is u64::MAX before the first conflict.
        if now
            .checked_sub(previous)
            .is_some_and(|gap| gap < FREQUENT.as_nanos() as u64)
        {
            self.serial_budget
                .store(SERIAL_AFTER_CONFLICT, Ordering::Relaxed);
        }
    }

    /// The turn this attempt of a request runs under, if any. Taken before
    /// the attempt's unit begins, so its snapshot includes the previous
    /// holder's writes.
    pub async fn turn(&self, attempt: u32, depth: u32) -> Option<Turn> {
        match policy(attempt, depth, || self.contended()) {
            Wait::No => None,
            Wait::Bounded => match self.turn.clone().try_lock_owned() {
                Ok(turn) => Some(turn),
                Err(_) => tokio::time::timeout(MAX_TURN_WAIT, self.turn.clone().lock_owned())
                    .await
                    .ok(),
            },
            Wait::Unbounded => Some(self.turn.clone().lock_owned().await),
        }
    }

    /// Whether a request holds the turn now (after one gave it up: whether
    /// it went to a waiting one).
    pub fn is_taken(&self) -> bool {
        self.turn.try_lock().is_err()
    }

    /// Whether the plugin conflicted lately; counts this request against
    /// the budget.
    fn contended(&self) -> bool {
        // Most plugins never conflict: a plain load, no shared write.
        self.serial_budget.load(Ordering::Relaxed) > 0
            && self
                .serial_budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
    }
}

#[derive(Debug, PartialEq)]
enum Wait {
    No,
    Bounded,
    Unbounded,
}

/// A nested call (`services.call`, depth > 0) never waits for a turn: the
/// request it serves may hold that very lock (a plugin calling itself for
/// another account) or another plugin's lock that a cycle would come back
/// to. Only requests from outside hold a turn, one each, so no two can
/// wait on each other.
/// `contended` is asked last: it counts the request against the budget.
fn policy(attempt: u32, depth: u32, contended: impl FnOnce() -> bool) -> Wait {
    if depth > 0 {
        Wait::No
    } else if attempt > OPTIMISTIC_ATTEMPTS {
        Wait::Unbounded
    } else if contended() {
        Wait::Bounded
    } else {
        Wait::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_from_outside_wait_for_a_turn() {
        for attempt in 1..=OPTIMISTIC_ATTEMPTS {
            assert_eq!(policy(attempt, 0, || false), Wait::No);
            assert_eq!(policy(attempt, 0, || true), Wait::Bounded);
        }
        assert_eq!(
            policy(OPTIMISTIC_ATTEMPTS + 1, 0, || false),
            Wait::Unbounded
        );
        let c = Contention::default();
        c.note_rerun();
        c.note_rerun();
        for depth in 1..4 {
            assert_eq!(policy(1, depth, || c.contended()), Wait::No);
            assert_eq!(policy(64, depth, || true), Wait::No);
        }
        // Nested calls left the budget to the requests from outside.
        for _ in 0..SERIAL_AFTER_CONFLICT {
            assert!(c.contended());
        }
        assert!(!c.contended());
    }

    #[test]
    fn frequent_conflicts_serialize_the_next_requests_then_let_go() {
        let c = Contention::default();
        assert!(!c.contended());
        c.note_rerun();
        assert_eq!(c.reruns(), 1);
        assert!(!c.contended(), "one conflict alone only re-runs");
        std::thread::sleep(FREQUENT * 2);
        c.note_rerun();
        assert!(!c.contended(), "nor do conflicts far apart");
        c.note_rerun();
        assert_eq!(c.reruns(), 3);
        for _ in 0..SERIAL_AFTER_CONFLICT {
            assert!(c.contended());
        }
        assert!(!c.contended());
    }

    #[tokio::test]
    async fn a_contended_wait_is_bounded() {
        let c = Contention::default();
        c.note_rerun();
        c.note_rerun();
        let held = c.turn(1, 0).await;
        assert!(held.is_some());
        // The holder keeps it: the next request gives up waiting and runs.
        let started = std::time::Instant::now();
        assert!(c.turn(1, 0).await.is_none());
        assert!(started.elapsed() >= MAX_TURN_WAIT);
        drop(held);
        assert!(c.turn(1, 0).await.is_some());
    }
}
