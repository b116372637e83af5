//! Declarative macros that give model types Go `encoding/json` behaviour.
//!
//! `go_struct!` writes a struct whose JSON form follows Go's rules: keys in declaration order,
//! `omitempty` per field, case-insensitive key matching on decode (exact match first), `null`
//! leaving a scalar or struct as it was and making a slice, map or pointer nil, the last
//! value of a repeated key replacing the earlier one (Go would merge two objects or maps), and unknown members kept in
//! [`UnknownFields`](crate::UnknownFields) and written back after the known ones.
//! A field may carry a part tag after its key (`state: CommandState => "State" {head},`): the
//! generated [`Split`](super::stored::Split) impl writes and moves the fields of one
//! [`Part`](super::stored::Part) alone, which is how a
//! command's stored body and head are derived from its declaration.
//! `go_enum!` writes a string enum whose unknown spellings are a decode error naming the type.

use serde::de::{self, MapAccess};

use crate::model::{RawJson, Timestamp};

/// How a model field is read from a JSON object and when `omitempty` drops it.
pub(crate) trait GoField: Sized {
    /// Reads the value of the current map entry into `self`. JSON `null` leaves a non-pointer
    /// scalar or struct unchanged and makes a slice, map or pointer nil, as in Go (this
    /// matters when a key repeats). Any other value replaces the field whole, where Go would
    /// merge a repeated object or map into the earlier one.
    fn decode_into<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error>;
    /// Go's notion of an empty value for `omitempty`.
    fn is_empty(&self) -> bool;
    /// Makes values that encode identically compare equal, for fields without `omitempty`
    /// (a raw `null` and a nil raw value both encode as `null`).
    fn canonicalize(&mut self) {}
}

/// A map key read without copying when the input allows it.
pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// Non-pointer fields, which JSON `null` leaves unchanged, as Go does.
macro_rules! null_keeps_value {
    ($($ty:ty => |$v:ident| $empty:expr;)*) => {$(
        impl $crate::codec::go_struct::GoField for $ty {
            fn decode_into<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                map: &mut A,
            ) -> Result<(), A::Error> {
                if let Some(value) = map.next_value::<Option<$ty>>()? {
                    *self = value;
                }
                Ok(())
            }
            fn is_empty(&self) -> bool {
                let $v = self;
                $empty
            }
        }
    )*};
}
pub(crate) use null_keeps_value;

null_keeps_value! {
    String => |v| v.is_empty();
    bool => |v| !*v;
    u16 => |v| *v == 0;
    i16 => |v| *v == 0;
    i64 => |v| *v == 0;
    Timestamp => |_v| false;
}

/// A Go map written as absent when nil or empty (`omitempty`): `null` makes it nil, that is
/// empty.
impl GoField for std::collections::BTreeMap<String, String> {
    fn decode_into<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        *self = map.next_value::<Option<Self>>()?.unwrap_or_default();
        Ok(())
    }
    fn is_empty(&self) -> bool {
        std::collections::BTreeMap::is_empty(self)
    }
}

/// A Go slice whose nil and empty values are both written as absent (`omitempty`): `null`
/// makes it nil, that is empty.
impl<T: de::DeserializeOwned> GoField for Vec<T> {
    fn decode_into<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        *self = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
        Ok(())
    }
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

/// A Go slice or map whose nil value is written as `null` (distinct from an empty one).
impl<T: de::DeserializeOwned> GoField for Option<Vec<T>> {
    fn decode_into<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        *self = map.next_value::<Option<Vec<T>>>()?;
        Ok(())
    }
    fn is_empty(&self) -> bool {
        self.as_ref().is_none_or(Vec::is_empty)
    }
}

impl<K: Ord + de::DeserializeOwned, V: de::DeserializeOwned> GoField
    for Option<std::collections::BTreeMap<K, V>>
{
    fn decode_into<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        *self = map.next_value()?;
        Ok(())
    }
    fn is_empty(&self) -> bool {
        self.as_ref().is_none_or(std::collections::BTreeMap::is_empty)
    }
}

/// A Go `json.RawMessage`: `None` is nil; JSON `null` decodes to the raw value `null`.
impl GoField for Option<RawJson> {
    fn decode_into<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        *self = Some(map.next_value::<RawJson>()?);
        Ok(())
    }
    fn is_empty(&self) -> bool {
        self.is_none()
    }
    fn canonicalize(&mut self) {
        if self.as_ref().is_some_and(RawJson::is_null) {
            *self = None;
        }
    }
}

