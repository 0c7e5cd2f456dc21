//! `wire_enum!`: one list of variants and their wire spellings gives a closed
//! enum (what the server writes and stores) and, when asked, a lenient twin
//! (what a client reads: an unknown spelling is kept, not an error).

// The spellings are matched as `tt`, not `literal`: a `literal` fragment
// reaches a derive wrapped in an invisible group, which utoipa's derive does
// not read as `rename = "…"`, so the schema would show the variant names.

/// Declares a closed wire enum: `Copy`, serde with the given spellings,
/// `ALL`, `as_str`, `Display` and `FromStr` (erring with `$err`, which must
/// implement `From<&str>`). With `lenient $twin`, also declares `$twin`, the
/// same variants plus `Other(String)`, for readers that must survive a newer
/// server.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, error $err:ident, lenient $twin:ident {
            $($(#[$vmeta:meta])* $variant:ident => $wire:tt,)*
        }
    ) => {
        $crate::wire_enum::wire_enum! {
            $(#[$meta])*
            pub enum $name, error $err {
                $($(#[$vmeta])* $variant => $wire,)*
            }
        }
        $crate::wire_enum::wire_enum! {
            @lenient $name, $twin {
                $($(#[$vmeta])* $variant => $wire,)*
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident, error $err:ident {
            $($(#[$vmeta:meta])* $variant:ident => $wire:tt,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)*
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: [$name; [$($wire),*].len()] = [$($name::$variant),*];

            /// The wire (and storage) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $err;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)*
                    _ => Err($err::from(s)),
                }
            }
        }

    };
    (
        @lenient $name:ident, $twin:ident {
            $($(#[$vmeta:meta])* $variant:ident => $wire:tt,)*
        }
    ) => {
            #[doc = concat!("[`", stringify!($name), "`] as a reader takes it: a spelling this")]
            /// crate does not know yet is kept in `Other`, so a server that adds
            /// a value does not break older clients.
            #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
            #[serde(from = "String", into = "String")]
            pub enum $twin {
                $($(#[$vmeta])* $variant,)*
                /// A value this crate does not know yet.
                Other(String),
            }

            impl $twin {
                /// The wire spelling.
                pub fn as_str(&self) -> &str {
                    match self {
                        $($twin::$variant => $wire,)*
                        $twin::Other(other) => other,
                    }
                }

                #[doc = concat!("The [`", stringify!($name), "`], unless the value is unknown.")]
                pub fn known(&self) -> Option<$name> {
                    match self {
                        $($twin::$variant => Some($name::$variant),)*
                        $twin::Other(_) => None,
                    }
                }
            }

            impl From<$name> for $twin {
                fn from(value: $name) -> Self {
                    match value {
                        $($name::$variant => $twin::$variant,)*
                    }
                }
            }

            impl From<String> for $twin {
                fn from(s: String) -> Self {
                    match s.parse::<$name>() {
                        Ok(known) => known.into(),
                        Err(_) => $twin::Other(s),
                    }
                }
            }

            impl From<&str> for $twin {
                fn from(s: &str) -> Self {
                    $twin::from(s.to_owned())
                }
            }

            impl From<$twin> for String {
                fn from(value: $twin) -> String {
                    match value {
                        $twin::Other(other) => other,
                        known => known.as_str().to_owned(),
                    }
                }
            }

            impl PartialEq<$name> for $twin {
                fn eq(&self, other: &$name) -> bool {
                    self.known() == Some(*other)
                }
            }

            impl std::fmt::Display for $twin {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
    };
}

pub(crate) use wire_enum;
