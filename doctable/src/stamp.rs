//! `#[doctable(added)]` and `#[doctable(updated)]`: the times the crate
//! writes into a row, from its own clock, through the [`Timestamp`] trait.
//!
//! One [`Stamp`] is read per operation (an `insert`, a whole `insert_many`,
//! an `update()`, an `update_row`, an upsert's `run` or `run_many`), and
//! every row that operation writes gets it: rows inserted together share
//! their `added` time. The clock never repeats or goes back within a
//! process: each stamp is later than the one before it, by at least a
//! microsecond, even when the system clock is coarser or is set back.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::column_type::{ColumnType, ValueError};
use crate::meta::TableMeta;
use crate::value::{ToValue, Value};

/// An instant the crate writes into `added` and `updated` columns:
/// microseconds since 1970-01-01 00:00 UTC.
///
/// ```
/// use doctable::Stamp;
///
/// let a = Stamp::now();
/// let b = Stamp::now();
/// assert!(b > a, "every stamp is later than the one before it");
/// assert_eq!(Stamp::from_unix_micros(-1).unix_micros(), -1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    micros: i64,
}

/// The last stamp this process handed out.
static LAST: AtomicI64 = AtomicI64::new(i64::MIN);

impl Stamp {
    /// The crate's clock: the system time to the microsecond, or a
    /// microsecond after the last stamp this process read if that is later
    /// (so stamps strictly increase within a process).
    pub fn now() -> Stamp {
        let clock = system_micros();
        let mut last = LAST.load(Ordering::Relaxed);
        loop {
            let next = clock.max(last.saturating_add(1));
            match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Stamp { micros: next },
                Err(seen) => last = seen,
            }
        }
    }

    /// The instant `micros` microseconds after 1970-01-01 00:00 UTC
    /// (before it, when negative).
    pub const fn from_unix_micros(micros: i64) -> Stamp {
        Stamp { micros }
    }

    /// Microseconds since 1970-01-01 00:00 UTC.
    pub const fn unix_micros(self) -> i64 {
        self.micros
    }

    /// The stamp of an operation on table `meta`: the clock when the table
    /// has an `added` or `updated` column, else not read at all (the table's
    /// rows would ignore it; `meta` is a constant, so this test costs nothing
    /// once compiled).
    #[inline(always)]
    pub(crate) fn for_table(meta: &TableMeta) -> Stamp {
        if meta.added.is_some() || meta.updated.is_some() {
            Stamp::now()
        } else {
            Stamp { micros: 0 }
        }
    }
}

/// The system time in microseconds since 1970 (negative before), rounded
/// down, saturating far outside the years an `i64` of microseconds holds.
fn system_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
            // Rounded down: a part of a microsecond before 1970 is the microsecond before.
            let part = i64::from(!d.subsec_nanos().is_multiple_of(1000));
            whole.saturating_neg().saturating_sub(part)
        }
    }
}

/// A type the crate can write a [`Stamp`] into: the type of a field marked
/// `#[doctable(added)]` or `#[doctable(updated)]`.
///
/// Implemented for `std::time::SystemTime`; with the cargo features of those
/// names, chrono's `DateTime<Utc>`, `DateTime<FixedOffset>` (in UTC),
/// `NaiveDateTime` (the UTC wall time) and `NaiveDate` (the UTC date), time's
/// `OffsetDateTime` (in UTC), `PrimitiveDateTime` (the UTC wall time) and
/// `Date` (the UTC date), jiff's `Timestamp` and `civil::Date` (the UTC
/// date); and `Option<T>` of any of them, which the crate always writes as
/// `Some` (a nullable column lets `create_table` add the column to a table
/// that has rows: they read `None`).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use doctable::{Stamp, Timestamp};
///
/// let stamp = Stamp::from_unix_micros(1_500_000);
/// let t = SystemTime::from_stamp(stamp).unwrap();
/// assert_eq!(t, UNIX_EPOCH + Duration::from_micros(1_500_000));
/// assert_eq!(Option::<SystemTime>::from_stamp(stamp).unwrap(), Some(t));
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[doctable(added)]` and `#[doctable(updated)]` need a date or time type, not `{Self}`",
    label = "the crate cannot write the time into this type",
    note = "use `std::time::SystemTime`, a chrono, time or jiff date or time type (with the cargo feature of that name), or an `Option` of one"
)]
pub trait Timestamp: ColumnType {
    /// `stamp` as a value of this type: the instant itself, or for a type
    /// without a zone its UTC wall time or UTC date. An error if this type
    /// cannot hold it.
    fn from_stamp(stamp: Stamp) -> Result<Self, ValueError>;
}

