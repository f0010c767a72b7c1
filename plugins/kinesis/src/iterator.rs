//! Shard iterators are self-describing: URL-safe base64 of a small JSON
//! object naming the stream (name and id), the shard, the counter of the
//! next record to read, and when the iterator was issued. Nothing is stored
//! per iterator; one older than 5 minutes is refused with
//! `ExpiredIteratorException`, as AWS does. (A test can make an expired one
//! by decoding an iterator, moving `t` back and encoding it again.)

use ministack_sdk::encoding::{base64url_decode, base64url_encode};
use serde::{Deserialize, Serialize};

/// How long an iterator may be used after it was issued.
pub const LIFETIME_MS: u64 = 5 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Stream name.
    pub n: String,
    /// Stream id (a re-created stream of the same name is another stream).
    pub s: String,
    /// Shard id.
    pub h: String,
    /// Counter of the next record to read.
    pub c: u64,
    /// Issued at, epoch ms.
    pub t: u64,
}

pub fn encode(position: &Position) -> String {
    base64url_encode(
        serde_json::to_string(position)
            .unwrap_or_default()
            .as_bytes(),
    )
}

pub fn decode(token: &str) -> Option<Position> {
    let bytes = base64url_decode(token)?;
    serde_json::from_slice(&bytes).ok()
}

pub fn expired(position: &Position, now_ms: u64) -> bool {
    now_ms.saturating_sub(position.t) > LIFETIME_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_expires_after_five_minutes() {
        let p = Position {
            n: "orders".into(),
            s: "abc".into(),
            h: "shardId-000000000001".into(),
            c: 42,
            t: 1_000_000,
        };
        let token = encode(&p);
        assert!(token.len() <= 512);
        assert_eq!(decode(&token), Some(p.clone()));
        assert!(!expired(&p, 1_000_000 + LIFETIME_MS));
        assert!(expired(&p, 1_000_001 + LIFETIME_MS));
        assert_eq!(decode("not an iterator"), None);
    }
}
