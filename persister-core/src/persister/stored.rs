//! Conversion between a cached command and its stored rows.

use crate::cache::{Entry, ResourceIndex};
use crate::codec;
use crate::error::{CodecError, StoreError};
use crate::model::{FormaCommand, ResourceUpdate};
use crate::store::{
    CommandRow, Completion, HeaderUpdate, ResourceUpdateRow, StoredCommand, exact_key,
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

    /// Encodes one resource update row.
    pub(crate) fn row(
        &mut self,
        position: usize,
        ru: &ResourceUpdate,
        completion: Completion,
        size_hint: usize,
    ) -> Result<ResourceUpdateRow, CodecError> {
        let data = if size_hint == 0 {
            codec::encode_resource_update(ru)?
        } else {
            codec::encode_sized(ru, "resource update", size_hint + size_hint / 8 + 256)?
        };
        self.encoded(&data);
        Ok(ResourceUpdateRow {
            position: i64::try_from(position).unwrap_or(i64::MAX),
            ksuid: ru.resource.ksuid.clone(),
            operation: ru.operation.as_str().to_owned(),
            state: ru.state.as_str().to_owned(),
            completion,
            data,
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
            .map(|(i, ru)| self.row(i, ru, Completion::Pending, 0))
            .collect::<Result<Vec<ResourceUpdateRow>, _>>()?;
        let mut header = header;
        let rows: usize = resource_updates.iter().map(|r| r.data.len()).sum();
        header.stored_bytes = (header.body.len() + header.head.len() + rows) as u64;
        Ok(StoredCommand { header, resource_updates })
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
            self.decoded(&row.data);
            let ru = codec::decode_resource_update(row.data.as_bytes())
                .map_err(|e| corrupt(format!("resource_updates[{}]", row.position), e))?;
            command.resource_updates.push(ru);
            completions.push(row.completion);
            ru_bytes.push(row.data.len());
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
