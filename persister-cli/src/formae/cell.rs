//! [`Cell`]: one column value of a formae agent's row, whatever the driver gave, and how it
//! reads as the model's types, with the agent's storage quirks (section 4.3 of the
//! reference): JSON in TEXT, BLOB or NULL, times in two text formats, NULL booleans false.

use std::collections::HashMap;

use persister_core::{RawJson, Timestamp, codec};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// A column value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A boolean (PostgreSQL).
    Bool(bool),
    /// Text or a BLOB: bytes either way (the Go agent binds JSON as bytes).
    Bytes(Vec<u8>),
}

/// A row: its cells by column name.
pub(crate) type Row = HashMap<&'static str, Cell>;

/// A column that cannot be read as its type, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {reason}")]
pub(crate) struct ColumnError {
    /// The column (`resource_updates.resource`, ...), with the row's key when it has one.
    pub(crate) column: String,
    /// What is wrong.
    pub(crate) reason: String,
}

/// The mattn driver's text form of a `time.Time` parameter.
const SPACE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond digits:1+]]][offset_hour sign:mandatory]:[offset_minute]"
);

/// Reads cells of one row, naming the table in errors.
#[derive(Debug)]
pub(crate) struct Cells<'a> {
    /// The row.
    pub(crate) row: &'a Row,
    /// `forma_commands`, or `resource_updates (ksuid K, operation O)`.
    pub(crate) table: String,
}

impl Cells<'_> {
    fn cell(&self, column: &'static str) -> &Cell {
        self.row.get(column).unwrap_or(&Cell::Null)
    }

    fn error(&self, column: &str, reason: impl Into<String>) -> ColumnError {
        ColumnError { column: format!("{}.{column}", self.table), reason: reason.into() }
    }

    /// Text; NULL is `""`.
    pub(crate) fn text(&self, column: &'static str) -> Result<String, ColumnError> {
        match self.cell(column) {
            Cell::Null => Ok(String::new()),
            Cell::Bytes(b) => String::from_utf8(b.clone()).map_err(|e| {
                self.error(column, format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()))
            }),
            Cell::Int(i) => Ok(i.to_string()),
            other => Err(self.error(column, format!("text expected, found {other:?}"))),
        }
    }

    /// A string enum of the model; NULL is its empty value.
    pub(crate) fn parse<T: std::str::FromStr>(&self, column: &'static str) -> Result<T, ColumnError>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.text(column)?;
        text.parse().map_err(|e: T::Err| self.error(column, e.to_string()))
    }

    /// An integer; NULL is 0.
    pub(crate) fn int<T: TryFrom<i64>>(&self, column: &'static str) -> Result<T, ColumnError> {
        let value = match self.cell(column) {
            Cell::Null => 0,
            Cell::Int(i) => *i,
            Cell::Bool(b) => i64::from(*b),
            Cell::Bytes(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| self.error(column, "not an integer"))?,
        };
        T::try_from(value).map_err(|_| self.error(column, format!("{value} is out of range")))
    }

    /// A boolean: SQLite INTEGER or PostgreSQL BOOLEAN; NULL is false.
    pub(crate) fn flag(&self, column: &'static str) -> Result<bool, ColumnError> {
        match self.cell(column) {
            Cell::Bool(b) => Ok(*b),
            _ => self.int::<i64>(column).map(|i| i != 0),
        }
    }

    /// A time: RFC 3339 text, then the driver's space form (PostgreSQL's `TIMESTAMP` is read
    /// in that form, with `+00:00`); NULL is Go's zero time. Text in neither form is an error (the agent silently read it
    /// as the zero time; an import says so instead).
    pub(crate) fn time(&self, column: &'static str) -> Result<Timestamp, ColumnError> {
        let text = match self.cell(column) {
            Cell::Null => return Ok(Timestamp::ZERO),
            _ => self.text(column)?,
        };
        if text.is_empty() {
            return Ok(Timestamp::ZERO);
        }
        if let Ok(t) = Timestamp::parse(&text) {
            return Ok(t);
        }
        OffsetDateTime::parse(&text, SPACE_FORMAT)
            .map(Timestamp::from_datetime)
            .map_err(|_| self.error(column, format!("{text:?} is not a time")))
    }

    /// The bytes of a JSON column, `None` for NULL or empty (the agent decodes a column only
    /// when it is not empty).
    pub(crate) fn json_bytes(&self, column: &'static str) -> Result<Option<&[u8]>, ColumnError> {
        match self.cell(column) {
            Cell::Null => Ok(None),
            Cell::Bytes(b) if b.trim_ascii().is_empty() => Ok(None),
            Cell::Bytes(b) => Ok(Some(b)),
            other => Err(self.error(column, format!("JSON expected, found {other:?}"))),
        }
    }

    /// A JSON column decoded as a part of the model; NULL or empty is its zero value.
    pub(crate) fn part<T: codec::Part + Default>(
        &self,
        column: &'static str,
    ) -> Result<T, ColumnError> {
        match self.json_bytes(column)? {
            None => Ok(T::default()),
            Some(b) => codec::decode_part(b).map_err(|e| self.error(column, e.to_string())),
        }
    }

    /// A raw JSON column kept byte for byte; NULL or empty is `None` (Go's nil).
    pub(crate) fn raw(&self, column: &'static str) -> Result<Option<RawJson>, ColumnError> {
        let Some(bytes) = self.json_bytes(column)? else { return Ok(None) };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| self.error(column, format!("not UTF-8 at byte {}", e.valid_up_to())))?;
        RawJson::new(text).map(Some).map_err(|e| self.error(column, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::{Cell, Cells, Row};

    fn cells(row: &Row) -> Cells<'_> {
        Cells { row, table: "t".into() }
    }

    #[test]
    fn times_in_both_text_forms_typed_and_null() {
        let mut row = Row::new();
        row.insert("a", Cell::Bytes(b"2025-12-19 23:51:57.123+00:00".to_vec()));
        row.insert("b", Cell::Bytes(b"2025-12-19T23:51:57.123Z".to_vec()));
        row.insert("c", Cell::Bytes(b"2025-12-19 15:51:57-08:00".to_vec()));
        row.insert("d", Cell::Bytes(b"yesterday".to_vec()));
        let c = cells(&row);
        assert_eq!(
            c.time("a").map(|t| t.to_utc().to_string()),
            Ok("2025-12-19T23:51:57.123Z".into())
        );
        assert_eq!(c.time("b").map(|t| t.to_string()), Ok("2025-12-19T23:51:57.123Z".into()));
        assert_eq!(c.time("c").map(|t| t.to_utc().to_string()), Ok("2025-12-19T23:51:57Z".into()));
        assert!(c.time("d").is_err_and(|e| e.column == "t.d" && e.reason.contains("yesterday")));
        assert_eq!(c.time("missing").map(|t| t.is_zero()), Ok(true));
    }

    #[test]
    fn null_booleans_are_false_and_json_may_be_null_or_empty() {
        let mut row = Row::new();
        row.insert("one", Cell::Int(1));
        row.insert("empty", Cell::Bytes(Vec::new()));
        row.insert("raw", Cell::Bytes(b"{ \"a\" : 1 }".to_vec()));
        let c = cells(&row);
        assert_eq!(c.flag("one"), Ok(true));
        assert_eq!(c.flag("null"), Ok(false));
        assert_eq!(c.raw("empty"), Ok(None));
        assert_eq!(
            c.raw("raw").map(|r| r.map(|r| r.as_str().to_owned())),
            Ok(Some("{ \"a\" : 1 }".into()))
        );
    }
}
