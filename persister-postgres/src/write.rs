//! The write path: [`write`] applies a batch of inserts, applies and deletes in one
//! transaction; each single write of the store is a batch of one.
//!
//! Rows of one command are written with one statement per table: the values are bound as
//! arrays and expanded with `UNNEST`. Writes run at READ COMMITTED and are fenced by `revision`
//! in their `WHERE` clause: PostgreSQL re-checks that clause against the newest committed row,
//! so of two writers holding the same revision exactly one succeeds. Every value is bound;
//! identifiers are string literals in this file and never come from input.

use std::collections::{HashMap, HashSet};

use persister_core::{
    BatchWrite, Checkpoint, ResourceUpdateChange, StoreError, StoredCommand, WriteOp,
    check_unique_keys, coalesce,
};
use sqlx::postgres::{PgBindIterExt, PgConnection, PgPool};

use crate::error::{Error, check_size, corrupt};
use crate::schema::Micros;
use crate::session::Session;

/// Bytes each array element costs on the wire besides its text (length word, integers).
const ROW_OVERHEAD: usize = 64;

/// Applies `ops` in one transaction; the first error rolls all of them back.
///
/// Ops are grouped by command and consecutive applies of one command merged
/// ([`persister_core::coalesce`], which says why that is allowed and what errors it keeps), so
/// a group-committed batch costs three statements per command instead of three per message.
pub(crate) async fn write(pool: &PgPool, session: &Session, ops: &[WriteOp]) -> Result<(), Error> {
    if ops.is_empty() {
        return Ok(());
    }
    let mut tx = session.begin(pool).await?;
    for op in coalesce(ops) {
        match op {
            BatchWrite::Insert(command) => insert(&mut tx, session, command)
                .await
                .map_err(|e| e.in_command(&command.header.id, || largest_value(command)))?,
            BatchWrite::Apply(checkpoint, increment) => {
                apply(&mut tx, session, &checkpoint, increment).await.map_err(|e| {
                    e.in_command(&checkpoint.command_id, || {
                        let h = &checkpoint.header;
                        let body = h.body.as_ref().map_or(0, String::len);
                        largest(
                            [("head", h.head.len()), ("body", body)],
                            checkpoint.resource_updates.iter().flat_map(|r| {
                                let fixed = r.fixed.as_ref().map_or(0, String::len);
                                [
                                    (r.position, "fixed", fixed),
                                    (r.position, "progress", r.progress.len()),
                                ]
                            }),
                        )
                    })
                })?;
            }
            BatchWrite::Delete(id, expected_revision) => {
                delete(&mut tx, session, id, expected_revision).await?;
            }
        }
    }
    tx.commit().await.map_err(Error::Commit)?;
    Ok(())
}

