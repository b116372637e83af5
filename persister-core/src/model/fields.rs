//! [`UnknownFields`]: members of a JSON object that the model does not name.

use super::RawJson;

/// JSON members a model type does not know, in the order they were read.
///
/// They come from newer Go agents (for example `StackUpdates` or `IsCascade`) and are written
/// back unchanged, after the known members, so a load and rewrite loses nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnknownFields(Vec<(String, RawJson)>);

impl UnknownFields {
    /// Sets `key` to `value`; a key read twice keeps the last value, as Go does.
    pub fn insert(&mut self, key: &str, value: RawJson) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&RawJson> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Iterates over the members in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawJson)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no unknown members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