#[diagnostic::do_not_recommend]
impl<T: Timestamp> Timestamp for Option<T> {
    fn from_stamp(stamp: Stamp) -> Result<Self, ValueError> {
        T::from_stamp(stamp).map(Some)
    }
}

/// What a row is bound for: an insert (every timestamp is the stamp) or an
/// update (`updated` is the stamp; `added` is kept as stored).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// An insert, at this time.
    Insert(Stamp),
    /// An update of a stored row, at this time.
    Update(Stamp),
}

impl Write {
    /// An insert into table `meta`, stamped now if the table has timestamps.
    #[inline(always)]
    pub(crate) fn insert(meta: &TableMeta) -> Write {
        Write::Insert(Stamp::for_table(meta))
    }

    /// An update of table `meta`, stamped now if the table has timestamps.
    #[inline(always)]
    pub(crate) fn update(meta: &TableMeta) -> Write {
        Write::Update(Stamp::for_table(meta))
    }
}

/// `stamp` as the value to bind of the type that `from_stamp` makes: what an
/// `update()` sets the `updated` column to, beside the user's assignments.
/// The derive passes `<Ty as Timestamp>::from_stamp`, so that a field type
/// without the trait is reported at the field, in the trait's words.
#[doc(hidden)]
pub fn stamp_value<T: ColumnType>(
    stamp: Stamp,
    from_stamp: fn(Stamp) -> Result<T, ValueError>,
) -> Result<Value, ValueError> {
    Ok(from_stamp(stamp)?.to_sql()?.into_owned())
}

/// The value bound for an `added` column: the stamp on an insert; on an
/// update NULL, which the statement does not store (it keeps the column:
/// `COALESCE("added", NULL)`, see `StaticSql::update_row`).
#[doc(hidden)]
pub fn added_value<T: ColumnType>(
    write: Write,
    from_stamp: fn(Stamp) -> Result<T, ValueError>,
) -> Result<ToValue<'static>, ValueError> {
    match write {
        Write::Insert(stamp) => stamp_value(stamp, from_stamp).map(ToValue::Owned),
        Write::Update(_) => Ok(ToValue::Owned(Value::Null)),
    }
}

/// The value bound for an `updated` column: the stamp, on an insert and on
/// an update.
#[doc(hidden)]
pub fn updated_value<T: ColumnType>(
    write: Write,
    from_stamp: fn(Stamp) -> Result<T, ValueError>,
) -> Result<ToValue<'static>, ValueError> {
    match write {
        Write::Insert(stamp) | Write::Update(stamp) => {
            stamp_value(stamp, from_stamp).map(ToValue::Owned)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_strictly_increase_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..2000).map(|_| Stamp::now()).collect::<Vec<_>>()))
            .collect();
        let mut all: Vec<Stamp> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "no stamp is handed out twice");
    }

    #[test]
    fn the_clock_is_the_system_time_to_the_microsecond() {
        let before = system_micros();
        let stamp = Stamp::now().unix_micros();
        // Later stamps of other tests in this process may run a little ahead
        // of the clock (by a microsecond per stamp), never behind it.
        assert!(stamp >= before, "{stamp} < {before}");
        assert!(
            stamp - before < 60_000_000,
            "{stamp} is far ahead of {before}"
        );
    }
}
