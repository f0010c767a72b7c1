//! `blobs`: large payloads held by the host, never copied into wasm unless
//! the plugin reads them.
//!
//! Every live blob is registered in the plugin's `__blobs` table in the same
//! unit that creates it, so a crash between writing the bytes and committing
//! leaves an unregistered blob that the next start sweeps away; a release
//! deletes the bytes only once the unit commits.

use ministack_state::blobs::BlobInfo;
use wasmtime::component::{HasData, Linker};

use super::{HostState, HostTrap, RequestState};
use crate::bindings::ministack::plugin::blobs as wit;
use crate::bindings::ministack::plugin::types::BlobRef;

/// The host-owned table listing a plugin's live blobs.
pub const REGISTRY_TABLE: &str = "__blobs";

pub struct BlobsView<'a>(pub &'a mut RequestState);

struct BlobsCap;
impl HasData for BlobsCap {
    type Data<'a> = BlobsView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> BlobsView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, BlobsCap>(linker, get)
}

pub fn to_wit(info: BlobInfo) -> BlobRef {
    BlobRef {
        id: info.id,
        size: info.size,
        md5_hex: info.md5_hex,
        checksums: info.checksums,
    }
}

impl RequestState {
    /// Registers a blob created for this request (by the plugin or by the
    /// host streaming a request body) in the current unit.
    pub fn adopt_blob(&mut self, id: &str) -> Result<(), HostTrap> {
        self.unit().put(REGISTRY_TABLE, id.as_bytes(), b"")?;
        self.pending.created_blobs.push(id.to_string());
        Ok(())
    }

    fn owns_blob(&mut self, id: &str) -> Result<bool, HostTrap> {
        Ok(self.unit().get(REGISTRY_TABLE, id.as_bytes())?.is_some())
    }
}

fn trap(e: impl Into<HostTrap>) -> wasmtime::Error {
    wasmtime::Error::new(e.into())
}

impl wit::Host for BlobsView<'_> {
    async fn create(&mut self, bytes: Vec<u8>) -> wasmtime::Result<BlobRef> {
        let req = &mut *self.0;
        let info = req
            .shared
            .blobs
            .create(&req.plugin.name, &bytes)
            .await
            .map_err(trap)?;
        req.adopt_blob(&info.id).map_err(trap)?;
        Ok(to_wit(info))
    }

    async fn read(
        &mut self,
        id: String,
        offset: u64,
        len: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let req = &mut *self.0;
        if !req.owns_blob(&id).map_err(trap)? {
            return Ok(Err(format!("no blob {id:?}")));
        }
        match req
            .shared
            .blobs
            .read(&req.plugin.name, &id, offset, len as u64)
            .await
        {
            Ok(bytes) => Ok(Ok(bytes.to_vec())),
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    async fn concat(
        &mut self,
        parts: Vec<(String, u64, u64)>,
    ) -> wasmtime::Result<Result<BlobRef, String>> {
        let req = &mut *self.0;
        for (id, _, _) in &parts {
            if !req.owns_blob(id).map_err(trap)? {
                return Ok(Err(format!("no blob {id:?}")));
            }
        }
        // Host work (GiB-sized copies): not the plugin's time.
        let began = std::time::Instant::now();
        let result = req.shared.blobs.concat(&req.plugin.name, &parts).await;
        req.waited += began.elapsed();
        match result {
            Ok(info) => {
                req.adopt_blob(&info.id).map_err(trap)?;
                Ok(Ok(to_wit(info)))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    async fn stat(&mut self, id: String) -> wasmtime::Result<Option<BlobRef>> {
        let req = &mut *self.0;
        if !req.owns_blob(&id).map_err(trap)? {
            return Ok(None);
        }
        Ok(req.shared.blobs.stat(&req.plugin.name, &id).map(to_wit))
    }

    async fn release(&mut self, id: String) -> wasmtime::Result<()> {
        let req = &mut *self.0;
        if req
            .unit()
            .delete(REGISTRY_TABLE, id.as_bytes())
            .map_err(trap)?
        {
            req.pending.released_blobs.push(id);
        }
        Ok(())
    }
}
