//! The columns of the tables every SQL backend creates (`forma_commands`, `resource_updates`
//! and, from version 5, `resource_update_progress`), by schema version: the one list both backends check a database
//! against before they migrate or use it.

use std::ops::Range;

/// A column's name with the schema versions that have it.
pub type Column = (&'static str, Range<i64>);

/// A table's name with its columns.
pub type Table = (&'static str, &'static [Column]);

/// The end of the version range of a column the newest schema still has.
const NOW: i64 = i64::MAX;

/// Every table of the SQL backends with its columns, each with the schema versions that have
/// it: from the migration that added it up to the one that removed or renamed it, excluded.
/// The SQL backends number their migrations alike, so a version means the same columns in
/// each.
pub const TABLE_COLUMNS: &[Table] = &[
    (
        "forma_commands",
        &[
            ("command_id", 1..NOW),
            ("command", 1..NOW),
            ("state", 1..NOW),
            ("client_id", 1..NOW),
            ("start_ts", 1..NOW),
            ("modified_ts", 1..NOW),
            ("revision", 1..NOW),
            ("body", 1..NOW),
            ("head", 1..NOW),
            ("start_ts_ns", 2..NOW),
            ("modified_ts_ns", 2..NOW),
            ("stored_bytes", 2..NOW),
        ],
    ),
    (
        "resource_updates",
        &[
            ("command_id", 1..NOW),
            ("position", 1..NOW),
            ("ksuid", 1..NOW),
            ("operation", 1..NOW),
            ("state", 1..NOW),
            ("completion", 1..NOW),
            ("data", 1..3),
            ("fixed", 3..NOW),
            ("progress", 3..5),
        ],
    ),
    (
        "resource_update_progress",
        &[("command_id", 5..NOW), ("position", 5..NOW), ("progress", 5..NOW)],
    ),
];

/// The columns a table of `columns` (an element of [`TABLE_COLUMNS`]) has at schema
/// `version`.
pub fn columns_at(columns: &[Column], version: i64) -> Vec<&'static str> {
    columns.iter().filter(|(_, v)| v.contains(&version)).map(|(name, _)| *name).collect()
}

/// Checks a table's `present` columns against those it has at `version`; returns what is
/// wrong, for [`StoreError::ForeignSchema`](crate::StoreError::ForeignSchema).
pub fn column_mismatch(columns: &[Column], version: i64, present: &[String]) -> Option<String> {
    let expected = columns_at(columns, version);
    if let Some(extra) = present.iter().find(|c| !expected.contains(&c.as_str())) {
        return Some(format!("column {extra} is not one of ours"));
    }
    expected
        .iter()
        .find(|c| !present.iter().any(|p| p == *c))
        .map(|missing| format!("column {missing} is missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_2_has_whole_rows_and_version_3_split_ones() {
        let updates = TABLE_COLUMNS[1].1;
        assert!(columns_at(updates, 2).contains(&"data"));
        let v3 = columns_at(updates, 3);
        assert!(v3.contains(&"fixed") && v3.contains(&"progress") && !v3.contains(&"data"));
        let present: Vec<String> = columns_at(updates, 2).into_iter().map(Into::into).collect();
        assert_eq!(column_mismatch(updates, 2, &present), None);
        assert_eq!(
            column_mismatch(updates, 3, &present),
            Some("column data is not one of ours".into())
        );
    }
}
