//! The crate's values in PostgreSQL's binary format: parameters encoded for
//! the type the server inferred for each, and any column read as a `ValueRef`
//! (text and bytes borrowed from the row).

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type};

use crate::value::ValueRef;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Whether `value` can be sent as a parameter of type `ty`, or why not.
#[cfg(test)]
fn check(value: ValueRef<'_>, ty: &Type) -> Result<(), String> {
    let mut scratch = BytesMut::new();
    encode(value, ty, &mut scratch)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The JSONB binary format's version byte.
const JSONB_VERSION: u8 = 1;

/// Appends `value` to `out` in the binary format of type `ty`, or says why
/// it cannot be sent as one (out of range, NUL in text, another kind).
pub(super) fn encode(
    value: ValueRef<'_>,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, BoxError> {
    let out_of_range = |v: &dyn std::fmt::Display| -> BoxError {
        format!("{v} is out of range for a PostgreSQL {}", ty.name()).into()
    };
    match value {
        ValueRef::Null => return Ok(IsNull::Yes),
        ValueRef::Integer(i) => match *ty {
            Type::INT8 => out.extend_from_slice(&i.to_be_bytes()),
            Type::INT4 => {
                let v = i32::try_from(i).map_err(|_| out_of_range(&i))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
            Type::INT2 => {
                let v = i16::try_from(i).map_err(|_| out_of_range(&i))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
            Type::FLOAT8 => out.extend_from_slice(&(i as f64).to_be_bytes()),
            Type::FLOAT4 => out.extend_from_slice(&(i as f32).to_be_bytes()),
            // The bool an integer stands for in SQLite-minded raw SQL.
            Type::BOOL if i == 0 || i == 1 => out.extend_from_slice(&[i as u8]),
            _ => return Err(wrong(value, ty)),
        },
        ValueRef::Real(f) => match *ty {
            Type::FLOAT8 => out.extend_from_slice(&f.to_be_bytes()),
            Type::FLOAT4 => out.extend_from_slice(&(f as f32).to_be_bytes()),
            _ => return Err(wrong(value, ty)),
        },
        ValueRef::Bool(b) => match *ty {
            Type::BOOL => out.extend_from_slice(&[u8::from(b)]),
            Type::INT8 => out.extend_from_slice(&i64::from(b).to_be_bytes()),
            Type::INT4 => out.extend_from_slice(&i32::from(b).to_be_bytes()),
            Type::INT2 => out.extend_from_slice(&i16::from(b).to_be_bytes()),
            _ => return Err(wrong(value, ty)),
        },
        ValueRef::Text(t) => match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
                out.extend_from_slice(utf8(t)?)
            }
            Type::JSONB => {
                let text = utf8(t)?;
                if escapes_nul(text) {
                    return Err(
                        "PostgreSQL's JSONB cannot hold the NUL character (the JSON \
                                escape \\u0000) in a string, which JSON text and SQLite store"
                            .into(),
                    );
                }
                out.extend_from_slice(&[JSONB_VERSION]);
                out.extend_from_slice(text);
            }
            Type::TIMESTAMPTZ | Type::TIMESTAMP | Type::DATE | Type::UUID => {
                encode_temporal(t, ty, out)?
            }
            _ => return Err(wrong(value, ty)),
        },
        ValueRef::Blob(b) => match *ty {
            Type::BYTEA => out.extend_from_slice(b),
            Type::UUID if b.len() == 16 => out.extend_from_slice(b),
            _ => return Err(wrong(value, ty)),
        },
    }
    Ok(IsNull::No)
}

/// Microseconds (and days) from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400_000_000;

/// A timestamp, date or UUID in doctable's text form (what its column types
/// bind, `crate::temporal`) in PostgreSQL's binary format.
fn encode_temporal(t: &[u8], ty: &Type, out: &mut BytesMut) -> Result<(), BoxError> {
    use crate::temporal::{parse_date, parse_micros, parse_uuid};
    let unreadable = || -> BoxError {
        format!(
            "the text '{}' is not a PostgreSQL {} in doctable's form (bind a doctable \
             time or UUID column type, or cast the parameter in SQL)",
            String::from_utf8_lossy(t),
            ty.name()
        )
        .into()
    };
    match *ty {
        Type::TIMESTAMPTZ | Type::TIMESTAMP => {
            let micros = parse_micros(t, b"Z")
                .or_else(|| parse_micros(t, b""))
                .ok_or_else(unreadable)?;
            out.extend_from_slice(&(micros - PG_EPOCH_MICROS).to_be_bytes());
        }
        Type::DATE => {
            let days = parse_date(t).ok_or_else(unreadable)?;
            let days = i32::try_from(days - PG_EPOCH_DAYS).map_err(|_| unreadable())?;
            out.extend_from_slice(&days.to_be_bytes());
        }
        _ => out.extend_from_slice(&parse_uuid(t).ok_or_else(unreadable)?),
    }
    Ok(())
}

/// Text as PostgreSQL takes it: UTF-8 without NUL characters (its `text`
/// cannot hold `\0`, which SQLite stores).
fn utf8(t: &[u8]) -> Result<&[u8], BoxError> {
    if t.contains(&0) {
        return Err("PostgreSQL text cannot hold NUL (\\0) characters".into());
    }
    std::str::from_utf8(t)
        .map(str::as_bytes)
        .map_err(|_| "text that is not UTF-8 cannot be sent to PostgreSQL".into())
}

/// Whether JSON text holds the escape `\u0000` (a NUL character in a
/// string), which JSONB refuses (SQLSTATE 22P05). An escaped backslash
/// (`\\u0000`, the six characters `\u0000`) is not one.
fn escapes_nul(json: &[u8]) -> bool {
    let mut bytes = json.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            continue;
        }
        // Any other escape is two characters (`\\`, `\"`, `\n`, ...).
        if bytes.next() == Some(&b'u') && bytes.by_ref().take(4).eq(b"0000") {
            return true;
        }
    }
    false
}

