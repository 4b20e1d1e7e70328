//! Dates, times, UUIDs and JSON values as columns: one encoding per engine.
//!
//! | logical type | SQLite (TEXT) | PostgreSQL |
//! | --- | --- | --- |
//! | [`SqlType::Timestamp`] | `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC) | `TIMESTAMPTZ` |
//! | [`SqlType::DateTime`] | `YYYY-MM-DDTHH:MM:SS.ffffff` | `TIMESTAMP` |
//! | [`SqlType::Date`] | `YYYY-MM-DD` | `DATE` |
//! | [`SqlType::Uuid`] | lowercase hyphenated, 36 characters | `UUID` |
//!
//! Each text form has a fixed width, so text order is time order (and byte
//! order for UUIDs). Values are kept to the microsecond, in the years
//! 0000–9999: a value with nanoseconds that are not whole microseconds, or
//! outside those years, is refused with a conversion error, never rounded or
//! clamped. A column of one of these types is bound as that text; PostgreSQL's
//! driver code encodes it in the server's binary format, and reads a
//! timestamp back as the integer microseconds since 1970-01-01 UTC, a date as
//! the integer days since then and a UUID as its 16 bytes, which the
//! [`ColumnType`] impls here read as well as the text.

// Without the optional types, some date and UUID helpers serve only PostgreSQL.
#![cfg_attr(
    not(all(
        feature = "chrono",
        feature = "time",
        feature = "jiff",
        feature = "uuid"
    )),
    allow(dead_code)
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ValueError;
use crate::column_type::{ColumnType, OrNull};
use crate::stamp::{Stamp, Timestamp};
use crate::value::{SqlType, ToValue, Value, ValueRef};

/// `OrNull` (for `min`/`max`) and `IntoValue` (for raw SQL parameters) of
/// column types whose `to_sql` says it all.
#[allow(unused_macros)]
macro_rules! or_null_into_value {
    ($($ty:ty),*) => {$(
        impl OrNull for $ty { type Nullable = Option<$ty>; }
        impl OrNull for Option<$ty> { type Nullable = Option<$ty>; }
        impl crate::IntoValue for $ty {
            fn into_value(self) -> Result<Value, ValueError> {
                self.to_sql().map(ToValue::into_owned)
            }
        }
    )*};
}

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 1970-01-01 to 0000-01-01 (proleptic Gregorian).
pub(crate) const MIN_DAYS: i64 = -719_528;
/// Days from 1970-01-01 to 9999-12-31.
pub(crate) const MAX_DAYS: i64 = 2_932_896;
const MIN_MICROS: i64 = MIN_DAYS * MICROS_PER_DAY;
const MAX_MICROS: i64 = (MAX_DAYS + 1) * MICROS_PER_DAY - 1;

/// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days
/// arithmetic over 400-year eras).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01: (year, month, day).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn out_of_range(value: impl std::fmt::Display, target: &'static str) -> ValueError {
    ValueError::OutOfRange {
        value: value.to_string(),
        target,
    }
}

/// Checks `days` is in the years 0000–9999.
pub(crate) fn check_days(days: i64, target: &'static str) -> Result<i64, ValueError> {
    if (MIN_DAYS..=MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(out_of_range(
            format!("{days} days from 1970-01-01 (outside the years 0000-9999)"),
            target,
        ))
    }
}

/// Checks `micros` is in the years 0000–9999.
pub(crate) fn check_micros(micros: i64, target: &'static str) -> Result<i64, ValueError> {
    if (MIN_MICROS..=MAX_MICROS).contains(&micros) {
        Ok(micros)
    } else {
        Err(out_of_range(
            format!("{micros} microseconds from 1970-01-01 (outside the years 0000-9999)"),
            target,
        ))
    }
}

fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn format_micros(micros: i64, zone: &str) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let secs = in_day / 1_000_000;
    let frac = in_day % 1_000_000;
    format!(
        "{}T{:02}:{:02}:{:02}.{frac:06}{zone}",
        format_date(days),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The digits `text[at..at + n]` as a number, if they all are digits.
fn digits(text: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = text.get(at..at + n)?;
    part.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// `YYYY-MM-DD` at the start of `text`, as days since 1970-01-01.
fn parse_date_prefix(text: &[u8]) -> Option<i64> {
    if text.get(4) != Some(&b'-') || text.get(7) != Some(&b'-') {
        return None;
    }
    let year = digits(text, 0, 4)?;
    let month = u32::try_from(digits(text, 5, 2)?).ok()?;
    let day = u32::try_from(digits(text, 8, 2)?).ok()?;
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // A day past the month's end lands in the next month: refuse it.
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

/// Parses exactly `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &[u8]) -> Option<i64> {
    if text.len() != 10 {
        return None;
    }
    parse_date_prefix(text)
}

/// Parses `YYYY-MM-DDTHH:MM:SS.ffffff` followed by exactly `zone`.
pub(crate) fn parse_micros(text: &[u8], zone: &[u8]) -> Option<i64> {
    if text.len() != 26 + zone.len() || text.get(26..) != Some(zone) {
        return None;
    }
    let days = parse_date_prefix(text)?;
    let at = |i: usize| text.get(i).copied();
    if at(10) != Some(b'T') || at(13) != Some(b':') || at(16) != Some(b':') || at(19) != Some(b'.')
    {
        return None;
    }
    let (h, m, s) = (
        digits(text, 11, 2)?,
        digits(text, 14, 2)?,
        digits(text, 17, 2)?,
    );
    let frac = digits(text, 20, 6)?;
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(days * MICROS_PER_DAY + ((h * 60 + m) * 60 + s) * 1_000_000 + frac)
}

/// The value to bind for an instant `micros` after 1970-01-01 UTC.
pub(crate) fn timestamp_to_sql(
    micros: i64,
    target: &'static str,
) -> Result<ToValue<'static>, ValueError> {
    let micros = check_micros(micros, target)?;
    Ok(ToValue::Owned(Value::Text(format_micros(micros, "Z"))))
}

/// The value to bind for a zone-less date and time (`micros` after 1970-01-01T00:00).
pub(crate) fn datetime_to_sql(
    micros: i64,
    target: &'static str,
) -> Result<ToValue<'static>, ValueError> {
    let micros = check_micros(micros, target)?;
    Ok(ToValue::Owned(Value::Text(format_micros(micros, ""))))
}

/// The value to bind for a date `days` after 1970-01-01.
pub(crate) fn date_to_sql(days: i64, target: &'static str) -> Result<ToValue<'static>, ValueError> {
    let days = check_days(days, target)?;
    Ok(ToValue::Owned(Value::Text(format_date(days))))
}

fn bad_text(text: &[u8], form: &str, target: &'static str) -> ValueError {
    ValueError::Other(format!(
        "stored text '{}' is not a {target} (expected {form})",
        String::from_utf8_lossy(text)
    ))
}

/// Reads an instant (microseconds since 1970-01-01 UTC).
pub(crate) fn timestamp_from_sql(
    value: ValueRef<'_>,
    target: &'static str,
) -> Result<i64, ValueError> {
    match value {
        ValueRef::Text(t) => {
            parse_micros(t, b"Z").ok_or_else(|| bad_text(t, "YYYY-MM-DDTHH:MM:SS.ffffffZ", target))
        }
        ValueRef::Integer(i) => check_micros(i, target),
        other => Err(ValueError::WrongType {
            expected: "a TIMESTAMP (TEXT)",
            found: other.kind(),
        }),
    }
}

/// Reads a zone-less date and time (microseconds since 1970-01-01T00:00).
pub(crate) fn datetime_from_sql(
    value: ValueRef<'_>,
    target: &'static str,
) -> Result<i64, ValueError> {
    match value {
        ValueRef::Text(t) => {
            parse_micros(t, b"").ok_or_else(|| bad_text(t, "YYYY-MM-DDTHH:MM:SS.ffffff", target))
        }
        ValueRef::Integer(i) => check_micros(i, target),
        other => Err(ValueError::WrongType {
            expected: "a DATETIME (TEXT)",
            found: other.kind(),
        }),
    }
}

/// Reads a date (days since 1970-01-01).
pub(crate) fn date_from_sql(value: ValueRef<'_>, target: &'static str) -> Result<i64, ValueError> {
    match value {
        ValueRef::Text(t) => parse_date(t).ok_or_else(|| bad_text(t, "YYYY-MM-DD", target)),
        ValueRef::Integer(i) => check_days(i, target),
        other => Err(ValueError::WrongType {
            expected: "a DATE (TEXT)",
            found: other.kind(),
        }),
    }
}

/// Parses a UUID's 36-character hyphenated text (either case) to its bytes.
pub(crate) fn parse_uuid(text: &[u8]) -> Option<[u8; 16]> {
    if text.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut hex = text
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 8 | 13 | 18 | 23))
        .map(|(_, b)| b);
    if [8, 13, 18, 23].iter().any(|&i| text.get(i) != Some(&b'-')) {
        return None;
    }
    for byte in &mut out {
        let hi = (*hex.next()? as char).to_digit(16)?;
        let lo = (*hex.next()? as char).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// A UUID's bytes as its lowercase hyphenated text.
pub(crate) fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Reads a UUID: its text (SQLite) or its 16 bytes (PostgreSQL).
pub(crate) fn uuid_from_sql(value: ValueRef<'_>) -> Result<[u8; 16], ValueError> {
    match value {
        ValueRef::Text(t) => parse_uuid(t).ok_or_else(|| {
            bad_text(
                t,
                "the hyphenated form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                "UUID",
            )
        }),
        ValueRef::Blob(b) => b.try_into().map_err(|_| {
            ValueError::Other(format!("a {}-byte blob is not a UUID (16 bytes)", b.len()))
        }),
        other => Err(ValueError::WrongType {
            expected: "a UUID (TEXT)",
            found: other.kind(),
        }),
    }
}

/// `SystemTime` to microseconds since 1970-01-01 UTC, refusing nanoseconds
/// that are not whole microseconds.
fn system_time_micros(t: &SystemTime) -> Result<i64, ValueError> {
    const TARGET: &str = "SystemTime (microseconds, years 0000-9999)";
    let (d, negative) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d, false),
        Err(e) => (e.duration(), true),
    };
    if !d.subsec_nanos().is_multiple_of(1000) {
        return Err(out_of_range(
            format!("{d:?} from 1970-01-01 (nanoseconds that are not whole microseconds)"),
            TARGET,
        ));
    }
    let micros =
        i64::try_from(d.as_micros()).map_err(|_| out_of_range(format!("{d:?}"), TARGET))?;
    check_micros(if negative { -micros } else { micros }, TARGET)
}

