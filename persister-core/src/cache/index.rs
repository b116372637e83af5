//! [`ResourceIndex`]: O(1) lookup from (KSUID, operation) to a resource update's position.

use std::collections::HashMap;

use crate::model::{Operation, ResourceUpdate};
use crate::store::first_repeated_key;

/// Maps (KSUID, operation) to the position of the resource update with that key.
///
/// A KSUID has at most a few entries (the two halves of a replace), so a lookup is one hash
/// probe and a scan of at most a handful of pairs.
#[derive(Debug, Default, Clone)]
pub(crate) struct ResourceIndex {
    by_ksuid: HashMap<String, Vec<(Operation, usize)>>,
}

/// Two resource updates share a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    pub(crate) ksuid: String,
    pub(crate) operation: Operation,
}

impl ResourceIndex {
    /// Builds the index, rejecting a repeated (KSUID, operation) key (decision D1) by the
    /// rule every store applies on insert ([`check_unique_keys`](crate::check_unique_keys)).
    pub(crate) fn build(resource_updates: &[ResourceUpdate]) -> Result<Self, DuplicateKey> {
        let keys =
            resource_updates.iter().map(|ru| (ru.resource.ksuid.as_str(), ru.operation.as_str()));
        if let Some(i) = first_repeated_key(keys) {
            let ru = &resource_updates[i];
            return Err(DuplicateKey { ksuid: ru.resource.ksuid.clone(), operation: ru.operation });
        }
        let mut by_ksuid: HashMap<String, Vec<(Operation, usize)>> =
            HashMap::with_capacity(resource_updates.len());
        for (position, ru) in resource_updates.iter().enumerate() {
            by_ksuid.entry(ru.resource.ksuid.clone()).or_default().push((ru.operation, position));
        }
        Ok(Self { by_ksuid })
    }

    /// The position of the resource update with this key.
    pub(crate) fn get(&self, ksuid: &str, operation: Operation) -> Option<usize> {
        self.by_ksuid.get(ksuid)?.iter().find(|(op, _)| *op == operation).map(|(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::{DuplicateKey, ResourceIndex};
    use crate::model::{Operation, ResourceUpdate};

    fn ru(ksuid: &str, operation: Operation) -> ResourceUpdate {
        let mut ru = ResourceUpdate { operation, ..ResourceUpdate::default() };
        ru.resource.ksuid = ksuid.to_owned();
        ru
    }

    fn check(rus: &[(&str, Operation)], lookups: &[(&str, Operation, Option<usize>)]) {
        let rus: Vec<_> = rus.iter().map(|(k, o)| ru(k, *o)).collect();
        let index = ResourceIndex::build(&rus).expect("no duplicates");
        for (ksuid, op, expected) in lookups {
            assert_eq!(index.get(ksuid, *op), *expected, "lookup ({ksuid}, {op})");
        }
    }

    #[test]
    fn replace_pair_of_one_ksuid() {
        check(
            &[("a", Operation::Delete), ("a", Operation::Create), ("b", Operation::Update)],
            &[
                ("a", Operation::Delete, Some(0)),
                ("a", Operation::Create, Some(1)),
                ("a", Operation::Update, None),
                ("b", Operation::Update, Some(2)),
                ("c", Operation::Create, None),
            ],
        );
    }

    #[test]
    fn empty_ksuid_is_a_key() {
        check(&[("", Operation::Read)], &[("", Operation::Read, Some(0))]);
    }

    #[test]
    fn duplicate_keys_rejected() {
        let rus =
            [ru("a", Operation::Create), ru("b", Operation::Create), ru("a", Operation::Create)];
        assert_eq!(
            ResourceIndex::build(&rus).err(),
            Some(DuplicateKey { ksuid: "a".into(), operation: Operation::Create })
        );
    }
}