fn wrong(value: ValueRef<'_>, ty: &Type) -> BoxError {
    format!(
        "a {} value cannot be bound to a parameter of PostgreSQL type {}",
        value.kind(),
        ty.name()
    )
    .into()
}

/// One parameter, encoded for the statement's parameter type.
#[derive(Debug)]
pub(super) struct Param<'a>(ValueRef<'a>);

impl<'a> Param<'a> {
    pub(super) fn new(value: ValueRef<'a>) -> Self {
        Param(value)
    }
}

/// One parameter already encoded at bind for the statement's parameter type
/// (`None`: NULL): sent as it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Encoded<'a>(pub(super) Option<&'a [u8]>);

impl ToSql for Encoded<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    /// Every type: the bytes were encoded for this parameter's type at bind.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        encode(self.0, ty, out)
    }

    /// Every type: [`check`] said which values fit when they were bound.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// Any column, as the crate's borrowed value.
#[derive(Debug)]
pub(super) struct RawValue<'a>(pub(super) ValueRef<'a>);

#[inline]
fn fixed<const N: usize>(raw: &[u8], ty: &Type) -> Result<[u8; N], BoxError> {
    match raw.try_into() {
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(wrong_size(raw, ty)),
    }
}

#[cold]
fn wrong_size(raw: &[u8], ty: &Type) -> BoxError {
    format!("a {} value of {} bytes", ty.name(), raw.len()).into()
}

impl<'a> RawValue<'a> {
    /// The types the crate's own columns have, read where `__read` inlines
    /// them; the others, and every error, in [`RawValue::other`].
    #[inline(always)]
    fn common(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let value = match *ty {
            Type::INT8 => match raw.try_into() {
                Ok(bytes) => ValueRef::Integer(i64::from_be_bytes(bytes)),
                Err(_) => return Self::other(ty, raw),
            },
            Type::FLOAT8 => match raw.try_into() {
                Ok(bytes) => ValueRef::Real(f64::from_be_bytes(bytes)),
                Err(_) => return Self::other(ty, raw),
            },
            Type::TEXT => ValueRef::Text(raw),
            _ => return Self::other(ty, raw),
        };
        Ok(RawValue(value))
    }

