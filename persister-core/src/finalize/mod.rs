//! Finalization (decision D6): hash opaque values, then delete sync commands that changed
//! nothing, or store the hashed command.

mod opaque;
mod opaque_fields;

pub use opaque_fields::OpaqueFields;

use crate::error::CodecError;
use crate::model::{CommandKind, FormaCommand, ProgressResult, RawJson, Resource, ResourceUpdate};

pub use opaque::sha256_hex;

/// Which parts of a command hashing changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashed {
    /// Positions of resource updates whose JSON changed.
    pub resource_updates: Vec<usize>,
    /// Whether the body (an older command's `Forma.Resources`) changed.
    pub body: bool,
}

/// Hashes every opaque value of a final command in place.
///
/// # Errors
/// [`CodecError::Decode`] when a raw document is not valid JSON.
pub fn hash_command(
    command: &mut FormaCommand,
    fields: &OpaqueFields,
) -> Result<Hashed, CodecError> {
    let mut out = Hashed::default();
    for (i, ru) in command.resource_updates.iter_mut().enumerate() {
        if hash_resource_update(ru, fields)? {
            out.resource_updates.push(i);
        }
    }
    if let Some(forma) = &mut command.forma {
        for resource in &mut forma.resources {
            out.body |= hash_resource(resource, fields)?;
        }
    }
    Ok(out)
}

/// True when finalization deletes the command: a final sync command without resource versions.
pub fn should_delete(command: &FormaCommand) -> bool {
    command.command == CommandKind::Sync && command.is_final() && !command.has_resource_versions()
}

/// Hashes every opaque value of one resource update; true when anything changed.
pub fn hash_resource_update(
    ru: &mut ResourceUpdate,
    fields: &OpaqueFields,
) -> Result<bool, CodecError> {
    let names = opaque_names(&ru.resource, fields);
    let mut changed = hash_resource(&mut ru.resource, fields)?;
    changed |= hash_resource(&mut ru.existing_resource, fields)?;
    changed |= hash_raw(&mut ru.previous_properties, &names, "PreviousProperties")?;
    changed |= hash_progress(&mut ru.most_recent_progress_result, &names)?;
    for pr in ru.progress_result.iter_mut().flatten() {
        changed |= hash_progress(pr, &names)?;
    }
    Ok(changed)
}

/// Hashes a progress result's `ResourceProperties`; true when anything changed.
pub fn hash_progress(pr: &mut ProgressResult, names: &[String]) -> Result<bool, CodecError> {
    hash_raw(&mut pr.resource_properties, names, "ResourceProperties")
}

/// Hashes a resource's properties, read-only properties and patch document.
pub fn hash_resource(resource: &mut Resource, fields: &OpaqueFields) -> Result<bool, CodecError> {
    let names = opaque_names(resource, fields);
    let patch = match &resource.patch_document {
        Some(doc) => opaque::hash_patch(doc, resource.properties.as_ref(), &names)?,
        None => None,
    };
    let mut changed = hash_raw(&mut resource.properties, &names, "Properties")?;
    changed |= hash_raw(&mut resource.read_only_properties, &names, "ReadOnlyProperties")?;
    if let Some(doc) = patch {
        resource.patch_document = Some(doc);
        changed = true;
    }
    Ok(changed)
}

/// Hashes one raw properties document in place; true when it changed.
pub fn hash_raw(
    raw: &mut Option<RawJson>,
    names: &[String],
    what: &'static str,
) -> Result<bool, CodecError> {
    let Some(value) = raw else { return Ok(false) };
    match opaque::hash_properties(value, names, what)? {
        Some(hashed) => {
            *value = hashed;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Names opaque for a resource: the configured table for its type plus schema hints.
pub fn opaque_names(resource: &Resource, fields: &OpaqueFields) -> Vec<String> {
    let mut names = fields.for_type(&resource.resource_type).to_vec();
    if let Some(hints) = &resource.schema.hints {
        names.extend(hints.iter().filter(|(_, h)| h.is_opaque()).map(|(k, _)| k.clone()));
    }
    names
}

#[cfg(test)]
mod tests;
