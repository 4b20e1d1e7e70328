//! The time, UUID and JSON value types (issue 12, "Types"): `SystemTime`;
//! chrono's `DateTime<Utc>`, `DateTime<FixedOffset>`, `NaiveDateTime`,
//! `NaiveDate`; time's `OffsetDateTime`, `PrimitiveDateTime`, `Date`; jiff's
//! `Timestamp`, `civil::Date`; `uuid::Uuid`; `serde_json::Value`. Round trips (NULL, the
//! extremes of the years 0000-9999, before 1970, microseconds, non-UTC
//! offsets), order, filters, min/max and set on every strategy of both
//! engines; values the encoding cannot hold are refused with
//! `Error::Conversion`, never altered. Needs the features `chrono`, `time`,
//! `jiff`, `uuid` and `serde_json` (Cargo.toml `[[test]]`; the suite runs
//! with `--all-features`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use doctable::{Conn, DocTable, Error};
use uuid::Uuid;

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, TestResult};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "moments")]
struct Moment {
    #[doctable(primary_key)]
    id: Option<i64>,
    at: SystemTime,
    utc: DateTime<Utc>,
    local: DateTime<FixedOffset>,
    naive: NaiveDateTime,
    day: NaiveDate,
    key: Uuid,
    doc: serde_json::Value,
    maybe_at: Option<SystemTime>,
    maybe_day: Option<NaiveDate>,
    maybe_key: Option<Uuid>,
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .map(|t| t + chrono::Duration::microseconds(i64::from(micros)))
        .expect("a valid test date")
}

fn system(t: DateTime<Utc>) -> SystemTime {
    let micros = t.timestamp_micros();
    if micros >= 0 {
        UNIX_EPOCH + Duration::from_micros(micros.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_micros(micros.unsigned_abs())
    }
}

fn moment(t: DateTime<Utc>, offset_hours: i32, key: u128) -> Moment {
    let offset = FixedOffset::east_opt(offset_hours * 3600).expect("a valid offset");
    Moment {
        id: None,
        at: system(t),
        utc: t,
        local: t.with_timezone(&offset),
        naive: t.naive_utc(),
        day: t.date_naive(),
        key: Uuid::from_u128(key),
        doc: serde_json::json!({"at": t.timestamp_micros(), "n": [1, 2.5, null]}),
        maybe_at: None,
        maybe_day: None,
        maybe_key: None,
    }
}

/// The extremes (0000-01-01T00:00:00 and 9999-12-31T23:59:59.999999 UTC),
/// before 1970, a microsecond either side of the epoch and a non-UTC offset.
fn samples() -> Vec<Moment> {
    let mut out = vec![
        moment(utc(0, 1, 1, 0, 0, 0, 0), 0, 0),
        moment(utc(9999, 12, 31, 23, 59, 59, 999_999), -11, u128::MAX),
        moment(utc(1969, 12, 31, 23, 59, 59, 999_999), 14, 1),
        moment(utc(1970, 1, 1, 0, 0, 0, 1), 0, 2),
        moment(utc(1850, 7, 14, 12, 30, 15, 123_456), -5, 3 << 100),
        moment(utc(2024, 2, 29, 6, 7, 8, 900_001), 9, 4 << 64),
    ];
    out[3].maybe_at = Some(out[3].at);
    out[3].maybe_day = Some(out[3].day);
    out[3].maybe_key = Some(out[3].key);
    out[4].maybe_at = Some(out[1].at);
    out
}

fn round_trips<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Moment::create_table(db)?;
    let samples = samples();
    for sample in &samples {
        let id = Moment::insert(db, sample)?;
        let back = Moment::get(db, id)?.expect("the row just inserted");
        assert_eq!(
            back,
            Moment {
                id: Some(id),
                ..sample.clone()
            }
        );
        // The instant is kept; the offset itself is not stored.
        assert_eq!(back.local.offset().local_minus_utc(), 0);
        assert_eq!(back.local.naive_utc(), sample.local.naive_utc());
    }
    Moment::delete().all_rows().run(db)?;
    assert_eq!(Moment::insert_many(db, &samples)?, samples.len());
    let back = Moment::select().order_by(Moment::id).all(db)?;
    let without_ids: Vec<Moment> = back.into_iter().map(|m| Moment { id: None, ..m }).collect();
    assert_eq!(without_ids, samples);
    Ok(())
}
on_every_strategy!(round_trips);