    /// Every type and every error (see [`RawValue::common`]).
    #[inline(never)]
    fn other(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let value = match *ty {
            Type::INT8 => ValueRef::Integer(i64::from_be_bytes(fixed(raw, ty)?)),
            Type::INT4 => ValueRef::Integer(i32::from_be_bytes(fixed(raw, ty)?).into()),
            Type::INT2 => ValueRef::Integer(i16::from_be_bytes(fixed(raw, ty)?).into()),
            Type::OID => ValueRef::Integer(u32::from_be_bytes(fixed(raw, ty)?).into()),
            Type::FLOAT8 => ValueRef::Real(f64::from_be_bytes(fixed(raw, ty)?)),
            Type::FLOAT4 => ValueRef::Real(f32::from_be_bytes(fixed(raw, ty)?).into()),
            Type::BOOL => ValueRef::Bool(fixed::<1>(raw, ty)? != [0]),
            Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::UNKNOWN
            | Type::CHAR
            | Type::JSON => ValueRef::Text(raw),
            Type::JSONB => match raw.split_first() {
                Some((&JSONB_VERSION, text)) => ValueRef::Text(text),
                _ => return Err("a JSONB value in an unknown binary format version".into()),
            },
            Type::BYTEA => ValueRef::Blob(raw),
            Type::NUMERIC => numeric(raw)?,
            // Microseconds since 1970-01-01 (UTC for TIMESTAMPTZ): the
            // doctable time types read these as well as their SQLite text.
            Type::TIMESTAMPTZ | Type::TIMESTAMP => {
                let pg = i64::from_be_bytes(fixed(raw, ty)?);
                let micros = pg.checked_add(PG_EPOCH_MICROS).ok_or_else(|| {
                    format!(
                        "a PostgreSQL {} of infinity has no doctable value",
                        ty.name()
                    )
                })?;
                ValueRef::Integer(micros)
            }
            Type::DATE => {
                let pg = i32::from_be_bytes(fixed(raw, ty)?);
                ValueRef::Integer(i64::from(pg) + PG_EPOCH_DAYS)
            }
            Type::UUID => ValueRef::Blob(raw),
            _ => {
                return Err(format!(
                    "PostgreSQL type {} has no doctable value (cast it in SQL: `::bigint`, \
                     `::double precision`, `::text`)",
                    ty.name()
                )
                .into());
            }
        };
        Ok(RawValue(value))
    }
}

impl<'a> FromSql<'a> for RawValue<'a> {
    #[inline(always)]
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Self::common(ty, raw)
    }

    #[inline(always)]
    fn from_sql_nullable(ty: &Type, raw: Option<&'a [u8]>) -> Result<Self, BoxError> {
        match raw {
            Some(raw) => Self::common(ty, raw),
            None => Ok(RawValue(ValueRef::Null)),
        }
    }

    #[inline]
    fn from_sql_null(_ty: &Type) -> Result<Self, BoxError> {
        Ok(RawValue(ValueRef::Null))
    }

    #[inline]
    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// A NUMERIC (what `sum` and `avg` of a `bigint` column return): an
