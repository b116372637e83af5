//! [`OpaqueFields`]: property names hashed even when they are bare values.

use std::collections::HashMap;

/// Top-level property names that are always opaque for a resource type, even when the value
/// is not wrapped in an `Opaque` envelope.
///
/// The default is the table the Go agent hard-codes (AWS Secrets Manager and RDS passwords).
/// Schema hints marked `Opaque` are added per resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpaqueFields {
    by_type: HashMap<String, Vec<String>>,
}

impl Default for OpaqueFields {
    fn default() -> Self {
        Self::empty()
            .with("AWS::SecretsManager::Secret", ["SecretString"])
            .with("AWS::RDS::DBInstance", ["MasterUserPassword", "TdeCredentialPassword"])
            .with("AWS::RDS::DBCluster", ["MasterUserPassword"])
            .with("AWS::RDS::DatabaseRole", ["Password"])
    }
}

impl OpaqueFields {
    /// No field is opaque by name; only envelopes are hashed.
    pub fn empty() -> Self {
        Self { by_type: HashMap::new() }
    }

    /// Adds `fields` as opaque for `resource_type`.
    #[must_use]
    pub fn with<I, S>(mut self, resource_type: &str, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.by_type
            .entry(resource_type.to_owned())
            .or_default()
            .extend(fields.into_iter().map(Into::into));
        self
    }

    /// The opaque field names for `resource_type`.
    pub fn for_type(&self, resource_type: &str) -> &[String] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }
}
