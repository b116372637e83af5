//! Parts of a command on their own ([`Part`]): the JSON columns of databases that store a
//! command in pieces, such as a formae agent's `resource_updates` table.

use std::collections::BTreeMap;

use serde::{Serialize, de::DeserializeOwned};

use crate::error::CodecError;
use crate::model::{ProgressResult, Resource, Target, TargetUpdate};

/// A part of a command that is stored as a JSON document of its own: a [`Resource`], a
/// [`Target`], a [`ProgressResult`], a list of progress results or target updates, a list of
/// strings (`RemainingResolvables`) or a map of strings (`ReferenceLabels`).
///
/// Sealed: only the model's parts implement it.
pub trait Part: Serialize + DeserializeOwned + sealed::Sealed {
    /// What the part is called in error messages.
    const WHAT: &'static str;
}

mod sealed {
    /// Keeps [`Part`](super::Part) to the types of this module.
    pub trait Sealed {}
}

macro_rules! parts {
    ($($ty:ty => $what:literal,)*) => {
        $(
            impl sealed::Sealed for $ty {}
            impl Part for $ty {
                const WHAT: &'static str = $what;
            }
        )*
    };
}

parts! {
    Resource => "resource",
    Target => "target",
    ProgressResult => "progress result",
    Option<Vec<ProgressResult>> => "progress results",
    Option<Vec<TargetUpdate>> => "target updates",
    Option<Vec<String>> => "list of strings",
    Option<BTreeMap<String, String>> => "map of strings",
}

/// Decodes one part with Go's rules (the rules of the whole command's decoding).
///
/// # Errors
/// [`CodecError::Decode`] naming the part and the offending field.
pub fn decode_part<T: Part>(json: &[u8]) -> Result<T, CodecError> {
    super::decode(json, T::WHAT)
}

/// Encodes one part as the Go agent does.
///
/// # Errors
/// [`CodecError::Encode`] when a value cannot be written.
pub fn encode_part<T: Part>(part: &T) -> Result<String, CodecError> {
    super::encode(part, T::WHAT)
}