/// Every time column orders rows in time order, and the UUID column in byte order.
fn order_is_time_order<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Moment::create_table(db)?;
    let samples = samples();
    Moment::insert_many(db, &samples)?;
    let mut want: Vec<DateTime<Utc>> = samples.iter().map(|m| m.utc).collect();
    want.sort();
    assert_eq!(
        Moment::select_cols(Moment::utc)
            .order_by(Moment::utc)
            .all(db)?,
        want
    );
    let want_system: Vec<SystemTime> = want.iter().copied().map(system).collect();
    assert_eq!(
        Moment::select_cols(Moment::at)
            .order_by(Moment::at)
            .all(db)?,
        want_system
    );
    let by_local = Moment::select_cols(Moment::utc)
        .order_by(Moment::local.desc())
        .all(db)?;
    assert_eq!(by_local, want.iter().rev().copied().collect::<Vec<_>>());
    let naive: Vec<NaiveDateTime> = want.iter().map(|t| t.naive_utc()).collect();
    assert_eq!(
        Moment::select_cols(Moment::naive)
            .order_by(Moment::naive)
            .all(db)?,
        naive
    );
    let days: Vec<NaiveDate> = want.iter().map(|t| t.date_naive()).collect();
    assert_eq!(
        Moment::select_cols(Moment::day)
            .order_by(Moment::day)
            .all(db)?,
        days
    );
    let mut keys: Vec<Uuid> = samples.iter().map(|m| m.key).collect();
    keys.sort();
    assert_eq!(
        Moment::select_cols(Moment::key)
            .order_by(Moment::key)
            .all(db)?,
        keys
    );
    Ok(())
}
on_every_strategy!(order_is_time_order);

