//! `store`: key → bytes tables in the plugin's own database, through the
//! state crate's backend contract (`ministack_state::backend`; redb today).
//!
//! Keys are scoped by prefixing them with the caller's account and region
//! (or account only, or nothing for global scope), so ordering within a scope
//! is the plugin's own bytewise order and scopes never see each other.

use ministack_state::{BackendUnit, KeyRange};
use wasmtime::component::{HasData, Linker};

use super::{HostState, HostTrap, RequestState};
use crate::bindings::ministack::plugin::store::{self as wit, Scope};

pub struct StoreView<'a>(pub &'a mut RequestState);

struct StoreCap;
impl HasData for StoreCap {
    type Data<'a> = StoreView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> StoreView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, StoreCap>(linker, get)
}

/// Tables starting with `__` belong to the host (blob registry, metadata).
pub(crate) fn check_table(table: &str) -> wasmtime::Result<()> {
    if table.is_empty() || table.len() > 200 || table.starts_with("__") {
        return Err(wasmtime::Error::msg(format!(
            "invalid table name {table:?}"
        )));
    }
    Ok(())
}

/// The bytes every key of a scope starts with.
pub fn scope_prefix(scope: Scope, account: &str, region: &str) -> Vec<u8> {
    scoped_key(scope, account, region, &[])
}

/// The scope's prefix followed by `key`, built in one allocation (every
/// store call of a plugin names its keys this way).
fn scoped_key(scope: Scope, account: &str, region: &str, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(account.len() + region.len() + 3 + key.len());
    match scope {
        Scope::AccountRegion => {
            k.push(b'R');
            k.extend_from_slice(account.as_bytes());
            k.push(b'/');
            k.extend_from_slice(region.as_bytes());
            k.push(0);
        }
        Scope::Account => {
            k.push(b'A');
            k.extend_from_slice(account.as_bytes());
            k.push(0);
        }
        Scope::Global => k.extend_from_slice(b"G\0"),
    }
    k.extend_from_slice(key);
    k
}

impl StoreView<'_> {
    /// The request's unit, seen only through the backend contract (statically
    /// dispatched: no cost over calling it directly).
    fn unit(&mut self) -> &mut impl BackendUnit {
        self.0.unit()
    }

    fn prefix(&self, scope: Scope) -> Vec<u8> {
        scope_prefix(scope, &self.0.ctx.account, &self.0.ctx.region)
    }

    fn key(&self, scope: Scope, key: &[u8]) -> Vec<u8> {
        scoped_key(scope, &self.0.ctx.account, &self.0.ctx.region, key)
    }

    fn range(&self, scope: Scope, range: wit::KeyRange) -> KeyRange {
        let p = self.prefix(scope);
        let join = |k: Vec<u8>| {
            let mut v = p.clone();
            v.extend_from_slice(&k);
            v
        };
        KeyRange {
            prefix: join(range.prefix),
            start: range.start.map(join),
            end: range.end.map(join),
            reverse: range.reverse,
        }
    }
}

fn trap(e: impl Into<HostTrap>) -> wasmtime::Error {
    wasmtime::Error::new(e.into())
}

impl wit::Host for StoreView<'_> {
    async fn get(
        &mut self,
        scope: Scope,
        table: String,
        key: Vec<u8>,
    ) -> wasmtime::Result<Option<Vec<u8>>> {
        check_table(&table)?;
        let key = self.key(scope, &key);
        self.unit().get(&table, &key).map_err(trap)
    }

    async fn put(
        &mut self,
        scope: Scope,
        table: String,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> wasmtime::Result<()> {
        check_table(&table)?;
        let key = self.key(scope, &key);
        self.unit().put(&table, &key, &value).map_err(trap)
    }

    async fn delete(
        &mut self,
        scope: Scope,
        table: String,
        key: Vec<u8>,
    ) -> wasmtime::Result<bool> {
        check_table(&table)?;
        let key = self.key(scope, &key);
        self.unit().delete(&table, &key).map_err(trap)
    }

    async fn scan(
        &mut self,
        scope: Scope,
        table: String,
        range: wit::KeyRange,
        limit: u32,
    ) -> wasmtime::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        check_table(&table)?;
        let strip = self.prefix(scope).len();
        let range = self.range(scope, range);
        let rows = self.unit().scan(&table, &range, limit).map_err(trap)?;
        Ok(rows
            .into_iter()
            .map(|(mut k, v)| (k.split_off(strip), v))
            .collect())
    }

    async fn count(
        &mut self,
        scope: Scope,
        table: String,
        range: wit::KeyRange,
    ) -> wasmtime::Result<u64> {
        check_table(&table)?;
        let range = self.range(scope, range);
        self.unit().count(&table, &range).map_err(trap)
    }

    async fn delete_range(
        &mut self,
        scope: Scope,
        table: String,
        range: wit::KeyRange,
    ) -> wasmtime::Result<u64> {
        check_table(&table)?;
        let range = self.range(scope, range);
        self.unit().delete_range(&table, &range).map_err(trap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_never_share_a_prefix() {
        let a = scope_prefix(Scope::AccountRegion, "111111111111", "us-east-1");
        let b = scope_prefix(Scope::AccountRegion, "111111111111", "us-east-10");
        let c = scope_prefix(Scope::Account, "111111111111", "us-east-1");
        let g = scope_prefix(Scope::Global, "111111111111", "us-east-1");
        for (x, y) in [(&a, &b), (&a, &c), (&a, &g), (&c, &g)] {
            assert!(!x.starts_with(y) && !y.starts_with(x), "{x:?} vs {y:?}");
        }
        assert!(check_table("__blobs").is_err());
        assert!(check_table("").is_err());
        assert!(check_table("queues").is_ok());
    }

    #[test]
    fn keys_are_the_scope_prefix_then_the_key() {
        let (acct, region) = ("111111111111", "eu-west-1");
        assert_eq!(
            scope_prefix(Scope::AccountRegion, acct, region),
            b"R111111111111/eu-west-1\0"
        );
        assert_eq!(
            scope_prefix(Scope::Account, acct, region),
            b"A111111111111\0"
        );
        assert_eq!(scope_prefix(Scope::Global, acct, region), b"G\0");
        assert_eq!(
            scoped_key(Scope::Account, acct, region, b"q/1"),
            b"A111111111111\0q/1"
        );
    }
}
