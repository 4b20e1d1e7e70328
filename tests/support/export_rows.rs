//! The rows the export tests write and read back (tests/export_csv.rs,
//! export_arrow.rs, export_parquet.rs): every logical type, NULL beside
//! each nullable one, text that needs quoting (quotes, commas, newlines,
//! unicode), blobs, JSON, timestamps before 1970, at the extremes and to the
//! microsecond. And what each column should export as, computed here from
//! the Rust values without doctable.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use doctable::DocTable;
use uuid::Uuid;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "exported")]
pub struct Exported {
    #[doctable(primary_key)]
    pub id: Option<i64>,
    pub title: String,
    pub note: Option<String>,
    pub tally: i64,
    pub score: f64,
    pub ratio: Option<f64>,
    pub flag: bool,
    pub maybe_flag: Option<bool>,
    pub data: Vec<u8>,
    pub maybe_data: Option<Vec<u8>>,
    #[doctable(json)]
    pub tags: Vec<String>,
    pub at: DateTime<Utc>,
    pub maybe_at: Option<SystemTime>,
    pub naive: NaiveDateTime,
    pub day: NaiveDate,
    pub maybe_day: Option<NaiveDate>,
    pub key: Uuid,
    pub maybe_key: Option<Uuid>,
}

/// The column names, in order: what a header or a schema must say.
pub const COLUMNS: [&str; 18] = [
    "id",
    "title",
    "note",
    "tally",
    "score",
    "ratio",
    "flag",
    "maybe_flag",
    "data",
    "maybe_data",
    "tags",
    "at",
    "maybe_at",
    "naive",
    "day",
    "maybe_day",
    "key",
    "maybe_key",
];

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

/// Five rows: the odd ones carry NULL in every nullable column.
pub fn rows() -> Vec<Exported> {
    let titles = [
        "plain",
        "a \"quoted\" word, and a comma",
        "two\nlines\r\nand a CRLF",
        " naïve café — 日本語 🦀 ",
        "",
    ];
    let times = [
        utc(2024, 2, 29, 6, 7, 8, 900_001),
        utc(1969, 12, 31, 23, 59, 59, 999_999),
        utc(0, 1, 1, 0, 0, 0, 0),
        utc(9999, 12, 31, 23, 59, 59, 999_999),
        utc(1850, 7, 14, 12, 30, 15, 123_456),
    ];
    let floats = [0.1, 1e300, f64::MIN_POSITIVE, 1.0 / 3.0, -123_456_789.125];
    let counts = [0, i64::MIN, i64::MAX, -1, 42];
    let blobs: [&[u8]; 5] = [b"", b"\x00", b"\xff\x00,\"\n", b"bytes", &[0xab; 40]];
    (0..5)
        .map(|i| {
            let t = times[i];
            let with_nulls = i % 2 == 1;
            Exported {
                id: None,
                title: titles[i].to_owned(),
                note: (!with_nulls).then(|| format!("note {i}, \"{}\"", titles[(i + 1) % 5])),
                tally: counts[i],
                score: floats[i],
                ratio: (!with_nulls).then_some(floats[4 - i]),
                flag: i % 3 == 0,
                maybe_flag: (!with_nulls).then_some(i == 2),
                data: blobs[i].to_vec(),
                maybe_data: (!with_nulls).then(|| blobs[4 - i].to_vec()),
                tags: (0..i)
                    .map(|k| format!("tag \"{k}\", {}", titles[k]))
                    .collect(),
                at: t,
                maybe_at: (!with_nulls).then(|| system(times[4 - i])),
                naive: t.naive_utc(),
                day: t.date_naive(),
                maybe_day: (!with_nulls).then(|| times[4 - i].date_naive()),
                key: Uuid::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677 * (i as u128 + 1)),
                maybe_key: (!with_nulls).then(|| Uuid::from_u128(u128::MAX - i as u128)),
            }
        })
        .collect()
}

/// What one exported value should be, in the terms every format shares.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
    /// Microseconds since 1970-01-01 UTC.
    Timestamp(i64),
    /// Microseconds since 1970-01-01T00:00, no zone.
    DateTime(i64),
    /// Days since 1970-01-01.
    Date(i32),
    /// A UUID, exported as lowercase hyphenated text.
    Uuid(String),
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Want) -> Want {
    v.map_or(Want::Null, f)
}

fn system_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).expect("fits"),
        Err(e) => -i64::try_from(e.duration().as_micros()).expect("fits"),
    }
}

fn days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    i32::try_from((d - epoch).num_days()).expect("fits")
}

/// The values row `r` exports, column by column (see [`COLUMNS`]).
pub fn want(r: &Exported) -> Vec<Want> {
    vec![
        Want::Int(r.id.expect("a row read back has its id")),
        Want::Text(r.title.clone()),
        opt(r.note.clone(), Want::Text),
        Want::Int(r.tally),
        Want::Float(r.score),
        opt(r.ratio, Want::Float),
        Want::Bool(r.flag),
        opt(r.maybe_flag, Want::Bool),
        Want::Bytes(r.data.clone()),
        opt(r.maybe_data.clone(), Want::Bytes),
        Want::Json(serde_json::to_value(&r.tags).expect("json")),
        Want::Timestamp(r.at.timestamp_micros()),
        opt(r.maybe_at, |t| Want::Timestamp(system_micros(t))),
        Want::DateTime(r.naive.and_utc().timestamp_micros()),
        Want::Date(days(r.day)),
        opt(r.maybe_day, |d| Want::Date(days(d))),
        Want::Uuid(r.key.to_string()),
        opt(r.maybe_key, |k| Want::Uuid(k.to_string())),
    ]
}

/// `micros` after 1970-01-01T00:00 as `YYYY-MM-DDTHH:MM:SS.ffffff`.
pub fn micros_text(micros: i64) -> String {
    let t = DateTime::from_timestamp_micros(micros)
        .expect("in range")
        .naive_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1000
    )
}

/// `days` after 1970-01-01 as `YYYY-MM-DD`.
pub fn date_text(days: i32) -> String {
    let d = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
        + chrono::Duration::days(i64::from(days));
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// Whether `got`, read back from an export, is `want`: floats bit for bit,
/// JSON compared as parsed values (PostgreSQL's JSONB prints it in its own
/// normal form), everything else equal.
pub fn same(want: &Want, got: &Want) -> bool {
    match (want, got) {
        (Want::Float(a), Want::Float(b)) => a.to_bits() == b.to_bits(),
        (Want::Json(a), Want::Text(b)) => {
            serde_json::from_str::<serde_json::Value>(b).ok().as_ref() == Some(a)
        }
        (a, b) => a == b,
    }
}
