//! The listings: [`list`] (full headers) and [`list_summaries`] (one query per page), both
//! filtered by one WHERE clause built from a [`ListFilter`] and ordered by exact `StartTs`.
//!
//! Every value is bound as a parameter; the clause is made of string literals only.

use persister_core::{
    CommandRow, FINAL_COMMAND_STATES, ListFilter, SummaryColumns, SummaryPage, exact_key,
};
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::error::Error;
use crate::schema::{HEADER_COLUMNS, integer, nanos, optional_text, read_header, text, unsigned};

/// The listing order: exact `StartTs` descending, then id descending (bytewise).
const ORDER: &str = "ORDER BY start_ts DESC, start_ts_ns DESC, command_id DESC";

/// Lists the headers that pass `filter`, in the listing order, cut to its limit.
pub(crate) fn list(conn: &mut Connection, filter: &ListFilter) -> Result<Vec<CommandRow>, Error> {
    let (clause, mut values) = conditions(filter);
    // A negative limit means no limit in SQLite.
    values.push(Value::Integer(filter.limit.map_or(-1, i64::from)));
    let sql = format!(
        "SELECT {HEADER_COLUMNS} FROM forma_commands{clause} {ORDER} LIMIT ?{}",
        values.len()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
    let mut headers = Vec::new();
    while let Some(row) = rows.next()? {
        headers.push(read_header(row)?);
    }
    Ok(headers)
}

/// One page of summaries: the page's headers (one more than the limit, to know whether a
/// next page exists) joined with their resource update counts per state, in one statement.
/// The counts are read from the `(command_id, state)` index, one range per command of the
/// page, which yields them already grouped: grouping the joined rows instead sorted every
/// resource update of the page (about 9,800 for 50 commands of 196), six times the cost.
pub(crate) fn list_summaries(
    conn: &mut Connection,
    filter: &ListFilter,
) -> Result<SummaryPage, Error> {
    let (clause, mut values) = conditions(filter);
    let limit = filter.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    values.push(Value::Integer(filter.limit.map_or(-1, |l| i64::from(l) + 1)));
    let sql = format!(
        "WITH page AS (SELECT command_id, command, state, client_id, start_ts, start_ts_ns, \
         modified_ts, modified_ts_ns, stored_bytes FROM forma_commands{clause} {ORDER} \
         LIMIT ?{}), \
         counts AS (SELECT command_id, state, count(*) AS n FROM resource_updates \
         WHERE command_id IN (SELECT command_id FROM page) GROUP BY command_id, state) \
         SELECT p.command_id, p.command, p.state, p.client_id, p.start_ts, p.start_ts_ns, \
         p.modified_ts, p.modified_ts_ns, p.stored_bytes, r.state, coalesce(r.n, 0) \
         FROM page AS p LEFT JOIN counts AS r ON r.command_id = p.command_id \
         ORDER BY p.start_ts DESC, p.start_ts_ns DESC, p.command_id DESC, r.state",
        values.len()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
    let mut columns: Vec<SummaryColumns> = Vec::new();
    while let Some(row) = rows.next()? {
        let id = text(row, 0, "?", "command_id")?;
        if columns.last().is_none_or(|c| c.id != id) {
            columns.push(SummaryColumns {
                command: text(row, 1, &id, "command")?,
                state: text(row, 2, &id, "state")?,
                client_id: optional_text(row, 3, &id, "client_id")?,
                start_ts: integer(row, 4, &id, "start_ts")?,
                start_ts_ns: nanos(row, 5, &id, "start_ts_ns")?,
                modified_ts: integer(row, 6, &id, "modified_ts")?,
                modified_ts_ns: nanos(row, 7, &id, "modified_ts_ns")?,
                stored_bytes: unsigned(row, 8, &id, "stored_bytes")?,
                by_state: Vec::new(),
                id: id.clone(),
            });
        }
        let count = unsigned(row, 10, &id, "resource_updates")?;
        if let (Some(state), Some(last)) =
            (optional_text(row, 9, &id, "resource_updates.state")?, columns.last_mut())
            && count > 0
        {
            last.by_state.push((state, count));
        }
    }
    let more = limit.is_some_and(|l| columns.len() > l);
    if let Some(limit) = limit {
        columns.truncate(limit);
    }
    let summaries =
        columns.into_iter().map(SummaryColumns::summary).collect::<Result<Vec<_>, _>>()?;
    let next = if more { summaries.last().map(|s| s.cursor()) } else { None };
    Ok(SummaryPage { summaries, next })
}

/// The WHERE clause of `filter` (empty when it has no condition) and its values, numbered
/// from `?1`.
fn conditions(filter: &ListFilter) -> (String, Vec<Value>) {
    let mut parts: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let bind = |values: &mut Vec<Value>, value: Value| {
        values.push(value);
        format!("?{}", values.len())
    };
    if let Some(state) = filter.state {
        parts.push(format!("state = {}", bind(&mut values, Value::Text(state.as_str().into()))));
    }
    if let Some(client_id) = &filter.client_id {
        parts.push(format!("client_id = {}", bind(&mut values, Value::Text(client_id.clone()))));
    }
    if let Some(command) = filter.command {
        let p = bind(&mut values, Value::Text(command.as_str().into()));
        parts.push(format!("command = {p}"));
    }
    for (bound, op) in [(filter.since, ">="), (filter.until, "<")] {
        if let Some(t) = bound {
            let (micros, ns) = exact_key(t);
            let m = bind(&mut values, Value::Integer(micros));
            let n = bind(&mut values, Value::Integer(ns.into()));
            parts.push(format!("(start_ts, start_ts_ns) {op} ({m}, {n})"));
        }
    }
    if filter.unfinished {
        let names: Vec<String> = FINAL_COMMAND_STATES
            .iter()
            .map(|s| bind(&mut values, Value::Text((*s).to_owned())))
            .collect();
        parts.push(format!("state NOT IN ({})", names.join(", ")));
    }
    if let Some(cursor) = &filter.after {
        let (micros, ns) = cursor.start_ts_key();
        let m = bind(&mut values, Value::Integer(micros));
        let n = bind(&mut values, Value::Integer(ns.into()));
        let i = bind(&mut values, Value::Text(cursor.id().to_owned()));
        parts.push(format!("(start_ts, start_ts_ns, command_id) < ({m}, {n}, {i})"));
    }
    let clause =
        if parts.is_empty() { String::new() } else { format!(" WHERE {}", parts.join(" AND ")) };
    (clause, values)
}