/// gt, lt, between, eq on time, date and UUID columns; min and max; set.
fn filters_aggregates_and_set<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Moment::create_table(db)?;
    let samples = samples();
    Moment::insert_many(db, &samples)?;
    let epoch = utc(1970, 1, 1, 0, 0, 0, 0);
    let ids = |filter: doctable::Expr<Moment, bool>| -> Result<Vec<i64>, Error> {
        Moment::select_cols(Moment::id)
            .filter(filter)
            .order_by(Moment::id)
            .all(db)
            .map(|v| v.into_iter().flatten().collect())
    };
    assert_eq!(ids(Moment::utc.lt(epoch))?, [1, 3, 5]);
    assert_eq!(ids(Moment::at.gt(system(epoch)))?, [2, 4, 6]);
    assert_eq!(
        ids(Moment::local.between(
            utc(1800, 1, 1, 0, 0, 0, 0).fixed_offset(),
            utc(2100, 1, 1, 0, 0, 0, 0).fixed_offset()
        ))?,
        [3, 4, 5, 6]
    );
    assert_eq!(ids(Moment::naive.ge(epoch.naive_utc()))?, [2, 4, 6]);
    let leap = NaiveDate::from_ymd_opt(2024, 2, 29).expect("a date");
    assert_eq!(ids(Moment::day.eq(leap))?, [6]);
    assert_eq!(
        ids(Moment::day.between(NaiveDate::from_ymd_opt(1969, 12, 31).expect("a date"), leap))?,
        [3, 4, 6]
    );
    assert_eq!(ids(Moment::key.eq(Uuid::from_u128(1)))?, [3]);
    assert_eq!(ids(Moment::key.gt(Uuid::from_u128(1 << 70)))?, [2, 5]);
    assert_eq!(ids(Moment::maybe_at.is_null())?, [1, 2, 3, 6]);

    let (first, last, first_day, last_naive) = Moment::select_cols((
        Moment::utc.min(),
        Moment::at.max(),
        Moment::day.min(),
        Moment::naive.max(),
    ))
    .one(db)?;
    assert_eq!(first, Some(samples[0].utc));
    assert_eq!(last, Some(samples[1].at));
    assert_eq!(first_day, Some(samples[0].day));
    assert_eq!(last_naive, Some(samples[1].naive));
    // An engine difference (README "Dates, times, uuid and JSON values"):
    // PostgreSQL has no min/max over UUID; SQLite compares the text.
    if <C::Backend as Engine>::KIND == backends::Kind::Postgres {
        let err = expect_failure!(db, |c| Moment::select_cols(Moment::key.max()).one(c));
        assert!(
            err.to_string().contains("max(uuid) does not exist"),
            "{err}"
        );
    } else {
        assert_eq!(
            Moment::select_cols(Moment::key.max()).one(db)?,
            Some(Uuid::from_u128(u128::MAX))
        );
    }
    let none: Option<SystemTime> = Moment::select_cols(Moment::maybe_at.min())
        .filter(Moment::id.eq(1))
        .one(db)?;
    assert_eq!(none, None);

    let later = utc(2030, 5, 6, 7, 8, 9, 10);
    let changed = Moment::update()
        .set(Moment::utc, later)
        .set(Moment::maybe_at, system(later))
        .set(Moment::maybe_key, None)
        .filter(Moment::utc.lt(epoch))
        .run(db)?;
    assert_eq!(changed, 3);
    assert_eq!(ids(Moment::utc.eq(later))?, [1, 3, 5]);
    assert_eq!(ids(Moment::maybe_at.eq(system(later)))?, [1, 3, 5]);
    Ok(())
}
on_every_strategy!(filters_aggregates_and_set);

fn assert_conversion(err: &Error, column: &str, detail: &str) {
    match err {
        Error::Conversion {
            table,
            column: c,
            detail: d,
            ..
        } => {
            assert_eq!((table.as_str(), c.as_str()), ("moments", column), "{err}");
            assert!(d.contains(detail), "detail {d:?} lacks {detail:?}");
        }
        other => panic!("expected a conversion error on moments.{column}, got {other:?}"),
    }
}