/// Nanoseconds since 1970-01-01 (UTC, or a wall time's) as microseconds,
/// refusing nanoseconds that are not whole microseconds and instants outside
/// the years 0000–9999.
pub(crate) fn micros_of_nanos(nanos: i128, target: &'static str) -> Result<i64, ValueError> {
    if nanos.rem_euclid(1000) != 0 {
        return Err(out_of_range(
            format!("{nanos} nanoseconds from 1970-01-01 (not whole microseconds)"),
            target,
        ));
    }
    let micros = i64::try_from(nanos / 1000).map_err(|_| {
        out_of_range(
            format!("{nanos} nanoseconds from 1970-01-01 (outside the years 0000-9999)"),
            target,
        )
    })?;
    check_micros(micros, target)
}

/// The days of an instant `micros` after 1970-01-01: the UTC date's.
pub(crate) fn days_of_micros(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// `SystemTime` at `micros` after 1970-01-01 UTC.
fn system_time_at(micros: i64) -> Result<SystemTime, ValueError> {
    let d = Duration::from_micros(micros.unsigned_abs());
    let t = if micros >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    };
    t.ok_or_else(|| out_of_range(format!("{micros} microseconds"), "SystemTime"))
}

/// Always available. Stored as [`SqlType::Timestamp`] (SQLite: the text
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`; PostgreSQL: `TIMESTAMPTZ`). Times before
/// 1970 round-trip; a time with nanoseconds that are not whole microseconds,
/// or outside the years 0000–9999, is refused with [`Error::Conversion`](crate::Error::Conversion).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use doctable::{ColumnType, ToValue, Value};
///
/// let t = UNIX_EPOCH + Duration::from_micros(1_500_000);
/// let v = t.to_sql().unwrap().into_owned();
/// assert_eq!(v, Value::Text("1970-01-01T00:00:01.500000Z".into()));
/// assert_eq!(SystemTime::from_sql(v.as_ref()).unwrap(), t);
/// assert!((UNIX_EPOCH + Duration::from_nanos(1)).to_sql().is_err());
/// ```
#[diagnostic::do_not_recommend]
impl ColumnType for SystemTime {
    const SQL_TYPE: SqlType = SqlType::Timestamp;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        timestamp_to_sql(system_time_micros(self)?, "SystemTime")
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        system_time_at(timestamp_from_sql(value, "SystemTime")?)
    }
}

