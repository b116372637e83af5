//! The mapping of sqlx and PostgreSQL errors, table-tested.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use sqlx::error::{DatabaseError, ErrorKind};

use super::*;

/// A database error with a chosen SQLSTATE and constraint.
#[derive(Debug)]
struct FakeDbError {
    code: &'static str,
    constraint: Option<&'static str>,
}

impl fmt::Display for FakeDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fake error {}", self.code)
    }
}

impl StdError for FakeDbError {}

impl DatabaseError for FakeDbError {
    fn message(&self) -> &str {
        "fake"
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.code))
    }
    fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
        self
    }
    fn constraint(&self) -> Option<&str> {
        self.constraint
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

fn sql(code: &'static str) -> sqlx::Error {
    sqlx::Error::Database(Box::new(FakeDbError { code, constraint: None }))
}

fn db(code: &'static str) -> Error {
    Error::Sql(sql(code))
}

fn unique(constraint: &'static str) -> Error {
    let error = FakeDbError { code: "23505", constraint: Some(constraint) };
    Error::Sql(sqlx::Error::Database(Box::new(error)))
}

/// What a mapped error must satisfy.
type Expect = fn(&StoreError) -> bool;

fn permanent(e: &StoreError) -> bool {
    matches!(e, StoreError::Backend { backend: "postgres", transient: false, .. })
}

#[test]
fn sqlx_errors_map_to_store_errors() {
    let big = || (String::from("body"), 7);
    let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    let cases: Vec<(Error, Expect)> = vec![
        (db("40001"), StoreError::is_transient),
        (db("40P01"), StoreError::is_transient),
        (db("08006"), StoreError::is_transient),
        (db("08P01"), StoreError::is_transient),
        (db("57P01"), StoreError::is_transient),
        (db("57P02"), StoreError::is_transient),
        (db("57P03"), StoreError::is_transient),
        (db("40001").in_command("c1", big), StoreError::is_transient),
        (Error::Sql(sqlx::Error::Io(io())), StoreError::is_transient),
        (Error::Sql(sqlx::Error::PoolTimedOut), StoreError::is_transient),
        (Error::Sql(sqlx::Error::PoolClosed), |e| {
            matches!(e, StoreError::Closed { backend: "postgres" }) && !e.is_transient()
        }),
        (Error::Sql(sqlx::Error::WorkerCrashed), StoreError::is_transient),
        (Error::Sql(sqlx::Error::Protocol("x".into())), StoreError::is_transient),
        (Error::Sql(sqlx::Error::Tls("x".into())), StoreError::is_transient),
        (db("22021"), permanent),
        (db("57014"), permanent),
        (Error::Sql(sqlx::Error::RowNotFound), permanent),
        (db("54000"), permanent),
        (db("54000").in_command("c1", big), |e| {
            matches!(e, StoreError::TooLarge { id, what, size: 7, limit: PG_MAX_LENGTH }
                if id == "c1" && what == "body")
        }),
        (unique(HEADER_PRIMARY_KEY), permanent),
        (
            unique(HEADER_PRIMARY_KEY).in_command("c1", big),
            |e| matches!(e, StoreError::AlreadyExists { id } if id == "c1"),
        ),
        (unique("resource_updates_pkey").in_command("c1", big), permanent),
        (Error::Store(StoreError::NotFound { id: "c1".into() }).in_command("c1", big), |e| {
            matches!(e, StoreError::NotFound { .. })
        }),
    ];
    for (index, (error, expected)) in cases.into_iter().enumerate() {
        let mapped = StoreError::from(error);
        assert!(expected(&mapped), "case {index}: unexpected mapping: {mapped:?}");
    }
}

/// One code of every SQLSTATE class PostgreSQL defines (Appendix A of its manual), with
/// whether a retry may succeed.
const SQLSTATE_CLASSES: &[(&str, bool)] = &[
    ("01000", false), // warning (never an error, mapped as permanent if seen)
    ("02000", false), // no data
    ("03000", false), // SQL statement not yet complete
    ("08000", true),  // connection exception
    ("08003", true),
    ("08006", true),
    ("08P01", true),
    ("09000", false), // triggered action exception
    ("0A000", false), // feature not supported
    ("0B000", false), // invalid transaction initiation
    ("0F000", false), // locator exception
    ("0L000", false), // invalid grantor
    ("0P000", false), // invalid role specification
    ("0Z000", false), // diagnostics exception
    ("20000", false), // case not found
    ("21000", false), // cardinality violation
    ("22001", false), // data exception
    ("22021", false),
    ("23502", false), // integrity constraint violation (23505: see the unique cases)
    ("24000", false), // invalid cursor state
    ("25000", false), // invalid transaction state
    ("25006", true),  // read_only_sql_transaction: a demoted primary
    ("25P02", false),
    ("26000", false), // invalid SQL statement name
    ("27000", false), // triggered data change violation
    ("28000", false), // invalid authorization specification
    ("28P01", false),
    ("2B000", false), // dependent privilege descriptors still exist
    ("2D000", false), // invalid transaction termination
    ("2F000", false), // SQL routine exception
    ("34000", false), // invalid cursor name
    ("38000", false), // external routine exception
    ("39000", false), // external routine invocation exception
    ("3B000", false), // savepoint exception
    ("3D000", false), // invalid catalog name
    ("3F000", false), // invalid schema name
    ("40000", false), // transaction rollback
    ("40001", true),
    ("40002", false),
    ("40003", false), // statement completion unknown: never sent by PostgreSQL itself
    ("40P01", true),
    ("42601", false), // syntax error or access rule violation
    ("42P01", false),
    ("44000", false), // with check option violation
    ("53000", true),  // insufficient resources
    ("53100", true),
    ("53200", true),
    ("53300", true),
    ("54001", false), // program limit exceeded (54000: see the size cases)
    ("55000", false), // object not in prerequisite state
    ("55P03", true),  // lock_not_available
    ("57000", false), // operator intervention
    ("57014", false), // query_canceled
    ("57P01", true),
    ("57P02", true),
    ("57P03", true),
    ("57P04", false), // database_dropped
    ("58000", false), // system error
    ("58030", false),
    ("72000", false), // snapshot failure
    ("F0000", false), // configuration file error
    ("HV000", false), // foreign data wrapper error
    ("P0001", false), // PL/pgSQL error
    ("XX000", false), // internal error
    ("XX001", false),
];

#[test]
fn every_sqlstate_class_is_classified() {
    for &(code, transient) in SQLSTATE_CLASSES {
        let mapped = StoreError::from(db(code));
        assert!(
            matches!(mapped, StoreError::Backend { transient: t, .. } if t == transient),
            "{code}: {mapped:?}"
        );
    }
}

#[test]
fn a_commit_without_the_servers_answer_has_an_unknown_outcome() {
    let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    let unknown =
        [sqlx::Error::Io(io()), sqlx::Error::Protocol("x".into()), sqlx::Error::WorkerCrashed];
    for error in unknown {
        let mapped = StoreError::from(Error::Commit(error));
        assert!(mapped.is_outcome_unknown() && !mapped.is_transient(), "{mapped:?}");
    }
    for code in ["57P01", "57P02", "08006"] {
        let mapped = StoreError::from(Error::Commit(sql(code)));
        assert!(mapped.is_outcome_unknown(), "{code}: {mapped:?}");
    }
    // The server's answer that the transaction rolled back is a plain error.
    for (code, transient) in [("40001", true), ("23503", false), ("40P01", true)] {
        let mapped = StoreError::from(Error::Commit(sql(code)));
        assert!(
            matches!(mapped, StoreError::Backend { transient: t, .. } if t == transient),
            "{code}: {mapped:?}"
        );
    }
}

#[test]
fn oversized_values_are_refused_before_sending() {
    assert!(check_size("c1", || "body".into(), PG_MAX_LENGTH).is_ok());
    let error = StoreError::from(
        check_size("c1", || "body".into(), PG_MAX_LENGTH + 1).expect_err("too large"),
    );
    assert!(matches!(error, StoreError::TooLarge { what, .. } if what == "body"));
}
