//! The `event_family!` macro: one line per event type keeps names, versions, encoding and
//! decoding of a family of events (one aggregate kind) in one place.

/// Declares an enum of events with their wire names and versions.
///
/// ```ignore
/// event_family! { ReferralEvent {
///     Received(ReferralReceived) = "referral.received" version 1,
/// } }
/// ```
macro_rules! event_family {
    ($(#[$meta:meta])* $name:ident { $($variant:ident($payload:ty) = $type_name:literal version $version:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $($variant($payload),)+
        }

        impl $name {
            /// Every `(type, version)` of this family.
            pub const CATALOGUE: &'static [(&'static str, u32)] = &[$(($type_name, $version),)+];

            /// The wire name of the event's type.
            pub fn type_name(&self) -> &'static str {
                match self { $(Self::$variant(_) => $type_name,)+ }
            }

            /// The schema version of the payload this code writes.
            pub fn version(&self) -> u32 {
                match self { $(Self::$variant(_) => $version,)+ }
            }

            /// The payload as JSON.
            pub fn to_data(&self) -> serde_json::Value {
                let value = match self { $(Self::$variant(p) => serde_json::to_value(p),)+ };
                value.expect("event payloads always serialise")
            }

            /// The payload as JSON text, written straight from the typed payload.
            pub fn to_raw(&self) -> Box<serde_json::value::RawValue> {
                let raw = match self { $(Self::$variant(p) => serde_json::value::to_raw_value(p),)+ };
                raw.expect("event payloads always serialise")
            }

            /// `None` when the type is not of this family.
            pub fn decode(
                event_type: &str,
                version: u32,
                data: $crate::Payload<'_>,
            ) -> Option<Result<Self, $crate::DecodeError>> {
                match event_type {
                    $($type_name => Some(if version == $version {
                        match data {
                            $crate::Payload::Value(v) => <$payload as serde::Deserialize>::deserialize(v),
                            $crate::Payload::Text(s) => serde_json::from_str::<$payload>(s),
                        }
                            .map(Self::$variant)
                            .map_err(|source| $crate::DecodeError::InvalidData {
                                event_type: event_type.to_owned(),
                                version,
                                source,
                            })
                    } else {
                        Err($crate::DecodeError::UnsupportedVersion {
                            event_type: event_type.to_owned(),
                            version,
                        })
                    }),)+
                    _ => None,
                }
            }
        }

        $(impl From<$payload> for $crate::Event {
            fn from(p: $payload) -> Self {
                $crate::Event::from($name::$variant(p))
            }
        })+
    };
}

pub(crate) use event_family;