#[diagnostic::do_not_recommend]
impl Timestamp for SystemTime {
    fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
        system_time_at(stamp.unix_micros())
    }
}

impl OrNull for SystemTime {
    type Nullable = Option<SystemTime>;
}
impl OrNull for Option<SystemTime> {
    type Nullable = Option<SystemTime>;
}

impl crate::IntoValue for SystemTime {
    fn into_value(self) -> Result<Value, ValueError> {
        self.to_sql().map(ToValue::into_owned)
    }
}

/// `serde_json::Value` as a JSON column ([`SqlType::Json`]: SQLite TEXT,
/// PostgreSQL `JSONB`), the same as [`Json<serde_json::Value>`](crate::Json).
#[cfg(feature = "serde_json")]
#[diagnostic::do_not_recommend]
impl ColumnType for serde_json::Value {
    const SQL_TYPE: SqlType = SqlType::Json;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        crate::JsonValue::to_json_sql(self)
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        crate::JsonValue::from_json_sql(value)
    }
}

#[cfg(feature = "uuid")]
mod uuid_impl {
    use super::*;

    /// With the `uuid` feature. Stored as [`SqlType::Uuid`] (SQLite: the
    /// lowercase hyphenated text, which sorts as the bytes do; PostgreSQL: `UUID`).
    #[diagnostic::do_not_recommend]
    impl ColumnType for uuid::Uuid {
        const SQL_TYPE: SqlType = SqlType::Uuid;
        fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
            Ok(ToValue::Owned(Value::Text(format_uuid(self.as_bytes()))))
        }
        fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
            uuid_from_sql(value).map(uuid::Uuid::from_bytes)
        }
    }
    impl OrNull for uuid::Uuid {
        type Nullable = Option<uuid::Uuid>;
    }
    impl OrNull for Option<uuid::Uuid> {
        type Nullable = Option<uuid::Uuid>;
    }
    impl crate::IntoValue for uuid::Uuid {
        fn into_value(self) -> Result<Value, ValueError> {
            self.to_sql().map(ToValue::into_owned)
        }
    }
}

#[cfg(feature = "chrono")]
mod chrono_impl {
    use super::*;
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

    /// Microseconds of a chrono instant, refusing sub-microsecond digits and
    /// leap seconds (which the encoding has no room for).
    fn micros(secs_micros: i64, nanos: u32, target: &'static str) -> Result<i64, ValueError> {
        if nanos >= 1_000_000_000 || !nanos.is_multiple_of(1000) {
            return Err(out_of_range(
                format!(
                    "a time with {nanos} nanoseconds (a leap second, or not whole microseconds)"
                ),
                target,
            ));
        }
        Ok(secs_micros)
    }