/// Inserts a command at revision 0 with its resource updates: three statements, one per table.
async fn insert(
    tx: &mut PgConnection,
    session: &Session,
    command: &StoredCommand,
) -> Result<(), Error> {
    let h = &command.header;
    let rows = &command.resource_updates;
    let exists: bool = session
        .query_scalar("SELECT EXISTS (SELECT 1 FROM forma_commands WHERE command_id = $1)")
        .bind(&h.id)
        .fetch_one(&mut *tx)
        .await?;
    if exists {
        return Err(StoreError::AlreadyExists { id: h.id.clone() }.into());
    }
    check_unique_keys(&h.id, rows)?;
    let client_id = h.client_id.as_ref().map_or(0, String::len);
    let header_size =
        [&h.id, &h.command, &h.state, &h.body, &h.head].map(|s| s.len()).iter().sum::<usize>()
            + client_id;
    check_size(&h.id, || "header".into(), header_size)?;
    let rows_size = rows
        .iter()
        .map(|r| {
            r.ksuid.len()
                + r.operation.len()
                + r.state.len()
                + r.fixed.len()
                + r.progress.len()
                + ROW_OVERHEAD
        })
        .sum();
    check_size(&h.id, || "resource updates".into(), rows_size)?;

    session
        .query(
            "INSERT INTO forma_commands (command_id, command, state, client_id, start_ts, \
         modified_ts, revision, body, head, start_ts_ns, modified_ts_ns, stored_bytes) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11)",
        )
        .bind(&h.id)
        .bind(&h.command)
        .bind(&h.state)
        .bind(h.client_id.as_deref())
        .bind(Micros(h.start_ts))
        .bind(Micros(h.modified_ts))
        .bind(&h.body)
        .bind(&h.head)
        .bind(i32::from(h.start_ts_ns))
        .bind(i32::from(h.modified_ts_ns))
        .bind(i64::try_from(h.stored_bytes).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    if !rows.is_empty() {
        session
            .query(
                "INSERT INTO resource_updates (command_id, position, ksuid, operation, state, \
             completion, fixed) \
             SELECT $1, u.position, u.ksuid, u.operation, u.state, u.completion, u.fixed \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::smallint[], \
             $7::text[]) AS u(position, ksuid, operation, state, completion, fixed)",
            )
            .bind(&h.id)
            .bind(rows.iter().map(|r| r.position).bind_iter())
            .bind(rows.iter().map(|r| &r.ksuid).bind_iter())
            .bind(rows.iter().map(|r| &r.operation).bind_iter())
            .bind(rows.iter().map(|r| &r.state).bind_iter())
            .bind(rows.iter().map(|r| r.completion.code()).bind_iter())
            .bind(rows.iter().map(|r| &r.fixed).bind_iter())
            .execute(&mut *tx)
            .await?;
        session
            .query(
                "INSERT INTO resource_update_progress (command_id, position, progress) \
             SELECT $1, u.position, u.progress \
             FROM UNNEST($2::bigint[], $3::text[]) AS u(position, progress)",
            )
            .bind(&h.id)
            .bind(rows.iter().map(|r| r.position).bind_iter())
            .bind(rows.iter().map(|r| &r.progress).bind_iter())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Applies a checkpoint: the header if its revision matches, then every listed row's
/// progress, then the rows whose state, completion or fixed part changed, in three statements.
async fn apply(
    tx: &mut PgConnection,
    session: &Session,
    checkpoint: &Checkpoint,
    increment: i64,
) -> Result<(), Error> {
    let id = &checkpoint.command_id;
    let h = &checkpoint.header;
    let header_size = h.state.len() + h.head.len() + h.body.as_ref().map_or(0, String::len);
    check_size(id, || "header".into(), header_size)?;
    // Rows are applied in order, so when a position is listed twice the last one wins, with
    // the last fixed part any of them wrote.
    let rows = last_per_position(&checkpoint.resource_updates);
    let rows_size = rows
        .iter()
        .map(|r| {
            r.last.state.len() + r.fixed.map_or(0, str::len) + r.last.progress.len() + ROW_OVERHEAD
        })
        .sum();
    check_size(id, || "resource updates".into(), rows_size)?;

    let updated = session
        .query(
            "UPDATE forma_commands SET state = $3, start_ts = $4, modified_ts = $5, head = $6, \
         body = COALESCE($7, body), revision = revision + $8, start_ts_ns = $9, \
         modified_ts_ns = $10, stored_bytes = $11 WHERE command_id = $1 AND revision = $2",
        )
        .bind(id)
        .bind(checkpoint.expected_revision)
        .bind(&h.state)
        .bind(Micros(h.start_ts))
        .bind(Micros(h.modified_ts))
        .bind(&h.head)
        .bind(h.body.as_deref())
        .bind(increment)
        .bind(i32::from(h.start_ts_ns))
        .bind(i32::from(h.modified_ts_ns))
        .bind(i64::try_from(h.stored_bytes).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(missing_or_conflict(tx, session, id, checkpoint.expected_revision).await);
    }
    if !rows.is_empty() {
        let positions: Vec<i64> = session
            .query_scalar(
                "UPDATE resource_update_progress AS p SET progress = u.progress \
             FROM UNNEST($2::bigint[], $3::text[]) AS u(position, progress) \
             WHERE p.command_id = $1 AND p.position = u.position \
             RETURNING p.position",
            )
            .bind(id)
            .bind(rows.iter().map(|r| r.last.position).bind_iter())
            .bind(rows.iter().map(|r| &r.last.progress).bind_iter())
            .fetch_all(&mut *tx)
            .await?;
        // The row with the fixed part gets a new version only when something in it changes.
        session
            .query(
                "UPDATE resource_updates AS r \
             SET state = u.state, completion = u.completion, fixed = COALESCE(u.fixed, r.fixed) \
             FROM UNNEST($2::bigint[], $3::text[], $4::smallint[], $5::text[]) \
               AS u(position, state, completion, fixed) \
             WHERE r.command_id = $1 AND r.position = u.position \
               AND (r.state IS DISTINCT FROM u.state \
                 OR r.completion IS DISTINCT FROM u.completion OR u.fixed IS NOT NULL)",
            )
            .bind(id)
            .bind(rows.iter().map(|r| r.last.position).bind_iter())
            .bind(rows.iter().map(|r| &r.last.state).bind_iter())
            .bind(rows.iter().map(|r| r.last.completion.code()).bind_iter())
            .bind(rows.iter().map(|r| r.fixed).bind_iter())
            .execute(&mut *tx)
            .await?;
        if positions.len() != rows.len() {
            let updated: HashSet<i64> = positions.into_iter().collect();
            let missing = checkpoint
                .resource_updates
                .iter()
                .map(|r| r.position)
                .find(|p| !updated.contains(p))
                .unwrap_or_default();
            return Err(corrupt(
                id,
                format!("resource_updates[{missing}]"),
                "no resource update row at this position",
            ));
        }
    }
    Ok(())
}

/// Deletes a command (its rows cascade) if its revision is `expected_revision`.
async fn delete(
    tx: &mut PgConnection,
    session: &Session,
    id: &str,
    expected_revision: i64,
) -> Result<(), Error> {
    let deleted = session
        .query("DELETE FROM forma_commands WHERE command_id = $1 AND revision = $2")
        .bind(id)
        .bind(expected_revision)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(missing_or_conflict(tx, session, id, expected_revision).await);
    }
    Ok(())
}

/// Why a write fenced on `expected` matched no row: the command is gone, or its revision moved.
async fn missing_or_conflict(
    tx: &mut PgConnection,
    session: &Session,
    id: &str,
    expected: i64,
) -> Error {
    let found: Result<Option<i64>, _> = session
        .query_scalar("SELECT revision FROM forma_commands WHERE command_id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await;
    match found {
        Ok(None) => StoreError::NotFound { id: id.to_owned() }.into(),
        Ok(Some(found)) => StoreError::Conflict { id: id.to_owned(), expected, found }.into(),
        Err(e) => e.into(),
    }
}

/// What the changes listed for one position amount to: the last of them, with the last fixed
/// part any of them wrote (a change without one keeps the one before).
#[derive(Debug)]
struct RowEffect<'a> {
    /// The last change of the position.
    last: &'a ResourceUpdateChange,
    /// The fixed part to write, if any change wrote one.
    fixed: Option<&'a str>,
}

/// The effect of `rows` on each position they change, in the order of their last changes.
fn last_per_position(rows: &[ResourceUpdateChange]) -> Vec<RowEffect<'_>> {
    let mut index: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    let mut effects: Vec<Option<RowEffect<'_>>> = Vec::with_capacity(rows.len());
    for row in rows {
        let previous = index
            .insert(row.position, effects.len())
            .and_then(|before| effects.get_mut(before).and_then(Option::take))
            .and_then(|effect| effect.fixed);
        effects.push(Some(RowEffect { last: row, fixed: row.fixed.as_deref().or(previous) }));
    }
    effects.into_iter().flatten().collect()
}

/// The name and size of the largest value of a command, for [`StoreError::TooLarge`].
fn largest_value(command: &StoredCommand) -> (String, usize) {
    let h = &command.header;
    let rows = command.resource_updates.iter().flat_map(|r| {
        [(r.position, "fixed", r.fixed.len()), (r.position, "progress", r.progress.len())]
    });
    largest([("body", h.body.len()), ("head", h.head.len())], rows)
}

/// The name and size of the largest of the header values and the rows' parts (position,
/// part and size).
fn largest<const N: usize>(
    header: [(&str, usize); N],
    rows: impl Iterator<Item = (i64, &'static str, usize)>,
) -> (String, usize) {
    let header = header.into_iter().map(|(name, size)| (name.to_owned(), size));
    let rows =
        rows.map(|(position, part, size)| (format!("resource_updates[{position}].{part}"), size));
    header.chain(rows).max_by_key(|(_, size)| *size).unwrap_or_default()
}

#[cfg(test)]
mod tests;