fn expect_err<T: std::fmt::Debug>(result: Result<T, Error>) -> Error {
    match result {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// Nanoseconds that are not whole microseconds and years past 9999 are
/// refused on write, naming the column; nothing is stored.
fn unrepresentable_values_are_refused<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Moment::create_table(db)?;
    let base = moment(utc(2001, 1, 1, 0, 0, 0, 0), 0, 9);

    let mut nanos = base.clone();
    nanos.at = UNIX_EPOCH + Duration::from_nanos(1_500);
    let err = expect_failure!(db, |c| Moment::insert(c, &nanos));
    assert_conversion(&err, "at", "not whole microseconds");

    let mut nanos = base.clone();
    nanos.utc = base.utc + chrono::Duration::nanoseconds(1);
    let err = expect_failure!(db, |c| Moment::insert(c, &nanos));
    assert_conversion(&err, "utc", "not whole microseconds");

    let far = Utc
        .with_ymd_and_hms(10_000, 1, 1, 0, 0, 0)
        .single()
        .expect("chrono holds year 10000");
    let mut late = base.clone();
    late.local = far.fixed_offset();
    let err = expect_failure!(db, |c| Moment::insert(c, &late));
    assert_conversion(&err, "local", "0000-9999");

    let mut late = base.clone();
    late.day = far.date_naive();
    let err = expect_failure!(db, |c| Moment::insert(c, &late));
    assert_conversion(&err, "day", "0000-9999");

    let mut early = base.clone();
    early.naive = NaiveDate::from_ymd_opt(-1, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("chrono holds year -1");
    let err = expect_failure!(db, |c| Moment::insert(c, &early));
    assert_conversion(&err, "naive", "0000-9999");

    // Filters refuse the same values.
    let err = expect_failure!(db, |c| Moment::select().filter(Moment::utc.gt(far)).all(c));
    assert!(matches!(err, Error::Conversion { .. }), "{err:?}");
    assert!(Moment::select().all(db)?.is_empty());
    Ok(())
}
on_every_strategy!(unrepresentable_values_are_refused);

/// The SQLite encoding is the documented text, readable by other tools and
/// ordered as text.
#[test]
fn sqlite_stores_the_documented_text() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = doctable::Persistent::open(dir.path().join("t.db"))?;
    Moment::create_table(&db)?;
    let mut m = moment(
        utc(1969, 7, 20, 20, 17, 40, 5),
        2,
        0x0011_2233_4455_6677_8899_aabb_ccdd_eeff,
    );
    m.maybe_day = Some(NaiveDate::from_ymd_opt(33, 4, 5).expect("a date"));
    Moment::insert(&db, &m)?;
    drop(db);
    let raw = doctable::rusqlite::Connection::open(dir.path().join("t.db"))?;
    let row: (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    ) = raw.query_row(
        "SELECT at, utc, local, naive, day, key, maybe_day, typeof(at) FROM moments",
        [],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        },
    )?;
    assert_eq!(
        row,
        (
            "1969-07-20T20:17:40.000005Z".to_owned(),
            "1969-07-20T20:17:40.000005Z".to_owned(),
            "1969-07-20T20:17:40.000005Z".to_owned(),
            "1969-07-20T20:17:40.000005".to_owned(),
            "1969-07-20".to_owned(),
            "00112233-4455-6677-8899-aabbccddeeff".to_owned(),
            "0033-04-05".to_owned(),
            "text".to_owned(),
        )
    );
    // Text another program wrote in another form is refused on read, naming the column.
    raw.execute("UPDATE moments SET utc = '1969-07-20 20:17:40'", [])?;
    drop(raw);
    let db = doctable::Persistent::open(dir.path().join("t.db"))?;
    let err = expect_err(Moment::select().all(&db));
    assert_conversion(&err, "utc", "YYYY-MM-DDTHH:MM:SS.ffffffZ");
    Ok(())
}

// ---------------------------------------------------------------------------
// time's `OffsetDateTime`, `PrimitiveDateTime`, `Date` and jiff's
// `Timestamp`, `civil::Date`: the same encodings as chrono's types.

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "civil_moments")]
struct Civil {
    #[doctable(primary_key)]
    id: Option<i64>,
    odt: time::OffsetDateTime,
    pdt: time::PrimitiveDateTime,
    tdate: time::Date,
    ts: jiff::Timestamp,
    jdate: jiff::civil::Date,
    maybe_odt: Option<time::OffsetDateTime>,
    maybe_pdt: Option<time::PrimitiveDateTime>,
    maybe_ts: Option<jiff::Timestamp>,
    maybe_jdate: Option<jiff::civil::Date>,
}

/// The latest instant jiff holds, to the microsecond: 9999-12-30T22:00:00.999999Z
/// (jiff keeps every offset's civil time within the year 9999).
fn jiff_last() -> jiff::Timestamp {
    let max = jiff::Timestamp::MAX;
    jiff::Timestamp::new(max.as_second(), max.subsec_nanosecond() / 1000 * 1000)
        .expect("jiff holds its own maximum")
}

