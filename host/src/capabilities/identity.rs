//! `identity`: credentials the gateway issued (STS sessions, IAM access
//! keys), so a request signed with one acts in its account as its principal.
//!
//! Held in memory for the per-request lookup and written through to the
//! host's own `__identity` database, so PERSIST_STATE keeps them.
//! Registers and revokes take effect when the request's unit commits.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ministack_state::{Database, KeyRange};
use serde::{Deserialize, Serialize};
use wasmtime::component::{HasData, Linker};

use super::{HostState, HostTrap, RequestState};
use crate::bindings::ministack::plugin::identity::{self as wit, Credential};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCredential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub account: String,
    pub arn: String,
    pub user_id: String,
    /// Epoch seconds; 0 for never.
    pub expires: u64,
}

const TABLE: &str = "credentials";

/// A register or revoke waiting for the unit's commit: a request that
/// fails or is re-run leaves no credential behind.
#[derive(Clone, Debug)]
pub enum CredentialChange {
    Register(StoredCredential),
    Revoke(String),
}

/// Every credential the gateway knows.
#[derive(Default)]
pub struct CredentialRegistry {
    keys: RwLock<HashMap<String, StoredCredential>>,
    db: Option<Arc<Database>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl CredentialRegistry {
    /// Loads the credentials kept in `db`.
    pub fn open(db: Arc<Database>) -> anyhow::Result<Self> {
        let mut unit = db.begin();
        let rows = unit.scan(TABLE, &KeyRange::default(), u32::MAX)?;
        unit.rollback();
        let mut keys = HashMap::new();
        for (_, v) in rows {
            if let Ok(c) = serde_json::from_slice::<StoredCredential>(&v) {
                keys.insert(c.access_key_id.clone(), c);
            }
        }
        Ok(Self {
            keys: RwLock::new(keys),
            db: Some(db),
        })
    }

    /// The live credential for an access key.
    pub fn lookup(&self, access_key_id: &str) -> Option<StoredCredential> {
        if access_key_id.is_empty() {
            return None;
        }
        let keys = self.keys.read().unwrap();
        let c = keys.get(access_key_id)?;
        (c.expires == 0 || c.expires > now()).then(|| c.clone())
    }

    pub async fn register(&self, c: StoredCredential) -> Result<(), HostTrap> {
        if let Some(db) = &self.db {
            let mut unit = db.begin();
            unit.put(
                TABLE,
                c.access_key_id.as_bytes(),
                &serde_json::to_vec(&c).unwrap_or_default(),
            )?;
            unit.commit().await?;
        }
        self.keys
            .write()
            .unwrap()
            .insert(c.access_key_id.clone(), c);
        Ok(())
    }

    pub async fn revoke(&self, access_key_id: &str) -> Result<(), HostTrap> {
        if let Some(db) = &self.db {
            let mut unit = db.begin();
            unit.delete(TABLE, access_key_id.as_bytes())?;
            unit.commit().await?;
        }
        self.keys.write().unwrap().remove(access_key_id);
        Ok(())
    }

    /// Forgets everything (reset).
    pub async fn apply(&self, change: CredentialChange) -> Result<(), HostTrap> {
        match change {
            CredentialChange::Register(c) => self.register(c).await,
            CredentialChange::Revoke(id) => self.revoke(&id).await,
        }
    }

    pub fn clear(&self) {
        self.keys.write().unwrap().clear();
    }
}

pub struct IdentityView<'a>(pub &'a mut RequestState);

struct IdentityCap;
impl HasData for IdentityCap {
    type Data<'a> = IdentityView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> IdentityView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, IdentityCap>(linker, get)
}

fn to_wit(c: StoredCredential) -> Credential {
    Credential {
        access_key_id: c.access_key_id,
        secret_access_key: c.secret_access_key,
        account: c.account,
        arn: c.arn,
        user_id: c.user_id,
        expires: c.expires,
    }
}

impl wit::Host for IdentityView<'_> {
    async fn register(&mut self, c: Credential) -> wasmtime::Result<()> {
        self.0.granted("identity").map_err(wasmtime::Error::new)?;
        let stored = StoredCredential {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            account: c.account,
            arn: c.arn,
            user_id: c.user_id,
            expires: c.expires,
        };
        self.0
            .pending
            .credentials
            .push(CredentialChange::Register(stored));
        Ok(())
    }

    async fn revoke(&mut self, access_key_id: String) -> wasmtime::Result<()> {
        self.0.granted("identity").map_err(wasmtime::Error::new)?;
        self.0
            .pending
            .credentials
            .push(CredentialChange::Revoke(access_key_id));
        Ok(())
    }

    async fn lookup(&mut self, access_key_id: String) -> wasmtime::Result<Option<Credential>> {
        self.0.granted("identity").map_err(wasmtime::Error::new)?;
        // This request's own changes first (read your writes).
        let pending = self
            .0
            .pending
            .credentials
            .iter()
            .rev()
            .find_map(|c| match c {
                CredentialChange::Register(c) if c.access_key_id == access_key_id => {
                    Some(Some(c.clone()))
                }
                CredentialChange::Revoke(id) if *id == access_key_id => Some(None),
                _ => None,
            });
        let found = match pending {
            Some(found) => found,
            None => self.0.shared.identity.lookup(&access_key_id),
        };
        Ok(found.map(to_wit))
    }
}
