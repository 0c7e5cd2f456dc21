//! What a database record says about a place, whatever its layout.
//!
//! MaxMind-format files share a binary format, not a schema: GeoLite2 and
//! DB-IP nest localized names (`city.names.en`, `subdivisions[0]`,
//! `country.iso_code`), the `@ip-location-db` packages use flat strings
//! (`city`, `state1`, `country_code`, with `""` for unknown). The decoder
//! below reads every layout it recognizes and skips anything else, including
//! fields of an unexpected type, so an odd record yields less, never an error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The parts of a record usher shows; each may be missing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: Option<String>,
}

/// A nested place (`{"names": {"en": …}, "iso_code": …}`) or a plain string.
#[derive(Debug, Default)]
struct Place {
    name: Option<String>,
    iso_code: Option<String>,
}

/// A string that is not empty; any other value reads as absent.
#[derive(Debug, Default)]
struct Text(Option<String>);

/// The English name of a `names` map, or another one when English is missing.
#[derive(Debug, Default)]
struct Names(Option<String>);

/// The first place of a list (`subdivisions`), or a lone place.
#[derive(Debug, Default)]
struct FirstPlace(Place);

impl Record {
    fn is_empty(&self) -> bool {
        self.city.is_none()
            && self.region.is_none()
            && self.country.is_none()
            && self.country_code.is_none()
    }

    /// `None` when the record names nothing usher shows.
    pub fn into_known(self) -> Option<Self> {
        (!self.is_empty()).then_some(self)
    }
}

/// An ISO 3166-1 alpha-2 code, upper case; anything else is not one.
fn country_code(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| raw.to_ascii_uppercase())
}

fn text(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// Visitor methods that accept any scalar as "nothing here".
macro_rules! ignore_other_values {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A map key, read without allocating when the decoder lends its bytes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_owned().into()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(text(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                skip_map(map).map(|()| Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text, A::Error> {
                skip_seq(seq).map(|()| Text(None))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of names by language")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Names, E> {
                Ok(Names(text(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Names, A::Error> {
                let (mut english, mut other) = (None, None);
                while let Some(Key(language)) = map.next_key()? {
                    let Text(name) = map.next_value()?;
                    if language == "en" {
                        english = name;
                    } else if other.is_none() {
                        other = name;
                    }
                }
                Ok(Names(english.or(other)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Names, A::Error> {
                skip_seq(seq).map(|()| Names(None))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V)
    }
}

struct PlaceVisitor;

impl<'de> Visitor<'de> for PlaceVisitor {
    type Value = Place;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a place")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Place, E> {
        Ok(Place {
            name: text(v),
            iso_code: None,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Place, A::Error> {
        let mut place = Place::default();
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "names" => place.name = map.next_value::<Names>()?.0.or(place.name),
                "name" => place.name = place.name.or(map.next_value::<Text>()?.0),
                "iso_code" => place.iso_code = map.next_value::<Text>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(place)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Place, A::Error> {
        skip_seq(seq).map(|()| Place::default())
    }
    ignore_other_values!();
}

impl<'de> Deserialize<'de> for Place {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PlaceVisitor)
    }
}

impl<'de> Deserialize<'de> for FirstPlace {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstPlace;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of places")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstPlace, A::Error> {
                let first = seq.next_element::<Place>()?.unwrap_or_default();
                skip_seq(seq)?;
                Ok(FirstPlace(first))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FirstPlace, A::Error> {
                PlaceVisitor.visit_map(map).map(FirstPlace)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FirstPlace, E> {
                PlaceVisitor.visit_str(v).map(FirstPlace)
            }
            ignore_other_values!();
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Record;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a location record")
            }
            // Some country databases store just the code.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Record, E> {
                let fields = Fields {
                    flat_code: text(v),
                    ..Fields::default()
                };
                Ok(fields.into_record())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
                let mut fields = Fields::default();
                while let Some(Key(key)) = map.next_key()? {
                    match &*key {
                        "city" | "city_name" => fields.city = map.next_value::<Place>()?.name,
                        "subdivisions" => fields.subdivision = map.next_value::<FirstPlace>()?.0,
                        "state1" | "region" | "region_name" | "state" | "subdivision" => {
                            fields.flat_region = fields.flat_region.or(map.next_value::<Text>()?.0)
                        }
                        "country" => fields.country = map.next_value()?,
                        "registered_country" => fields.registered = map.next_value()?,
                        "country_code" | "country_iso_code" => {
                            fields.flat_code = map.next_value::<Text>()?.0
                        }
                        "country_name" => fields.flat_country = map.next_value::<Text>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(fields.into_record())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Record, A::Error> {
                skip_seq(seq).map(|()| Record::default())
            }
            ignore_other_values!();
        }
        d.deserialize_any(V)
    }
}

/// Everything a record may say, before the layouts are reconciled.
#[derive(Default)]
struct Fields {
    city: Option<String>,
    subdivision: Place,
    flat_region: Option<String>,
    country: Place,
    registered: Place,
    flat_code: Option<String>,
    flat_country: Option<String>,
}

impl Fields {
    fn into_record(self) -> Record {
        // The country where the address is used; failing that, the one it is
        // registered to (GeoLite2 leaves `country` out for some networks).
        let located = self.country.iso_code.as_deref().and_then(country_code);
        let flat = self.flat_code.as_deref().and_then(country_code);
        let (code, name) = match (located, flat) {
            (Some(code), _) => (Some(code), self.country.name),
            (None, Some(code)) => (Some(code), self.flat_country.or(self.country.name)),
            (None, None) => match self.registered.iso_code.as_deref().and_then(country_code) {
                Some(code) => (Some(code), self.registered.name),
                // A country given only by name, or as a bare code string.
                None => match self.country.name {
                    Some(name) => match country_code(&name) {
                        Some(code) => (Some(code), None),
                        None => (None, Some(name)),
                    },
                    None => (None, self.flat_country),
                },
            },
        };
        let country = name.or_else(|| {
            code.as_deref()
                .and_then(super::countries::name)
                .map(str::to_owned)
        });
        Record {
            city: self.city,
            region: self.subdivision.name.or(self.flat_region),
            country,
            country_code: code,
        }
    }
}