/// `t` in the time and jiff types, `time`'s `OffsetDateTime` at an offset of
/// `offset_hours` (the same instant); jiff's timestamp no later than
/// [`jiff_last`].
fn civil(t: DateTime<Utc>, offset_hours: i8) -> Civil {
    let micros = t.timestamp_micros();
    let utc = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .expect("time holds the years 0000-9999");
    let offset = time::UtcOffset::from_hms(offset_hours, 0, 0).expect("a valid offset");
    let day = t.date_naive();
    let jdate = jiff::civil::Date::new(
        i16::try_from(chrono::Datelike::year(&day)).expect("a small year"),
        i8::try_from(chrono::Datelike::month(&day)).expect("a month"),
        i8::try_from(chrono::Datelike::day(&day)).expect("a day"),
    )
    .expect("a valid date");
    let ts = jiff::Timestamp::new(
        micros.div_euclid(1_000_000),
        (micros.rem_euclid(1_000_000) * 1000) as i32,
    )
    .unwrap_or_else(|_| jiff_last());
    Civil {
        id: None,
        odt: utc.to_offset(offset),
        pdt: time::PrimitiveDateTime::new(utc.date(), utc.time()),
        tdate: utc.date(),
        ts,
        jdate,
        maybe_odt: None,
        maybe_pdt: None,
        maybe_ts: None,
        maybe_jdate: None,
    }
}

/// The extremes of the encoding (0000-01-01 and 9999-12-31T23:59:59.999999;
/// jiff's own last instant), the largest dates time and jiff hold, before
/// 1970, a microsecond either side of the epoch, non-UTC offsets.
fn civil_samples() -> Vec<Civil> {
    let mut out = vec![
        civil(utc(0, 1, 1, 0, 0, 0, 0), 0),
        civil(utc(9999, 12, 31, 23, 59, 59, 999_999), -11),
        civil(utc(1969, 12, 31, 23, 59, 59, 999_999), 14),
        civil(utc(1970, 1, 1, 0, 0, 0, 1), 0),
        civil(utc(1850, 7, 14, 12, 30, 15, 123_456), -5),
        civil(utc(2024, 2, 29, 6, 7, 8, 900_001), 9),
    ];
    assert_eq!(out[1].ts, jiff_last());
    assert_eq!(out[1].tdate, time::Date::MAX);
    assert_eq!(out[1].jdate, jiff::civil::Date::MAX);
    out[3].maybe_odt = Some(out[4].odt);
    out[3].maybe_pdt = Some(out[3].pdt);
    out[3].maybe_ts = Some(out[2].ts);
    out[3].maybe_jdate = Some(out[0].jdate);
    out
}

fn civil_round_trips<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Civil::create_table(db)?;
    let samples = civil_samples();
    for sample in &samples {
        let id = Civil::insert(db, sample)?;
        let back = Civil::get(db, id)?.expect("the row just inserted");
        assert_eq!(
            back,
            Civil {
                id: Some(id),
                ..sample.clone()
            }
        );
        // The instant is kept, in UTC; the offset itself is not stored.
        assert_eq!(back.odt.offset(), time::UtcOffset::UTC);
        assert_eq!(
            back.odt.unix_timestamp_nanos(),
            sample.odt.unix_timestamp_nanos()
        );
    }
    Civil::delete().all_rows().run(db)?;
    assert_eq!(Civil::insert_many(db, &samples)?, samples.len());
    let back: Vec<Civil> = Civil::select()
        .order_by(Civil::id)
        .all(db)?
        .into_iter()
        .map(|c| Civil { id: None, ..c })
        .collect();
    assert_eq!(back, samples);
    Ok(())
}
on_every_strategy!(civil_round_trips);

