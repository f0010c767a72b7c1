//! Host ports handed to containers and server processes, from one
//! configurable range (`MINISTACK_PORT_RANGE`, default 45000-45999).
//!
//! A port is free when this gateway has not handed it out and a bind on the
//! publish address succeeds right now; it is handed back when its container
//! or process is removed. The probe bind is released before the port is used
//! (a tiny race with other programs, acceptable on a developer machine).

use std::collections::HashSet;
use std::net::{IpAddr, TcpListener};
use std::ops::RangeInclusive;
use std::sync::Mutex;

pub const DEFAULT_RANGE: RangeInclusive<u16> = 45000..=45999;

pub struct PortAllocator {
    range: RangeInclusive<u16>,
    ip: IpAddr,
    state: Mutex<State>,
}

struct State {
    used: HashSet<u16>,
    /// Where the next search starts: ports are not reused at once, so a
    /// client still talking to a removed server gets a refusal, not a stranger.
    next: u16,
}

impl PortAllocator {
    pub fn new(range: RangeInclusive<u16>, ip: IpAddr) -> Self {
        let next = *range.start();
        Self {
            range,
            ip,
            state: Mutex::new(State {
                used: HashSet::new(),
                next,
            }),
        }
    }

    pub fn range(&self) -> &RangeInclusive<u16> {
        &self.range
    }

    /// A port of the range nobody uses, now reserved; none when all are taken.
    pub fn allocate(&self) -> Option<u16> {
        let mut state = self.state.lock().unwrap();
        let (start, end) = (*self.range.start(), *self.range.end());
        let span = u32::from(end - start) + 1;
        for i in 0..span {
            let offset = (u32::from(state.next - start) + i) % span;
            let port = start + offset as u16;
            if state.used.contains(&port) || TcpListener::bind((self.ip, port)).is_err() {
                continue;
            }
            state.used.insert(port);
            state.next = if port == end { start } else { port + 1 };
            return Some(port);
        }
        None
    }

    /// Reserves a port the caller chose (inside or outside the range);
    /// false when it is taken.
    pub fn reserve(&self, port: u16) -> bool {
        let mut state = self.state.lock().unwrap();
        if state.used.contains(&port) || TcpListener::bind((self.ip, port)).is_err() {
            return false;
        }
        state.used.insert(port);
        true
    }

    pub fn release(&self, port: u16) {
        self.state.lock().unwrap().used.remove(&port);
    }
}

/// Parses `MINISTACK_PORT_RANGE` ("45000-45999").
pub fn parse_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let bad = || format!("MINISTACK_PORT_RANGE must look like 45000-45999, got {text:?}");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (a, b): (u16, u16) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a == 0 || a > b {
        return Err(bad());
    }
    Ok(a..=b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_distinct_free_ports_and_skips_busy_ones() {
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        let alloc = PortAllocator::new(busy_port..=busy_port, [127, 0, 0, 1].into());
        assert_eq!(alloc.allocate(), None, "the only port is bound by someone");
        drop(busy);
        assert_eq!(alloc.allocate(), Some(busy_port));
        assert_eq!(alloc.allocate(), None, "already handed out");
        alloc.release(busy_port);
        assert_eq!(alloc.allocate(), Some(busy_port));
    }

    #[test]
    fn parses_ranges() {
        assert_eq!(parse_range("45000-45010").unwrap(), 45000..=45010);
        assert!(parse_range("5-4").is_err());
        assert!(parse_range("0-4").is_err());
        assert!(parse_range("abc").is_err());
    }
}
