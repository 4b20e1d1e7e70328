//! With the `time` feature: `OffsetDateTime`, `PrimitiveDateTime` and
//! `Date`, in the encodings of chrono's `DateTime`, `NaiveDateTime` and
//! `NaiveDate` (see the table in the parent module).

use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::*;

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The instant `micros` after 1970-01-01 UTC, in UTC.
fn utc_at(micros: i64, target: &'static str) -> Result<OffsetDateTime, ValueError> {
    let micros = check_micros(micros, target)?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map_err(|e| out_of_range(format!("{micros} microseconds ({e})"), target))
}

/// With the `time` feature: [`SqlType::Timestamp`], stored as the instant in
/// UTC. A value with another offset reads back as the same instant (`==`
/// holds) with the offset `+00:00`: the offset itself is not stored (as for
/// chrono's `DateTime<FixedOffset>`).
///
/// ```
/// use doctable::{ColumnType, Value};
/// use time::{Date, Month, OffsetDateTime, Time, UtcOffset};
///
/// let date = Date::from_calendar_date(1969, Month::July, 20).unwrap();
/// let t = date.with_time(Time::from_hms_micro(22, 17, 40, 5).unwrap())
///     .assume_offset(UtcOffset::from_hms(2, 0, 0).unwrap());
/// let v = t.to_sql().unwrap().into_owned();
/// assert_eq!(v, Value::Text("1969-07-20T20:17:40.000005Z".into()));
/// let back = OffsetDateTime::from_sql(v.as_ref()).unwrap();
/// assert_eq!(back, t);
/// assert_eq!(back.offset(), UtcOffset::UTC);
/// ```
#[diagnostic::do_not_recommend]
impl ColumnType for OffsetDateTime {
    const SQL_TYPE: SqlType = SqlType::Timestamp;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        const TARGET: &str = "OffsetDateTime";
        timestamp_to_sql(
            micros_of_nanos(self.unix_timestamp_nanos(), TARGET)?,
            TARGET,
        )
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        const TARGET: &str = "OffsetDateTime";
        utc_at(timestamp_from_sql(value, TARGET)?, TARGET)
    }
}

/// With the `time` feature: [`SqlType::DateTime`] (a date and time without
/// a zone).
#[diagnostic::do_not_recommend]
impl ColumnType for PrimitiveDateTime {
    const SQL_TYPE: SqlType = SqlType::DateTime;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        const TARGET: &str = "PrimitiveDateTime";
        let nanos = self.assume_utc().unix_timestamp_nanos();
        datetime_to_sql(micros_of_nanos(nanos, TARGET)?, TARGET)
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        const TARGET: &str = "PrimitiveDateTime";
        let t = utc_at(datetime_from_sql(value, TARGET)?, TARGET)?;
        Ok(PrimitiveDateTime::new(t.date(), t.time()))
    }
}

/// `date` as days since 1970-01-01.
fn days_of(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
}

/// The date `days` after 1970-01-01.
fn date_at(days: i64) -> Result<Date, ValueError> {
    let days = check_days(days, "Date")?;
    i32::try_from(days + UNIX_EPOCH_JULIAN_DAY)
        .ok()
        .and_then(|jd| Date::from_julian_day(jd).ok())
        .ok_or_else(|| out_of_range(format!("{days} days"), "Date"))
}

/// With the `time` feature: [`SqlType::Date`].
#[diagnostic::do_not_recommend]
impl ColumnType for Date {
    const SQL_TYPE: SqlType = SqlType::Date;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        date_to_sql(days_of(*self), "Date")
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        date_at(date_from_sql(value, "Date")?)
    }
}

or_null_into_value!(OffsetDateTime, PrimitiveDateTime, Date);

/// In UTC (the offset `+00:00`).
#[diagnostic::do_not_recommend]
impl Timestamp for OffsetDateTime {
    fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
        utc_at(stamp.unix_micros(), "OffsetDateTime")
    }
}

/// The UTC wall time.
#[diagnostic::do_not_recommend]
impl Timestamp for PrimitiveDateTime {
    fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
        let t = utc_at(stamp.unix_micros(), "PrimitiveDateTime")?;
        Ok(PrimitiveDateTime::new(t.date(), t.time()))
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
    use time::{Month, Time, UtcOffset};

    #[test]
    fn dates_count_days_from_1970() {
        let epoch = Date::from_calendar_date(1970, Month::January, 1).unwrap();
        assert_eq!(days_of(epoch), 0);
        assert_eq!(date_at(0).unwrap(), epoch);
        let first = Date::from_calendar_date(0, Month::January, 1).unwrap();
        assert_eq!(days_of(first), MIN_DAYS);
        let last = Date::from_calendar_date(9999, Month::December, 31).unwrap();
        assert_eq!(days_of(last), MAX_DAYS);
        assert_eq!(date_at(MAX_DAYS).unwrap(), last);
        assert!(date_at(MAX_DAYS + 1).is_err());
    }

    #[test]
    fn sub_microseconds_and_far_years_are_refused() {
        let t = Date::from_calendar_date(2001, Month::March, 4)
            .unwrap()
            .with_time(Time::from_hms_nano(5, 6, 7, 8_000_001).unwrap())
            .assume_offset(UtcOffset::from_hms(-3, 0, 0).unwrap());
        assert!(t.to_sql().is_err());
        assert!(Date::MIN.to_sql().is_err());
        assert!(PrimitiveDateTime::MAX.to_sql().is_err());
    }
}
