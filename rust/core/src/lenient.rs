//! Lenient JSON field types: a value of an unexpected JSON type reads as absent.
//!
//! Provider payloads are read with `#[serde(default)]` structs whose fields use
//! these wrappers, so unknown fields are skipped and a field of the wrong type
//! never turns a valid chunk into an error. Strings are borrowed when the JSON
//! text has no escapes.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

macro_rules! ignore_others {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

macro_rules! ignore_ints {
    () => {
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

macro_rules! ignore_strs {
    () => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

macro_rules! ignore_seq {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

macro_rules! ignore_map {
    () => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// A JSON string (borrowed when possible); anything else is `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LStr<'a>(pub Option<Cow<'a, str>>);

impl<'a> LStr<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
    pub fn non_empty(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = LStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v))))
            }
            ignore_others!();
            ignore_ints!();
            ignore_seq!();
            ignore_map!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON integer, in `[-2**63, 2**64-1]` as serde_json reads them (floats
/// do not count); anything else is `None`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LInt(pub Option<i128>);

impl<'de> Deserialize<'de> for LInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LInt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E>(self, v: i64) -> Result<LInt, E> {
                Ok(LInt(Some(i128::from(v))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<LInt, E> {
                Ok(LInt(Some(i128::from(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<LInt, E> {
                Ok(LInt(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<LInt, E> {
                Ok(LInt(None))
            }
            fn visit_unit<E>(self) -> Result<LInt, E> {
                Ok(LInt(None))
            }
            fn visit_none<E>(self) -> Result<LInt, E> {
                Ok(LInt(None))
            }
            ignore_strs!();
            ignore_seq!();
            ignore_map!();
        }
        d.deserialize_any(V)
    }
}

/// A JSON boolean; anything else is `None`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LBool(pub Option<bool>);

impl<'de> Deserialize<'de> for LBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<LBool, E> {
                Ok(LBool(Some(v)))
            }
            fn visit_f64<E>(self, _: f64) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            fn visit_unit<E>(self) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            fn visit_none<E>(self) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            ignore_ints!();
            ignore_strs!();
            ignore_seq!();
            ignore_map!();
        }
        d.deserialize_any(V)
    }
}

/// A JSON object read as `T`; anything else is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct LObj<T>(pub Option<T>);

impl<T> Default for LObj<T> {
    fn default() -> Self {
        LObj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LObj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = LObj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Ok(LObj(Some(T::deserialize(MapAccessDeserializer::new(map))?)))
            }
            ignore_others!();
            ignore_ints!();
            ignore_strs!();
            ignore_seq!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON array of `T`; anything else is `None` (an empty list).
#[derive(Debug, Clone, PartialEq)]
pub struct LArr<T>(pub Option<Vec<T>>);

impl<T> Default for LArr<T> {
    fn default() -> Self {
        LArr(None)
    }
}

impl<T> LArr<T> {
    pub fn items(&self) -> &[T] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LArr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrVisitor(PhantomData))
    }
}

/// A JSON string or a JSON array of `T` (Chat Completions `content` is
/// either); anything else is neither.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LStrOrArr<'a, T> {
    Str(Cow<'a, str>),
    Arr(Vec<T>),
    #[default]
    Neither,
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for LStrOrArr<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = LStrOrArr<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LStrOrArr::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LStrOrArr::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(LStrOrArr::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                let LArr(items) = ArrVisitor::<T>(PhantomData).visit_seq(seq)?;
                Ok(LStrOrArr::Arr(items.unwrap_or_default()))
            }
            ignore_others!();
            ignore_ints!();
            ignore_map!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The `LArr` visitor, shared with `LStrOrArr`.
struct ArrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ArrVisitor<T> {
    type Value = LArr<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<T>()? {
            out.push(item);
        }
        Ok(LArr(Some(out)))
    }
    ignore_others!();
    ignore_ints!();
    ignore_strs!();
    ignore_map!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct T<'a> {
        #[serde(borrow)]
        s: LStr<'a>,
        n: LInt,
        o: LObj<Inner>,
        a: LArr<LInt>,
    }
    #[derive(Deserialize, Default, Debug, PartialEq)]
    #[serde(default)]
    struct Inner {
        x: LInt,
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let t: T = serde_json::from_str(r#"{"s": 1, "n": "x", "o": [1, {"a": 2}], "a": {"k": [1]}, "z": {"q": null}}"#)
            .unwrap();
        assert_eq!(t.s.0, None);
        assert_eq!(t.n.0, None);
        assert_eq!(t.o.0, None);
        assert_eq!(t.a.0, None);
        let t: T =
            serde_json::from_str(r#"{"s": "h\u00e9", "n": 5, "o": {"x": 2, "y": 1}, "a": [1, "b", 3]}"#).unwrap();
        assert_eq!(t.s.as_deref(), Some("hé"));
        assert_eq!(t.n.0, Some(5));
        assert_eq!(t.o.0, Some(Inner { x: LInt(Some(2)) }));
        assert_eq!(t.a.items(), &[LInt(Some(1)), LInt(None), LInt(Some(3))]);
        assert!(serde_json::from_str::<T>(r#"{"s": "x""#).is_err());
    }
}
