//! With the `jiff` feature: `Timestamp` and `civil::Date`, in the encodings
//! of chrono's `DateTime<Utc>` and `NaiveDate` (see the table in the parent
//! module).

use jiff::civil::Date;

use super::*;

/// The instant `micros` after 1970-01-01 UTC.
fn timestamp_at(micros: i64) -> Result<jiff::Timestamp, ValueError> {
    let micros = check_micros(micros, "jiff::Timestamp")?;
    // Seconds and nanoseconds: `from_microsecond` stops at jiff's last
    // whole second, short of its last microseconds. Below 10^9, the
    // nanoseconds always fit an `i32` (the 0 is never taken).
    let nanos = i32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0);
    jiff::Timestamp::new(micros.div_euclid(1_000_000), nanos)
        .map_err(|e| out_of_range(format!("{micros} microseconds ({e})"), "jiff::Timestamp"))
}

/// With the `jiff` feature: [`SqlType::Timestamp`] (an instant; a `Zoned`
/// is stored as its `.timestamp()`).
///
/// ```
/// use doctable::{ColumnType, Value};
///
/// let t = jiff::Timestamp::from_microsecond(-1).unwrap();
/// let v = t.to_sql().unwrap().into_owned();
/// assert_eq!(v, Value::Text("1969-12-31T23:59:59.999999Z".into()));
/// assert_eq!(jiff::Timestamp::from_sql(v.as_ref()).unwrap(), t);
/// assert!(jiff::Timestamp::MAX.to_sql().is_err(), "nanoseconds are refused, not rounded");
/// ```
#[diagnostic::do_not_recommend]
impl ColumnType for jiff::Timestamp {
    const SQL_TYPE: SqlType = SqlType::Timestamp;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        const TARGET: &str = "jiff::Timestamp";
        timestamp_to_sql(micros_of_nanos(self.as_nanosecond(), TARGET)?, TARGET)
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        timestamp_at(timestamp_from_sql(value, "jiff::Timestamp")?)
    }
}

/// `date` as days since 1970-01-01.
fn days_of(date: Date) -> i64 {
    // A jiff month is 1-12 and a day 1-31: never negative.
    let month = u32::try_from(date.month()).unwrap_or(1);
    let day = u32::try_from(date.day()).unwrap_or(1);
    days_from_civil(i64::from(date.year()), month, day)
}

/// The date `days` after 1970-01-01.
fn date_at(days: i64) -> Result<Date, ValueError> {
    let days = check_days(days, "jiff::civil::Date")?;
    let (y, m, d) = civil_from_days(days);
    let fits = (i16::try_from(y), i8::try_from(m), i8::try_from(d));
    let (Ok(y), Ok(m), Ok(d)) = fits else {
        return Err(out_of_range(format!("{days} days"), "jiff::civil::Date"));
    };
    Date::new(y, m, d).map_err(|e| out_of_range(format!("{days} days ({e})"), "jiff::civil::Date"))
}

/// With the `jiff` feature: [`SqlType::Date`].
#[diagnostic::do_not_recommend]
impl ColumnType for Date {
    const SQL_TYPE: SqlType = SqlType::Date;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        date_to_sql(days_of(*self), "jiff::civil::Date")
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        date_at(date_from_sql(value, "jiff::civil::Date")?)
    }
}

or_null_into_value!(jiff::Timestamp, Date);

#[diagnostic::do_not_recommend]
impl Timestamp for jiff::Timestamp {
    fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
        timestamp_at(stamp.unix_micros())
    }
}

/// The UTC date.
#[diagnostic::do_not_recommend]
impl Timestamp for Date {
    fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
        date_at(days_of_micros(stamp.unix_micros()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_1970() {
        assert_eq!(days_of(Date::constant(1970, 1, 1)), 0);
        assert_eq!(days_of(Date::constant(0, 1, 1)), MIN_DAYS);
        assert_eq!(days_of(Date::MAX), MAX_DAYS);
        assert_eq!(date_at(MAX_DAYS).unwrap(), Date::MAX);
        assert_eq!(date_at(-1).unwrap(), Date::constant(1969, 12, 31));
        assert!(Date::MIN.to_sql().is_err());
        assert!(jiff::Timestamp::MIN.to_sql().is_err());
    }
}