    /// With the `chrono` feature: [`SqlType::Timestamp`].
    #[diagnostic::do_not_recommend]
    impl ColumnType for DateTime<Utc> {
        const SQL_TYPE: SqlType = SqlType::Timestamp;
        fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
            let m = micros(
                self.timestamp_micros(),
                self.timestamp_subsec_nanos(),
                "DateTime<Utc>",
            )?;
            timestamp_to_sql(m, "DateTime<Utc>")
        }
        fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
            let m = timestamp_from_sql(value, "DateTime<Utc>")?;
            DateTime::from_timestamp_micros(m)
                .ok_or_else(|| out_of_range(format!("{m} microseconds"), "DateTime<Utc>"))
        }
    }

    /// With the `chrono` feature: [`SqlType::Timestamp`], stored as the
    /// instant in UTC. It reads back as the same instant (`==` holds) with
    /// the offset `+00:00`: the offset itself is not stored.
    #[diagnostic::do_not_recommend]
    impl ColumnType for DateTime<FixedOffset> {
        const SQL_TYPE: SqlType = SqlType::Timestamp;
        fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
            let m = micros(
                self.timestamp_micros(),
                self.timestamp_subsec_nanos(),
                "DateTime<FixedOffset>",
            )?;
            timestamp_to_sql(m, "DateTime<FixedOffset>")
        }
        fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
            DateTime::<Utc>::from_sql(value).map(|t| t.fixed_offset())
        }
    }

    /// With the `chrono` feature: [`SqlType::DateTime`].
    #[diagnostic::do_not_recommend]
    impl ColumnType for NaiveDateTime {
        const SQL_TYPE: SqlType = SqlType::DateTime;
        fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
            let utc = self.and_utc();
            let m = micros(
                utc.timestamp_micros(),
                utc.timestamp_subsec_nanos(),
                "NaiveDateTime",
            )?;
            datetime_to_sql(m, "NaiveDateTime")
        }
        fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
            let m = datetime_from_sql(value, "NaiveDateTime")?;
            DateTime::from_timestamp_micros(m)
                .map(|t| t.naive_utc())
                .ok_or_else(|| out_of_range(format!("{m} microseconds"), "NaiveDateTime"))
        }
    }

    /// Days from 0001-01-01 (chrono's day 1) to 1970-01-01, less one.
    const CE_TO_UNIX: i64 = 719_163;

    /// With the `chrono` feature: [`SqlType::Date`].
    #[diagnostic::do_not_recommend]
    impl ColumnType for NaiveDate {
        const SQL_TYPE: SqlType = SqlType::Date;
        fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
            date_to_sql(
                i64::from(chrono::Datelike::num_days_from_ce(self)) - CE_TO_UNIX,
                "NaiveDate",
            )
        }
        fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
            let days = date_from_sql(value, "NaiveDate")?;
            i32::try_from(days + CE_TO_UNIX)
                .ok()
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .ok_or_else(|| out_of_range(format!("{days} days"), "NaiveDate"))
        }
    }

    or_null_into_value!(
        DateTime<Utc>,
        DateTime<FixedOffset>,
        NaiveDateTime,
        NaiveDate
    );

    fn utc_at(stamp: Stamp) -> Result<DateTime<Utc>, ValueError> {
        let m = check_micros(stamp.unix_micros(), "DateTime<Utc>")?;
        DateTime::from_timestamp_micros(m)
            .ok_or_else(|| out_of_range(format!("{m} microseconds"), "DateTime<Utc>"))
    }

    #[diagnostic::do_not_recommend]
    impl Timestamp for DateTime<Utc> {
        fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
            utc_at(stamp)
        }
    }
    /// In UTC (the offset `+00:00`).
    #[diagnostic::do_not_recommend]
    impl Timestamp for DateTime<FixedOffset> {
        fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
            utc_at(stamp).map(|t| t.fixed_offset())
        }
    }
    /// The UTC wall time.
    #[diagnostic::do_not_recommend]
    impl Timestamp for NaiveDateTime {
        fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
            utc_at(stamp).map(|t| t.naive_utc())
        }
    }
    /// The UTC date.
    #[diagnostic::do_not_recommend]
    impl Timestamp for NaiveDate {
        fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
            utc_at(stamp).map(|t| t.date_naive())
        }
    }
}

#[cfg(feature = "time")]
mod time_impl;

#[cfg(feature = "jiff")]
mod jiff_impl;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_round_trips_over_the_whole_range() {
        assert_eq!(days_from_civil(0, 1, 1), MIN_DAYS);
        assert_eq!(days_from_civil(9999, 12, 31), MAX_DAYS);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        let mut d = MIN_DAYS;
        while d <= MAX_DAYS {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
            assert_eq!(parse_date(format_date(d).as_bytes()), Some(d));
            d += 97;
        }
    }

    #[test]
    fn text_is_strict_and_sorts_as_time() {
        let a = format_micros(-1, "Z");
        assert_eq!(a, "1969-12-31T23:59:59.999999Z");
        assert_eq!(parse_micros(a.as_bytes(), b"Z"), Some(-1));
        assert!(format_micros(-1, "Z") < format_micros(0, "Z"));
        assert_eq!(parse_micros(b"2024-02-30T00:00:00.000000Z", b"Z"), None);
        assert_eq!(parse_micros(b"2024-02-01T24:00:00.000000Z", b"Z"), None);
        assert_eq!(parse_micros(b"2024-02-01T00:00:00.000000", b"Z"), None);
        assert_eq!(parse_date(b"2024-13-01"), None);
        assert!(check_micros(MAX_MICROS + 1, "t").is_err());
        assert!(check_micros(MIN_MICROS - 1, "t").is_err());
        let u = *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff";
        let text = format_uuid(&u);
        assert_eq!(text, "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(parse_uuid(text.as_bytes()), Some(u));
        assert_eq!(parse_uuid(b"00112233-4455-6677-8899-AABBCCDDEEFF"), Some(u));
        assert_eq!(parse_uuid(b"001122334-455-6677-8899-aabbccddeeff"), None);
    }
}