/// Declares a Go-shaped struct; see the module documentation.
macro_rules! go_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty => $key:literal $([$omit:ident])? $({$part:ident})?,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Members this version does not model, kept and written back after the known ones.
            pub extra: $crate::model::UnknownFields,
        }

        // A Go struct is never empty for `omitempty`.
        $crate::codec::go_struct::null_keeps_value! {
            $name => |_v| false;
        }

        impl $crate::codec::go_struct::GoField for Option<$name> {
            fn decode_into<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                map: &mut A,
            ) -> Result<(), A::Error> {
                *self = map.next_value::<Option<$name>>()?;
                Ok(())
            }
            fn is_empty(&self) -> bool {
                self.is_none()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                $(
                    if $crate::codec::go_struct::go_struct!(@keep self.$field $(, $omit)?) {
                        m.serialize_entry($key, &self.$field)?;
                    }
                )*
                for (k, v) in self.extra.iter() {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }

        impl $crate::codec::stored::Split for $name {
            #[cfg(test)]
            const FIELDS: &'static [(&'static str, $crate::codec::stored::Part)] = &[
                $( ($key, $crate::codec::go_struct::go_struct!(@part $($part)?)), )*
            ];

            fn serialize_part<S: serde::Serializer>(
                &self,
                part: $crate::codec::stored::Part,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                $(
                    if $crate::codec::go_struct::go_struct!(@part $($part)?) == part
                        && $crate::codec::go_struct::go_struct!(@keep self.$field $(, $omit)?)
                    {
                        m.serialize_entry($key, &self.$field)?;
                    }
                )*
                if part == $crate::codec::stored::Part::Body {
                    for (k, v) in self.extra.iter() {
                        m.serialize_entry(k, v)?;
                    }
                }
                m.end()
            }

            fn move_part(self, part: $crate::codec::stored::Part, into: &mut Self) {
                $(
                    if $crate::codec::go_struct::go_struct!(@part $($part)?) == part {
                        into.$field = self.$field;
                    }
                )*
                if part == $crate::codec::stored::Part::Body {
                    into.extra = self.extra;
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a JSON object for ", stringify!($name)))
                    }
                    #[allow(unused_mut, reason = "structs without fields do not mutate")]
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        use $crate::codec::go_struct::GoField;
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<$crate::codec::go_struct::Key<'de>>()? {
                            let key = key.as_str();
                            $(
                                if key == $key {
                                    GoField::decode_into(&mut out.$field, &mut map).map_err(|e| {
                                        <A::Error as serde::de::Error>::custom(format_args!("{}: {}", $key, e))
                                    })?;
                                    $crate::codec::go_struct::go_struct!(@canon out.$field $(, $omit)?);
                                    continue;
                                }
                            )*
                            $(
                                if key.eq_ignore_ascii_case($key) {
                                    GoField::decode_into(&mut out.$field, &mut map).map_err(|e| {
                                        <A::Error as serde::de::Error>::custom(format_args!("{}: {}", $key, e))
                                    })?;
                                    $crate::codec::go_struct::go_struct!(@canon out.$field $(, $omit)?);
                                    continue;
                                }
                            )*
                            let value = map.next_value::<$crate::model::RawJson>()?;
                            out.extra.insert(key, value);
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
    (@part) => { $crate::codec::stored::Part::Body };
    (@part head) => { $crate::codec::stored::Part::Head };
    (@part rows) => { $crate::codec::stored::Part::Rows };
    (@canon $v:expr) => { $crate::codec::go_struct::GoField::canonicalize(&mut $v) };
    (@canon $v:expr, omitempty) => { () };
    (@keep $v:expr) => { true };
    (@keep $v:expr, omitempty) => { !$crate::codec::go_struct::GoField::is_empty(&$v) };
}
pub(crate) use go_struct;

/// Declares a Go string enum; `""` is the `Unspecified` variant (Go's zero value).
macro_rules! go_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            /// The empty string: Go's zero value, "not set".
            #[default]
            Unspecified,
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, `Unspecified` first.
            pub const ALL: &'static [$name] = &[$name::Unspecified, $($name::$variant),*];

            /// The exact string Go uses for this value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $name::Unspecified => "",
                    $( $name::$variant => $text, )*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::model::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    "" => Ok($name::Unspecified),
                    $( $text => Ok($name::$variant), )*
                    other => Err($crate::model::UnknownVariant {
                        kind: stringify!($name),
                        value: other.to_owned(),
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let key = $crate::codec::go_struct::Key::deserialize(d)?;
                key.as_str().parse().map_err(<D::Error as serde::de::Error>::custom)
            }
        }

        $crate::codec::go_struct::null_keeps_value! {
            $name => |v| *v == $name::Unspecified;
        }
    };
}
pub(crate) use go_enum;
