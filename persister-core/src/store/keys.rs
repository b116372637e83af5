//! Decision D1: the resource updates of one command never repeat a (KSUID, operation) key.
//!
//! [`check_unique_keys`] is the check every store runs on insert; the cache's index applies
//! the same rule through [`first_repeated_key`], so a command the store accepts is one the
//! cache can index, and the other way round.

use std::collections::HashSet;

use super::ResourceUpdateRow;
use crate::error::StoreError;

/// Checks that no two of `rows` share a (KSUID, operation) key (decision D1).
///
/// Keys compare as exact strings. A store calls it on every insert, before writing anything.
///
/// # Errors
/// [`StoreError::DuplicateKey`] for command `id`, naming the key of the first row whose key
/// an earlier row already has.
pub fn check_unique_keys(id: &str, rows: &[ResourceUpdateRow]) -> Result<(), StoreError> {
    match first_repeated_key(rows.iter().map(|r| (r.ksuid.as_str(), r.operation.as_str()))) {
        None => Ok(()),
        Some(i) => Err(StoreError::DuplicateKey {
            id: id.to_owned(),
            ksuid: rows[i].ksuid.clone(),
            operation: rows[i].operation.clone(),
        }),
    }
}

/// The index of the first (KSUID, operation) key in `keys` that an earlier key equals, or
/// `None` when all are distinct: the rule behind [`check_unique_keys`].
pub(crate) fn first_repeated_key<'a>(
    keys: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> Option<usize> {
    let mut seen = HashSet::with_capacity(keys.len());
    keys.enumerate().find_map(|(i, key)| (!seen.insert(key)).then_some(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Completion;

    fn row(position: i64, ksuid: &str, operation: &str) -> ResourceUpdateRow {
        ResourceUpdateRow {
            position,
            ksuid: ksuid.into(),
            operation: operation.into(),
            state: "NotStarted".into(),
            completion: Completion::Pending,
            fixed: "{}".into(),
            progress: "{}".into(),
        }
    }

    fn check(keys: &[(&str, &str)], expected: Option<(&str, &str)>) {
        let rows: Vec<_> = keys.iter().zip(0..).map(|((k, o), p)| row(p, k, o)).collect();
        let got = match check_unique_keys("c", &rows) {
            Ok(()) => None,
            Err(StoreError::DuplicateKey { id, ksuid, operation }) => {
                assert_eq!(id, "c");
                Some((ksuid, operation))
            }
            Err(other) => panic!("unexpected error {other}"),
        };
        let expected = expected.map(|(k, o)| (k.to_owned(), o.to_owned()));
        assert_eq!(got, expected, "keys {keys:?}");
    }

    #[test]
    fn no_rows_are_unique() {
        check(&[], None);
    }

    #[test]
    fn a_replace_pair_of_one_ksuid_is_unique() {
        check(&[("a", "delete"), ("a", "create"), ("b", "create")], None);
    }

    #[test]
    fn the_first_repeat_is_named() {
        check(
            &[("a", "create"), ("b", "update"), ("b", "update"), ("a", "create")],
            Some(("b", "update")),
        );
    }

    #[test]
    fn keys_compare_as_exact_strings() {
        check(&[("a", "create"), ("A", "create"), ("a", "Create"), ("", "create")], None);
        check(&[("", ""), ("", "")], Some(("", "")));
    }
}