/// integral value that fits is an `Integer`, so `sum` of an integer column
/// reads as an integer; any other is a `Real`.
fn numeric(raw: &[u8]) -> Result<ValueRef<'static>, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        raw.get(i * 2..i * 2 + 2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
            .ok_or_else(|| "a truncated NUMERIC value".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    match sign {
        0xC000 => return Ok(ValueRef::Real(f64::NAN)),
        0xD000 => return Ok(ValueRef::Real(f64::INFINITY)),
        0xF000 => return Ok(ValueRef::Real(f64::NEG_INFINITY)),
        _ => {}
    }
    let negative = sign == 0x4000;
    let mut digits = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        digits.push(word(4 + i)?);
    }
    // Digit i is worth 10000^(weight - i); trailing zero digits are not sent.
    let integral = i32::try_from(ndigits).is_ok_and(|n| n <= weight + 1);
    if integral {
        let mut total: Option<i128> = Some(0);
        for (i, &d) in digits.iter().enumerate() {
            let exp = u32::try_from(weight - i as i32).unwrap_or(0);
            let worth = 10_000i128
                .checked_pow(exp)
                .and_then(|p| p.checked_mul(d.into()));
            total = total.zip(worth).and_then(|(t, w)| t.checked_add(w));
        }
        if let Some(v) = total.map(|t| if negative { -t } else { t })
            && let Ok(v) = i64::try_from(v)
        {
            return Ok(ValueRef::Integer(v));
        }
    }
    let mut value = 0f64;
    for (i, &d) in digits.iter().enumerate() {
        value += f64::from(d) * 10_000f64.powi(weight - i as i32);
    }
    Ok(ValueRef::Real(if negative { -value } else { value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(ndigits: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [ndigits, weight as u16, sign, scale] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out
    }

    #[test]
    fn a_nul_escape_in_json_is_found_and_an_escaped_backslash_is_not() {
        assert!(escapes_nul(br#"{"a":"x\u0000y"}"#));
        assert!(escapes_nul(br#"["\\\u0000"]"#), "a backslash, then a NUL");
        assert!(
            !escapes_nul(br#"["\\u0000"]"#),
            "a backslash, then the text u0000"
        );
        assert!(escapes_nul(br#"{"a":"\u00001"}"#), "a NUL, then 1");
        assert!(!escapes_nul(br#"{"a":"\u0001","b":"\n"}"#));
        assert!(!escapes_nul(br#"{"a":"\u000"}"#));
        let mut scratch = BytesMut::new();
        let nul = serde_json::to_string(&"a\0b").unwrap();
        assert!(encode(ValueRef::Text(nul.as_bytes()), &Type::JSONB, &mut scratch).is_err());
        assert!(encode(ValueRef::Text(nul.as_bytes()), &Type::JSON, &mut scratch).is_ok());
    }

    #[test]
    fn numerics_read_as_integers_when_integral() {
        // 12345678 = 1234 * 10000 + 5678
        let n = numeric_bytes(2, 1, 0, 0, &[1234, 5678]);
        assert_eq!(numeric(&n).unwrap(), ValueRef::Integer(12_345_678));
        let n = numeric_bytes(1, 1, 0x4000, 0, &[7]);
        assert_eq!(numeric(&n).unwrap(), ValueRef::Integer(-70_000));
        // 1.5 = 1 + 5000 * 10000^-1
        let n = numeric_bytes(2, 0, 0, 1, &[1, 5000]);
        assert_eq!(numeric(&n).unwrap(), ValueRef::Real(1.5));
        let zero = numeric_bytes(0, 0, 0, 0, &[]);
        assert_eq!(numeric(&zero).unwrap(), ValueRef::Integer(0));
        // 10^20 does not fit an i64: a Real.
        let n = numeric_bytes(1, 5, 0, 0, &[1]);
        assert_eq!(numeric(&n).unwrap(), ValueRef::Real(1e20));
        assert!(numeric(&[0, 1]).is_err());
    }

    #[test]
    fn parameters_are_range_checked_for_their_type() {
        assert!(check(ValueRef::Integer(1 << 40), &Type::INT4).is_err());
        assert!(check(ValueRef::Integer(1 << 20), &Type::INT4).is_ok());
        assert!(check(ValueRef::Integer(40_000), &Type::INT2).is_err());
        assert!(check(ValueRef::Text(b"x"), &Type::INT8).is_err());
        assert!(check(ValueRef::Null, &Type::INT8).is_ok());
        let nul = check(ValueRef::Text(b"a\0b"), &Type::TEXT).unwrap_err();
        assert!(nul.contains("NUL"), "{nul}");
        assert!(check(ValueRef::Text(b"a\0b"), &Type::JSONB).is_err());
        let mut out = BytesMut::new();
        encode(ValueRef::Text(b"{}"), &Type::JSONB, &mut out).unwrap();
        assert_eq!(&out[..], b"\x01{}");
        let v = RawValue::from_sql(&Type::JSONB, b"\x01[1]").unwrap();
        assert_eq!(v.0, ValueRef::Text(b"[1]"));
    }
}
