//! The listings: [`list`] (full headers) and [`list_summaries`] (one query per page), both
//! filtered by the conditions [`push_conditions`] builds from a [`ListFilter`] and ordered by
//! exact `StartTs`.
//!
//! Only fixed fragments are appended to the queries; every value is bound.

use persister_core::{
    CommandRow, FINAL_COMMAND_STATES, ListFilter, SummaryColumns, SummaryPage, exact_key,
};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, QueryBuilder};

use crate::error::Error;
use crate::schema::{Micros, get, header_columns, nanos, read_header, unsigned};
use crate::session::Session;

/// The listing order: exact `StartTs` descending, then id descending (bytewise, `COLLATE "C"`).
const ORDER: &str = " ORDER BY start_ts DESC, start_ts_ns DESC, command_id DESC";

/// Lists the headers that pass `filter`, in the listing order, cut to its limit.
pub(crate) async fn list(
    pool: &PgPool,
    session: &Session,
    filter: &ListFilter,
) -> Result<Vec<CommandRow>, Error> {
    let mut query = QueryBuilder::<Postgres>::new(concat!(
        "SELECT ",
        header_columns!(),
        " FROM forma_commands WHERE TRUE"
    ));
    push_conditions(&mut query, filter);
    query.push(ORDER);
    if let Some(limit) = filter.limit {
        query.push(" LIMIT ").push_bind(i64::from(limit));
    }
    let mut tx = session.begin(pool).await?;
    let rows = session.built(query.build()).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    rows.iter().map(read_header).collect()
}

/// One page of summaries: the page's headers (one more than the limit, to know whether a
/// next page exists) joined with their resource update counts per state, in one statement.
pub(crate) async fn list_summaries(
    pool: &PgPool,
    session: &Session,
    filter: &ListFilter,
) -> Result<SummaryPage, Error> {
    let mut query = QueryBuilder::<Postgres>::new(
        "WITH page AS (SELECT command_id, command, state, client_id, start_ts, start_ts_ns, \
         modified_ts, modified_ts_ns, stored_bytes FROM forma_commands WHERE TRUE",
    );
    push_conditions(&mut query, filter);
    query.push(ORDER);
    if let Some(limit) = filter.limit {
        query.push(" LIMIT ").push_bind(i64::from(limit) + 1);
    }
    query.push(
        ") SELECT p.command_id, p.command, p.state, p.client_id, p.start_ts, p.start_ts_ns, \
         p.modified_ts, p.modified_ts_ns, p.stored_bytes, r.state, count(r.command_id) \
         FROM page AS p LEFT JOIN resource_updates AS r ON r.command_id = p.command_id \
         GROUP BY p.command_id, p.command, p.state, p.client_id, p.start_ts, p.start_ts_ns, \
         p.modified_ts, p.modified_ts_ns, p.stored_bytes, r.state \
         ORDER BY p.start_ts DESC, p.start_ts_ns DESC, p.command_id DESC",
    );
    let mut tx = session.begin(pool).await?;
    let rows = session.built(query.build()).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut columns: Vec<SummaryColumns> = Vec::new();
    for row in &rows {
        let id: String = get(row, 0, "?", "command_id")?;
        if columns.last().is_none_or(|c| c.id != id) {
            columns.push(SummaryColumns {
                command: get(row, 1, &id, "command")?,
                state: get(row, 2, &id, "state")?,
                client_id: get(row, 3, &id, "client_id")?,
                start_ts: get::<Micros>(row, 4, &id, "start_ts")?.0,
                start_ts_ns: nanos(row, 5, &id, "start_ts_ns")?,
                modified_ts: get::<Micros>(row, 6, &id, "modified_ts")?.0,
                modified_ts_ns: nanos(row, 7, &id, "modified_ts_ns")?,
                stored_bytes: unsigned(row, 8, &id, "stored_bytes")?,
                by_state: Vec::new(),
                id: id.clone(),
            });
        }
        let state: Option<String> = get(row, 9, &id, "resource_updates.state")?;
        let count = unsigned(row, 10, &id, "resource_updates")?;
        if let (Some(state), Some(last)) = (state, columns.last_mut())
            && count > 0
        {
            last.by_state.push((state, count));
        }
    }
    let limit = filter.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let more = limit.is_some_and(|l| columns.len() > l);
    if let Some(limit) = limit {
        columns.truncate(limit);
    }
    let summaries =
        columns.into_iter().map(SummaryColumns::summary).collect::<Result<Vec<_>, _>>()?;
    let next = if more { summaries.last().map(|s| s.cursor()) } else { None };
    Ok(SummaryPage { summaries, next })
}

/// Appends ` AND <condition>` for every condition of `filter`, after a `WHERE TRUE`.
fn push_conditions(query: &mut QueryBuilder<Postgres>, filter: &ListFilter) {
    if let Some(state) = filter.state {
        query.push(" AND state = ").push_bind(state.as_str());
    }
    if let Some(client_id) = &filter.client_id {
        query.push(" AND client_id = ").push_bind(client_id.clone());
    }
    if let Some(command) = filter.command {
        query.push(" AND command = ").push_bind(command.as_str());
    }
    for (bound, op) in [(filter.since, " >= ("), (filter.until, " < (")] {
        if let Some(t) = bound {
            let (micros, ns) = exact_key(t);
            query.push(" AND (start_ts, start_ts_ns)").push(op).push_bind(Micros(micros));
            query.push(", ").push_bind(i32::from(ns)).push(")");
        }
    }
    if filter.unfinished {
        query.push(" AND state <> ALL(").push_bind(&FINAL_COMMAND_STATES[..]).push(")");
    }
    if let Some(cursor) = &filter.after {
        let (micros, ns) = cursor.start_ts_key();
        query.push(" AND (start_ts, start_ts_ns, command_id) < (").push_bind(Micros(micros));
        query.push(", ").push_bind(i32::from(ns)).push(", ");
        query.push_bind(cursor.id().to_owned()).push(")");
    }
}