/// order_by on each column is time order; filters, min/max and set.
fn civil_order_filters_and_set<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Civil::create_table(db)?;
    let samples = civil_samples();
    Civil::insert_many(db, &samples)?;
    let mut by_time: Vec<usize> = (0..samples.len()).collect();
    by_time.sort_by_key(|&i| samples[i].odt);
    let ids = |order: doctable::Order<Civil>| -> Result<Vec<i64>, Error> {
        Civil::select_cols(Civil::id)
            .order_by(order)
            .all(db)
            .map(|v| v.into_iter().flatten().collect())
    };
    let in_time_order: Vec<i64> = by_time.iter().map(|&i| i as i64 + 1).collect();
    assert_eq!(ids(Civil::odt.asc())?, in_time_order);
    assert_eq!(ids(Civil::pdt.asc())?, in_time_order);
    assert_eq!(ids(Civil::ts.asc())?, in_time_order);
    let reversed: Vec<i64> = in_time_order.iter().rev().copied().collect();
    assert_eq!(ids(Civil::ts.desc())?, reversed);
    assert_eq!(ids(Civil::tdate.asc())?, in_time_order);
    assert_eq!(ids(Civil::jdate.desc())?, reversed);

    let filtered = |filter: doctable::Expr<Civil, bool>| -> Result<Vec<i64>, Error> {
        Civil::select_cols(Civil::id)
            .filter(filter)
            .order_by(Civil::id)
            .all(db)
            .map(|v| v.into_iter().flatten().collect())
    };
    let epoch = time::OffsetDateTime::UNIX_EPOCH;
    assert_eq!(filtered(Civil::odt.lt(epoch))?, [1, 3, 5]);
    // A bound at another offset is the same instant.
    let plus_two = time::UtcOffset::from_hms(2, 0, 0)?;
    assert_eq!(
        filtered(Civil::odt.ge(epoch.to_offset(plus_two)))?,
        [2, 4, 6]
    );
    assert_eq!(
        filtered(Civil::pdt.gt(time::PrimitiveDateTime::new(epoch.date(), epoch.time())))?,
        [2, 4, 6]
    );
    assert_eq!(
        filtered(Civil::ts.gt(jiff::Timestamp::UNIX_EPOCH))?,
        [2, 4, 6]
    );
    let leap = jiff::civil::Date::new(2024, 2, 29)?;
    assert_eq!(filtered(Civil::jdate.eq(leap))?, [6]);
    assert_eq!(
        filtered(Civil::tdate.between(
            time::Date::from_calendar_date(1969, time::Month::December, 31)?,
            time::Date::from_calendar_date(2024, time::Month::February, 29)?
        ))?,
        [3, 4, 6]
    );
    assert_eq!(filtered(Civil::maybe_ts.is_not_null())?, [4]);

    let (first, last, first_day, last_day, last_ts) = Civil::select_cols((
        Civil::odt.min(),
        Civil::pdt.max(),
        Civil::tdate.min(),
        Civil::jdate.max(),
        Civil::ts.max(),
    ))
    .one(db)?;
    assert_eq!(first, Some(samples[0].odt));
    assert_eq!(last, Some(samples[1].pdt));
    assert_eq!(first_day, Some(samples[0].tdate));
    assert_eq!(last_day, Some(jiff::civil::Date::MAX));
    assert_eq!(last_ts, Some(jiff_last()));

    let later = civil(utc(2030, 5, 6, 7, 8, 9, 10), 3);
    let changed = Civil::update()
        .set(Civil::odt, later.odt)
        .set(Civil::ts, later.ts)
        .set(Civil::maybe_jdate, later.jdate)
        .set(Civil::maybe_odt, None)
        .filter(Civil::ts.lt(jiff::Timestamp::UNIX_EPOCH))
        .run(db)?;
    assert_eq!(changed, 3);
    assert_eq!(filtered(Civil::odt.eq(later.odt))?, [1, 3, 5]);
    assert_eq!(filtered(Civil::maybe_jdate.eq(later.jdate))?, [1, 3, 5]);
    assert_eq!(filtered(Civil::maybe_odt.is_null())?, [1, 2, 3, 5, 6]);
    Ok(())
}
on_every_strategy!(civil_order_filters_and_set);

fn assert_civil_conversion(err: &Error, column: &str, detail: &str) {
    match err {
        Error::Conversion {
            table,
            column: c,
            detail: d,
            ..
        } => {
            assert_eq!(
                (table.as_str(), c.as_str()),
                ("civil_moments", column),
                "{err}"
            );
            assert!(d.contains(detail), "detail {d:?} lacks {detail:?}");
        }
        other => panic!("expected a conversion error on civil_moments.{column}, got {other:?}"),
    }
}

