//! Support for the shapes `ministack-codegen` generates from a plugin's model
//! (see the crate README, "Shapes from the model").
//!
//! A plugin's `build.rs` writes them to `OUT_DIR`:
//!
//! ```text
//! fn main() {
//!     ministack_codegen::Codegen::new("model/service-2.json").write("shapes.rs");
//! }
//! ```
//!
//! and `lib.rs` includes them as a module with [`include_shapes!`](crate::include_shapes):
//! `ministack_sdk::include_shapes!(pub mod shapes);`. `cargo doc -p <plugin>
//! --open` shows the generated types.

use serde::Serialize;

use crate::AwsError;

/// A `document` member: any JSON.
pub use serde_json::Value;

/// Includes the shapes a build script generated as `$OUT_DIR/<name>.rs`
/// into a module named `<name>`: `include_shapes!(pub mod shapes);`.
#[macro_export]
macro_rules! include_shapes {
    ($vis:vis mod $name:ident) => {
        /// Input, output and error shapes generated from the model at build time.
        #[allow(clippy::upper_case_acronyms, clippy::large_enum_variant, dead_code)]
        $vis mod $name {
            include!(concat!(env!("OUT_DIR"), "/", stringify!($name), ".rs"));
        }
    };
}

/// A string enum of the model: one variant per listed value and
/// `Unknown(String)` for any other, (de)serialized as the string.
///
/// ```
/// ministack_sdk::shape_enum! {
///     /// `QueueType` (enum).
///     QueueType { Standard = "STANDARD", Fifo = "FIFO" }
/// }
/// assert_eq!(QueueType::from("FIFO"), QueueType::Fifo);
/// assert_eq!(QueueType::from("other"), QueueType::Unknown("other".into()));
/// assert_eq!(QueueType::Standard.as_str(), "STANDARD");
/// assert_eq!(QueueType::default(), QueueType::Standard);
/// ```
#[macro_export]
macro_rules! shape_enum {
    ($(#[$meta:meta])* $name:ident {
        $first:ident = $first_value:literal $(, $variant:ident = $value:literal)* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            #[doc = $first_value]
            $first,
            $(#[doc = $value] $variant,)*
            /// A value the model does not list, kept as sent.
            Unknown(::std::string::String),
        }

        impl $name {
            /// Every value the model lists, in model order.
            pub const VALUES: &'static [&'static str] = &[$first_value $(, $value)*];

            /// The value as on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    Self::$first => $first_value,
                    $(Self::$variant => $value,)*
                    Self::Unknown(other) => other,
                }
            }

            /// Whether the model lists this value.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::core::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $first_value => Self::$first,
                    $($value => Self::$variant,)*
                    other => Self::Unknown(other.to_string()),
                }
            }
        }

        impl ::core::convert::From<::std::string::String> for $name {
            fn from(value: ::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl ::core::default::Default for $name {
            /// The first value the model lists.
            fn default() -> Self {
                Self::$first
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::cmp::PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl ::core::cmp::PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let value: ::std::borrow::Cow<'de, str> =
                    $crate::__private::serde::Deserialize::deserialize(deserializer)?;
                Ok(Self::from(value.as_ref()))
            }
        }
    };
}

/// The [`AwsError`] for a generated error shape: `code` is the shape's name
/// (the codec finds its status and, for query-compatible services, its
/// `error.code`), the `message`/`Message` member is the message and the other
/// set members are the error's extra members.
pub fn aws_error(code: &str, sender_fault: bool, shape: &impl Serialize) -> AwsError {
    let mut error = AwsError::new(code, "").sender_fault(sender_fault);
    if let Ok(Value::Object(members)) = serde_json::to_value(shape) {
        for (name, value) in members {
            match value {
                Value::String(message) if name.eq_ignore_ascii_case("message") => {
                    error.message = message;
                }
                Value::Null => {}
                value => error = error.with_member(&name, value),
            }
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::shape_enum! {
        /// Test enum.
        Kind { StandardIa = "STANDARD_IA", AwsKms = "aws:kms" }
    }

    #[test]
    fn enums_are_their_strings() {
        assert_eq!(serde_json::to_string(&Kind::AwsKms).unwrap(), "\"aws:kms\"");
        let k: Kind = serde_json::from_str("\"other\"").unwrap();
        assert_eq!(k, Kind::Unknown("other".into()));
        assert!(!k.is_known());
        assert_eq!(k.to_string(), "other");
        assert!(Kind::StandardIa == "STANDARD_IA");
        assert_eq!(Kind::VALUES, &["STANDARD_IA", "aws:kms"]);
        let keys: std::collections::BTreeMap<Kind, u8> =
            serde_json::from_str(r#"{"aws:kms": 1, "x": 2}"#).unwrap();
        assert_eq!(keys[&Kind::AwsKms], 1);
    }

    #[derive(Serialize)]
    struct NotThere {
        #[serde(rename = "Message")]
        message: Option<String>,
        #[serde(rename = "Resource", skip_serializing_if = "Option::is_none")]
        resource: Option<String>,
        #[serde(rename = "Code")]
        code: Option<String>,
    }

    #[test]
    fn error_shapes_become_aws_errors() {
        let e = aws_error(
            "NotThere",
            true,
            &NotThere {
                message: Some("gone".into()),
                resource: Some("r1".into()),
                code: None,
            },
        );
        assert_eq!(e.code, "NotThere");
        assert_eq!(e.message, "gone");
        assert!(e.sender_fault);
        assert_eq!(e.status, None);
        let extra = e.extra.unwrap();
        assert_eq!(extra.get("Resource"), Some(&Value::String("r1".into())));
        assert!(!extra.contains_key("Code"));
        assert!(
            !aws_error(
                "Boom",
                false,
                &NotThere {
                    message: None,
                    resource: None,
                    code: None
                }
            )
            .sender_fault
        );
    }
}
