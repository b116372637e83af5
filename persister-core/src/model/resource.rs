//! [`Resource`], its [`Schema`] and [`FieldHint`].

use std::collections::BTreeMap;

use super::RawJson;
use crate::codec::go_struct::go_struct;

go_struct! {
    /// A cloud resource: the desired state of a resource update, or the existing one.
    pub struct Resource {
        /// The resource's label.
        label: String => "Label",
        /// Its group (kept; Go's hashing used to drop it).
        group: String => "Group" [omitempty],
        /// The resource type, for example `AWS::S3::Bucket`.
        resource_type: String => "Type",
        /// The stack label.
        stack: String => "Stack",
        /// The target label.
        target: String => "Target",
        /// The plugin's schema for the type.
        schema: Schema => "Schema",
        /// The properties (raw JSON object); `None` is written as `null`.
        properties: Option<RawJson> => "Properties",
        /// Read-only properties (raw JSON).
        read_only_properties: Option<RawJson> => "ReadOnlyProperties" [omitempty],
        /// An RFC 6902 patch document (raw JSON array).
        patch_document: Option<RawJson> => "PatchDocument" [omitempty],
        /// The cloud's native id.
        native_id: String => "NativeID" [omitempty],
        /// Whether formae manages the resource.
        managed: bool => "Managed" [omitempty],
        /// The resource's KSUID.
        ksuid: String => "Ksuid" [omitempty],
    }
}

go_struct! {
    /// The plugin's schema of a resource type.
    pub struct Schema {
        /// The identifier property.
        identifier: String => "Identifier",
        /// The tags property.
        tags: String => "Tags",
        /// The fields; `None` is written as `null`.
        fields: Option<Vec<String>> => "Fields",
        /// Whether the type cannot be provisioned.
        nonprovisionable: bool => "Nonprovisionable",
        /// Per-field hints; `None` is written as `null`.
        hints: Option<BTreeMap<String, FieldHint>> => "Hints",
        /// Whether the type is discoverable.
        discoverable: bool => "Discoverable",
        /// Whether the type is extractable.
        extractable: bool => "Extractable",
    }
}

go_struct! {
    /// Hints about one field of a schema. Newer agents add members such as `Opaque`, which are
    /// kept in `extra`.
    pub struct FieldHint {
        /// Only settable at creation.
        create_only: bool => "CreateOnly",
        /// Persisted.
        persist: bool => "Persist",
        /// Write-only.
        write_only: bool => "WriteOnly",
        /// Required.
        required: bool => "Required",
        /// Required on creation.
        required_on_create: bool => "RequiredOnCreate",
    }
}

impl FieldHint {
    /// True when a newer agent marked the field as opaque (`"Opaque": true`).
    pub fn is_opaque(&self) -> bool {
        self.extra.get("Opaque").is_some_and(|v| v.as_str().trim() == "true")
    }
}

impl Resource {
    /// The resource's URI, `formae://<ksuid>#`.
    pub fn uri(&self) -> String {
        format!("formae://{}#", self.ksuid)
    }
}