/// What time and jiff hold beyond the encoding (nanoseconds, years before
/// 0000) is refused on write, naming the column; nothing is stored. A
/// stored instant beyond jiff's own range is refused on read.
fn civil_unrepresentable_values_are_refused<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Civil::create_table(db)?;
    let base = civil(utc(2001, 1, 1, 0, 0, 0, 0), 0);
    let refused = |change: &dyn Fn(&mut Civil), column: &str, detail: &str| {
        let mut row = base.clone();
        change(&mut row);
        let err = expect_failure!(db, |c| Civil::insert(c, &row));
        assert_civil_conversion(&err, column, detail);
    };
    refused(
        &|c| c.odt = base.odt + time::Duration::nanoseconds(1),
        "odt",
        "not whole microseconds",
    );
    refused(
        &|c| c.pdt = time::PrimitiveDateTime::MAX,
        "pdt",
        "not whole microseconds",
    );
    refused(
        &|c| c.pdt = time::PrimitiveDateTime::MIN,
        "pdt",
        "0000-9999",
    );
    refused(&|c| c.tdate = time::Date::MIN, "tdate", "0000-9999");
    refused(
        &|c| c.ts = jiff::Timestamp::MAX,
        "ts",
        "not whole microseconds",
    );
    refused(&|c| c.ts = jiff::Timestamp::MIN, "ts", "0000-9999");
    refused(&|c| c.jdate = jiff::civil::Date::MIN, "jdate", "0000-9999");
    refused(
        &|c| c.maybe_ts = Some(jiff::Timestamp::from_nanosecond(1).expect("1 ns")),
        "maybe_ts",
        "not whole microseconds",
    );
    // Filters refuse the same values.
    let err = expect_failure!(db, |c| Civil::select()
        .filter(Civil::ts.lt(jiff::Timestamp::MAX))
        .all(c));
    assert!(matches!(err, Error::Conversion { .. }), "{err:?}");
    assert!(Civil::select().all(db)?.is_empty());

    // 9999-12-31T23:00Z is in the encoding's range and past jiff's.
    Moment::create_table(db)?;
    let late = moment(utc(9999, 12, 31, 23, 0, 0, 0), 0, 1);
    let id = Moment::insert(db, &late)?;
    let err = expect_failure!(db, |c| JiffView::get(c, id));
    match &err {
        Error::Conversion { column, detail, .. } => {
            assert_eq!(column, "utc");
            assert!(detail.contains("jiff::Timestamp"), "{detail}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    Ok(())
}
on_every_strategy!(civil_unrepresentable_values_are_refused);

/// The `moments` table's `utc` column read as a jiff timestamp.
#[derive(DocTable, Debug)]
#[doctable(table = "moments")]
struct JiffView {
    #[doctable(primary_key)]
    id: Option<i64>,
    utc: jiff::Timestamp,
}

/// The SQLite text of the time and jiff types is that of chrono's.
#[test]
fn sqlite_stores_civil_types_as_the_documented_text() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = doctable::Persistent::open(dir.path().join("t.db"))?;
    Civil::create_table(&db)?;
    let mut c = civil(utc(1969, 7, 20, 20, 17, 40, 5), 2);
    c.maybe_jdate = Some(jiff::civil::Date::new(33, 4, 5)?);
    Civil::insert(&db, &c)?;
    drop(db);
    let raw = doctable::rusqlite::Connection::open(dir.path().join("t.db"))?;
    let row: [String; 6] = raw.query_row(
        "SELECT odt, pdt, tdate, ts, jdate, maybe_jdate FROM civil_moments",
        [],
        |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        },
    )?;
    assert_eq!(
        row,
        [
            "1969-07-20T20:17:40.000005Z",
            "1969-07-20T20:17:40.000005",
            "1969-07-20",
            "1969-07-20T20:17:40.000005Z",
            "1969-07-20",
            "0033-04-05",
        ]
    );
    Ok(())
}
