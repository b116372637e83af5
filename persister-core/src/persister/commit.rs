//! Committing a message's effect, and finalization (D6, D8).

use super::Persister;
use crate::cache::Eviction;
use crate::error::{Result, StoreError};
use crate::finalize;
use crate::messages::Ack;
use crate::store::{Checkpoint, WriteOp};

impl Persister {
    /// Writes the header and the resource updates at `rows` of `id` in one transaction.
    ///
    /// On any error the entry is evicted and the store is unchanged.
    pub(super) async fn commit(&mut self, id: &str, rows: &[usize], body: bool) -> Result<()> {
        let entry =
            self.cache.get_mut(id).ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        let built = (|| {
            let header = self.codec.header_update(&entry.command, body)?;
            let mut resource_updates = Vec::with_capacity(rows.len());
            for &p in rows {
                if let Some(ru) = entry.command.resource_updates.get(p) {
                    resource_updates.push(self.codec.row(
                        p,
                        ru,
                        entry.completion(p),
                        entry.ru_size(p),
                    )?);
                }
            }
            Ok::<_, crate::error::CodecError>(Checkpoint {
                command_id: id.to_owned(),
                expected_revision: entry.revision,
                header,
                resource_updates,
            })
        })();
        let checkpoint = match built {
            Ok(c) => c,
            Err(e) => {
                self.evict_on_error(id);
                return Err(e.into());
            }
        };
        let head_bytes = checkpoint.header.head.len();
        let body_bytes = checkpoint.header.body.as_ref().map(String::len);
        let sizes: Vec<(usize, usize)> = checkpoint
            .resource_updates
            .iter()
            .filter_map(|r| usize::try_from(r.position).ok().map(|p| (p, r.data.len())))
            .collect();
        match &mut self.batch {
            Some(batch) => batch.ops.push(WriteOp::Apply(checkpoint)),
            None => {
                if let Err(e) = super::transaction("apply", self.store.apply(checkpoint)).await {
                    self.evict_on_error(id);
                    return Err(e.into());
                }
                self.transactions += 1;
            }
        }
        if let Some(entry) = self.cache.get_mut(id) {
            entry.revision += 1;
            entry.set_sizes(head_bytes, body_bytes, &sizes);
        }
        Ok(())
    }

    /// Commits a change that may have made the command final.
    ///
    /// When the command is final and no completions are pending (or `force`, for
    /// finalize-incomplete), it is finalized in the same transaction: opaque values are hashed,
    /// then a sync command without versions is deleted, or the command is stored; then the
    /// entry is evicted.
    pub(super) async fn settle(
        &mut self,
        id: &str,
        mut rows: Vec<usize>,
        force: bool,
    ) -> Result<Ack> {
        let entry =
            self.cache.get_mut(id).ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        if !(entry.command.is_final() && (force || entry.pending() == 0)) {
            self.commit(id, &rows, false).await?;
            self.enforce_cap();
            return Ok(Ack::Applied);
        }
        let hashed = match finalize::hash_command(&mut entry.command, &self.config.opaque_fields) {
            Ok(h) => h,
            Err(e) => {
                self.evict_on_error(id);
                return Err(e.into());
            }
        };
        if finalize::should_delete(&entry.command) {
            let expected_revision = entry.revision;
            match &mut self.batch {
                Some(batch) => {
                    batch.ops.push(WriteOp::Delete { id: id.to_owned(), expected_revision });
                    batch.deleted.insert(id.to_owned());
                }
                None => {
                    if let Err(e) =
                        super::transaction("delete", self.store.delete(id, expected_revision)).await
                    {
                        self.evict_on_error(id);
                        return Err(e.into());
                    }
                    self.transactions += 1;
                }
            }
            self.cache.evict(id, Eviction::Deleted);
            return Ok(Ack::Deleted);
        }
        for p in hashed.resource_updates {
            if !rows.contains(&p) {
                rows.push(p);
            }
        }
        self.commit(id, &rows, hashed.body).await?;
        match &mut self.batch {
            Some(batch) => batch.finalized.push(id.to_owned()),
            None => {
                self.cache.evict(id, Eviction::Final);
            }
        }
        Ok(Ack::Finalized)
    }
}
