//! Conversion between a cached command and its stored rows.

use crate::cache::{Entry, ResourceIndex, RowSize};
use crate::codec;
use crate::error::{CodecError, StoreError};
use crate::model::{FormaCommand, ResourceUpdate};
use crate::store::{
    CommandRow, Completion, HeaderUpdate, ResourceUpdateChange, ResourceUpdateRow, StoredCommand,
    exact_key,
};

/// Counts of the JSON work the persister did, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodecStats {
    /// Documents decoded (bodies, heads and resource updates).
    pub decoded_docs: u64,
    /// Bytes decoded.
    pub decoded_bytes: u64,
    /// Documents encoded.
    pub encoded_docs: u64,
    /// Bytes encoded.
    pub encoded_bytes: u64,
}

impl CodecStats {
    fn encoded(&mut self, text: &str) {
        self.encoded_docs += 1;
        self.encoded_bytes += text.len() as u64;
    }

    fn decoded(&mut self, text: &str) {
        self.decoded_docs += 1;
        self.decoded_bytes += text.len() as u64;
    }

    /// Encodes the header's mutable fields.
    pub(crate) fn header_update(
        &mut self,
        command: &FormaCommand,
        with_body: bool,
    ) -> Result<HeaderUpdate, CodecError> {
        let head = codec::encode_head(command)?;
        self.encoded(&head);
        let body = if with_body {
            let body = codec::encode_body(command)?;
            self.encoded(&body);
            Some(body)
        } else {
            None
        };
        let (start_ts, start_ts_ns) = exact_key(command.start_ts);
        let (modified_ts, modified_ts_ns) = exact_key(command.modified_ts);
        Ok(HeaderUpdate {
            state: command.state.as_str().to_owned(),
            start_ts,
            start_ts_ns,
            modified_ts,
            modified_ts_ns,
            // The caller sets the command's total once it knows every part's size.
            stored_bytes: 0,
            head,
            body,
        })
    }

    /// Encodes one new resource update row, both parts.
    pub(crate) fn row(
        &mut self,
        position: usize,
        ru: &ResourceUpdate,
        completion: Completion,
    ) -> Result<ResourceUpdateRow, CodecError> {
        let fixed = codec::encode_update_fixed(ru, 0)?;
        self.encoded(&fixed);
        let progress = codec::encode_update_progress(ru, 0)?;
        self.encoded(&progress);
        Ok(ResourceUpdateRow {
            position: position_key(position),
            ksuid: ru.resource.ksuid.clone(),
            operation: ru.operation.as_str().to_owned(),
            state: ru.state.as_str().to_owned(),
            completion,
            fixed,
            progress,
        })
    }

    /// Encodes the change to the resource update at `position`: its progress, and its fixed
    /// part when `fixed` (the message changed the resource). `last` is the size of each part
    /// when last written, to size the buffers.
    pub(crate) fn change(
        &mut self,
        position: usize,
        ru: &ResourceUpdate,
        completion: Completion,
        fixed: bool,
        last: RowSize,
    ) -> Result<ResourceUpdateChange, CodecError> {
        let fixed = if fixed {
            let text = codec::encode_update_fixed(ru, last.fixed)?;
            self.encoded(&text);
            Some(text)
        } else {
            None
        };
        let progress = codec::encode_update_progress(ru, last.progress)?;
        self.encoded(&progress);
        Ok(ResourceUpdateChange {
            position: position_key(position),
            state: ru.state.as_str().to_owned(),
            completion,
            fixed,
            progress,
        })
    }

    /// Encodes a whole new command, every resource update pending.
    pub(crate) fn stored(&mut self, command: &FormaCommand) -> Result<StoredCommand, CodecError> {
        let h = self.header_update(command, true)?;
        let header = CommandRow {
            id: command.id.clone(),
            command: command.command.as_str().to_owned(),
            state: h.state,
            client_id: Some(command.client_id.clone()),
            start_ts: h.start_ts,
            start_ts_ns: h.start_ts_ns,
            modified_ts: h.modified_ts,
            modified_ts_ns: h.modified_ts_ns,
            revision: 0,
            stored_bytes: 0,
            body: h.body.unwrap_or_default(),
            head: h.head,
        };
        let resource_updates = command
            .resource_updates
            .iter()
            .enumerate()
            .map(|(i, ru)| self.row(i, ru, Completion::Pending))
            .collect::<Result<Vec<ResourceUpdateRow>, _>>()?;
        let mut stored = StoredCommand { header, resource_updates };
        stored.header.stored_bytes = stored.json_bytes() as u64;
        Ok(stored)
    }

    /// Decodes a stored command into a cache entry.
    pub(crate) fn entry(&mut self, stored: StoredCommand) -> Result<Entry, StoreError> {
        let id = stored.header.id.clone();
        let corrupt = |field: String, e: CodecError| StoreError::Corrupt {
            id: id.clone(),
            field,
            source: Box::new(e),
        };
        self.decoded(&stored.header.body);
        let mut command = codec::decode_body(stored.header.body.as_bytes())
            .map_err(|e| corrupt("body".into(), e))?;
        self.decoded(&stored.header.head);
        codec::decode_head(stored.header.head.as_bytes())
            .map_err(|e| corrupt("head".into(), e))?
            .apply_to(&mut command);
        let header_bytes = (stored.header.body.len(), stored.header.head.len());
        let mut completions = Vec::with_capacity(stored.resource_updates.len());
        let mut ru_bytes = Vec::with_capacity(stored.resource_updates.len());
        command.resource_updates.reserve(stored.resource_updates.len());
        for row in &stored.resource_updates {
            self.decoded(&row.fixed);
            self.decoded(&row.progress);
            let ru = codec::decode_update_parts(row.fixed.as_bytes(), row.progress.as_bytes())
                .map_err(|e| corrupt(format!("resource_updates[{}]", row.position), e))?;
            command.resource_updates.push(ru);
            completions.push(row.completion);
            ru_bytes.push(RowSize::of(row));
        }
        let index = ResourceIndex::build(&command.resource_updates).map_err(|d| {
            StoreError::DuplicateKey {
                id: id.clone(),
                ksuid: d.ksuid,
                operation: d.operation.as_str().to_owned(),
            }
        })?;
        Ok(Entry::new(command, index, completions, stored.header.revision, header_bytes, ru_bytes))
    }
}

/// A position as stored.
fn position_key(position: usize) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}
