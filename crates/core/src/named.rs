//! Enums whose values travel as fixed names (in JSON, the database, metrics labels
//! and the OpenAPI document): one declaration gives the serde names, `ALL`,
//! `as_str`, `parse` and the OpenAPI schema.

/// `named_enum! { /// doc  pub enum E { /// doc  A = "a", B = "b.c", } }`
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$doc:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$doc])* #[serde(rename = $value)] $variant, )*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name in the API, the database and the metrics.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $value,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($value => Some($name::$variant),)* _ => None }
            }
        }

        // By hand: the derive does not see serde's renames through a macro.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some($name::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

pub(crate) use named_enum;
