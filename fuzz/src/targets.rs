//! The fuzz targets' bodies, shared by the cargo-fuzz binaries
//! (`fuzz_targets/*.rs`), the stable `smoke` binary, and the workspace test
//! `tests/reliability_fuzz_replay.rs` (which includes this file by path, so it
//! needs nothing beyond `doctable`, `serde_json` and std).
//!
//! - [`expr_builder`]: turns the input into a sequence of operations, each
//!   with filters, orders, groupings, assignments and literals built through
//!   the public API, and runs them on an in-memory table. Errors are fine; a
//!   panic is a finding.
//! - [`row_decode`]: writes values of every storage class (integers, reals,
//!   text that may not be UTF-8, blobs, NULL) into an untyped table with raw
//!   rusqlite, then reads them through a derived struct with every field type.
//!   Errors are fine; a panic is a finding.

use doctable::rusqlite::types::{ToSqlOutput, ValueRef};
use doctable::{DocTable, Expr, Json, Persistent, rusqlite};

/// Reads the fuzz input as a stream of choices; once it is exhausted every
/// read is 0, so generation always ends.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.u8()))
    }

    pub fn i64(&mut self) -> i64 {
        // Mostly small numbers (which collide with the data), sometimes any.
        match self.u8() % 4 {
            0 => self.u64() as i64,
            1 => [i64::MIN, i64::MAX, -1, 0, 1, 255, 256, -129][usize::from(self.u8() % 8)],
            _ => i64::from(self.u8() % 16) - 8,
        }
    }

    pub fn i32(&mut self) -> i32 {
        match self.u8() % 3 {
            0 => self.u64() as i32,
            _ => i32::from(self.u8()) - 128,
        }
    }

    pub fn f64(&mut self) -> f64 {
        match self.u8() % 4 {
            0 => f64::from_bits(self.u64()), // NaN included
            1 => [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.0,
                f64::MIN_POSITIVE,
                f64::MAX,
                1e300,
                0.5,
            ][usize::from(self.u8() % 8)],
            _ => f64::from(self.u8() % 16) / 2.0 - 4.0,
        }
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.u8()) % n
        }
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// Up to `max` raw bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head.to_vec()
    }

    /// A string: a few fixed tricky ones, or the input's bytes made UTF-8.
    pub fn string(&mut self) -> String {
        const FIXED: &[&str] = &[
            "",
            "a",
            "A",
            "é",
            "a\0b",
            "'",
            "\"",
            "%",
            "_",
            "?1",
            "); DROP TABLE \"select\"; --",
            "🦀",
        ];
        if self.bool() {
            FIXED[self.below(FIXED.len())].to_owned()
        } else {
            String::from_utf8_lossy(&self.bytes(24)).into_owned()
        }
    }
}

// ---------------------------------------------------------------------------
// expr_builder

/// A table with awkward names, constraints and every kind of column.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "select", index(by_n_s = [n, s]), check = "\"n\" > -1000000")]
pub struct Fz {
    #[doctable(primary_key)]
    pub id: Option<i64>,
    #[doctable(rename = "a \"quoted\" n", index)]
    pub n: i64,
    pub u: u8,
    pub m: Option<i64>,
    pub x: f64,
    pub y: Option<f64>,
    #[doctable(unique)]
    pub s: String,
    #[doctable(rename = "from")]
    pub t: Option<String>,
    pub b: Option<bool>,
    pub raw: Vec<u8>,
    #[doctable(json)]
    pub tags: Vec<String>,
}

/// A second table, referencing the first, for joins.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "child")]
pub struct Kid {
    #[doctable(primary_key)]
    pub id: Option<i64>,
    #[doctable(references(Fz::id), on_delete = "cascade")]
    pub parent: Option<i64>,
    pub weight: f64,
}

fn fz_row(b: &mut Bytes<'_>) -> Fz {
    Fz {
        id: b.bool().then(|| b.i64()),
        n: b.i64(),
        u: b.u8(),
        m: b.bool().then(|| b.i64()),
        x: b.f64(),
        y: b.bool().then(|| b.f64()),
        s: b.string(),
        t: b.bool().then(|| b.string()),
        b: match b.u8() % 3 {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        },
        raw: b.bytes(16),
        tags: (0..b.below(3)).map(|_| b.string()).collect(),
    }
}

/// An integer-valued expression over `Fz`.
fn int_expr(b: &mut Bytes<'_>, depth: u32) -> Expr<Fz, i64> {
    let pick = if depth == 0 { b.below(3) } else { b.below(9) };
    match pick {
        0 => Fz::n.expr(),
        1 => Fz::n + b.i64(),
        2 => Fz::n * b.i32(),
        3 => int_expr(b, depth - 1) + int_expr(b, depth - 1),
        4 => int_expr(b, depth - 1) - b.i64(),
        5 => int_expr(b, depth - 1) * int_expr(b, depth - 1),
        6 => int_expr(b, depth - 1) / b.i64(), // division by 0 is NULL in SQLite
        7 => Fz::n.count(),                    // an aggregate where it may not belong
        _ => Fz::n.expr() / Fz::n,
    }
}

fn real_expr(b: &mut Bytes<'_>, depth: u32) -> Expr<Fz, f64> {
    match b.below(if depth == 0 { 2 } else { 5 }) {
        0 => Fz::x.expr(),
        1 => Fz::x + b.f64(), // NaN: a conversion error when the query runs
        2 => real_expr(b, depth - 1) * real_expr(b, depth - 1),
        3 => real_expr(b, depth - 1) / b.i32(),
        _ => Fz::x * Fz::x,
    }
}

/// A condition over `Fz`, at most `depth` levels of and/or/not deep.
fn cond(b: &mut Bytes<'_>, depth: u32) -> Expr<Fz, bool> {
    if depth > 0 && b.below(3) == 0 {
        let which = b.below(4);
        return combine(b, which, depth);
    }
    match b.below(24) {
        0 => int_expr(b, depth).eq(b.i64()),
        1 => int_expr(b, depth).lt(int_expr(b, depth.saturating_sub(1))),
        2 => Fz::n.between(b.i64(), b.i64()),
        3 => Fz::n.in_list((0..b.below(5)).map(|_| b.i64()).collect::<Vec<_>>()),
        4 => Fz::u.ge(b.i32()), // out of u8's range: a conversion error at run time
        5 => Fz::u.in_list((0..b.below(4)).map(|_| b.i32()).collect::<Vec<_>>()),
        6 => Fz::m.eq(if b.bool() { Some(b.i64()) } else { None }),
        7 => Fz::m.ne(if b.bool() { Some(b.i64()) } else { None }),
        8 => Fz::m.gt(Fz::n),
        9 => Fz::m.in_list(
            (0..b.below(4))
                .map(|_| b.bool().then(|| b.i64()))
                .collect::<Vec<_>>(),
        ),
        10 => real_expr(b, depth).le(b.f64()),
        11 => Fz::y.between(b.bool().then(|| b.f64()), b.f64()),
        12 => Fz::s.eq(b.string()),
        13 => Fz::s.like(&b.string()),
        14 => Fz::s.between(b.string(), b.string()),
        15 => Fz::t.in_list(
            (0..b.below(4))
                .map(|_| b.bool().then(|| b.string()))
                .collect::<Vec<_>>(),
        ),
        16 => Fz::t.like(&b.string()),
        17 => Fz::b.eq(b.bool()),
        18 => Fz::raw.eq(b.bytes(8)),
        19 => Fz::t.is_null(),
        20 => Fz::y.is_not_null(),
        21 => raw_condition(b),
        22 => Fz::x.avg().gt(b.f64()), // an aggregate in WHERE: SQLite refuses it
        _ => Fz::id.ge(b.i64()),
    }
}

/// `and`, `or`, `not` and the operators, over sub-conditions.
fn combine(b: &mut Bytes<'_>, which: usize, depth: u32) -> Expr<Fz, bool> {
    let d = depth.saturating_sub(1);
    match which {
        0 => cond(b, d).and(cond(b, d)),
        1 => cond(b, d) | cond(b, d),
        2 => !cond(b, d),
        _ => cond(b, d).not().or(cond(b, d) & cond(b, d)),
    }
}

/// Raw SQL from a fixed list (raw text is `'static` by design), with a
/// parameter count that may not match.
fn raw_condition(b: &mut Bytes<'_>) -> Expr<Fz, bool> {
    const RAW: &[&str] = &[
        "\"u\" > ?",
        "length(\"s\") < ?",
        "?",
        "1 = 1",
        "(",
        "\"nope\" = ?",
        "? ? ?",
        "\"select\".\"from\" IS NULL",
        "",
    ];
    let sql = RAW[b.below(RAW.len())];
    let params: Vec<i64> = (0..b.below(4)).map(|_| b.i64()).collect();
    Expr::raw(sql, params)
}

/// Runs the operations the input describes on a fresh in-memory database.
/// Returns how many operations failed (with an error, as they may).
pub fn expr_builder(data: &[u8]) -> usize {
    let mut b = Bytes::new(data);
    let Ok(db) = Persistent::open_in_memory() else {
        return 0;
    };
    if Fz::create_table(&db).is_err() || Kid::create_table(&db).is_err() {
        return 0;
    }
    let mut errors = 0;
    let mut note = |r: doctable::Result<()>| errors += usize::from(r.is_err());
    let seed: Vec<Fz> = (0..b.below(8)).map(|_| fz_row(&mut b)).collect();
    note(Fz::insert_many_or_ignore(&db, &seed).map(drop));
    let mut steps = 0;
    while !b.is_empty() && steps < 16 {
        steps += 1;
        let depth = (b.below(4)) as u32;
        match b.below(14) {
            0 => {
                let mut q = Fz::select().filter(cond(&mut b, depth));
                for _ in 0..b.below(3) {
                    q = if b.bool() {
                        q.order_by(int_expr(&mut b, 1).desc())
                    } else {
                        q.order_by(Fz::s)
                    };
                }
                if b.bool() {
                    q = q.limit(b.u64());
                }
                if b.bool() {
                    q = q.offset(b.u64());
                }
                if b.bool() {
                    q = q.distinct();
                }
                let _ = q.sql();
                note(q.all(&db).map(drop));
                note(q.first(&db).map(drop));
                note(q.exists(&db).map(drop));
                note(q.chunks(&db, b.below(4), |_| Ok(())));
            }
            1 => note(
                Fz::count()
                    .filter(cond(&mut b, depth))
                    .filter(cond(&mut b, 0))
                    .get(&db)
                    .map(drop),
            ),
            2 => {
                let q = Fz::select_cols((
                    Fz::n,
                    Fz::x.sum(),
                    Fz::s.max(),
                    Fz::m.avg(),
                    Fz::id.count(),
                    Fz::t.count_distinct(),
                    int_expr(&mut b, depth),
                ))
                .group_by(int_expr(&mut b, depth))
                .having(cond(&mut b, depth))
                .order_by(Fz::x.desc());
                note(q.all(&db).map(drop));
            }
            3 => {
                let q = Fz::update()
                    .set(Fz::n, int_expr(&mut b, depth))
                    .set(Fz::s, b.string())
                    .set(Fz::y, if b.bool() { Some(b.f64()) } else { None })
                    .set(Fz::u, b.i32())
                    .filter(cond(&mut b, depth));
                if b.bool() {
                    note(q.run(&db).map(drop));
                } else {
                    note(q.returning(&db).map(drop));
                }
            }
            4 => note(Fz::delete().filter(cond(&mut b, depth)).run(&db).map(drop)),
            5 => {
                let row = fz_row(&mut b);
                match b.below(5) {
                    0 => note(Fz::insert(&db, &row).map(drop)),
                    1 => note(Fz::insert_or_ignore(&db, &row).map(drop)),
                    2 => note(Fz::insert_or_replace(&db, &row).map(drop)),
                    3 => note(Fz::insert_returning(&db, &row).map(drop)),
                    _ => note(Fz::update_row(&db, &row)),
                }
            }
            6 => {
                let rows: Vec<Fz> = (0..b.below(6)).map(|_| fz_row(&mut b)).collect();
                note(Fz::insert_many(&db, &rows).map(drop));
            }
            7 => {
                let row = fz_row(&mut b);
                let upsert = match b.below(3) {
                    0 => Fz::upsert().on_conflict(Fz::s).update((Fz::n, Fz::x)),
                    1 => Fz::upsert().on_conflict(Fz::s).do_nothing(),
                    _ => Fz::upsert().on_conflict((Fz::n, Fz::s)),
                };
                note(upsert.run(&db, &row).map(drop));
            }
            8 => note(Fz::get(&db, b.i64()).map(drop)),
            9 => {
                let kid = Kid {
                    id: None,
                    parent: b.bool().then(|| b.i64()),
                    weight: b.f64(),
                };
                note(Kid::insert(&db, &kid).map(drop));
                let join = Fz::select()
                    .filter(cond(&mut b, depth))
                    .join(Fz::id, Kid::parent)
                    .filter(Kid::weight.lt(b.f64()))
                    .order_by(Kid::weight.desc())
                    .limit(b.u64());
                note(join.all(&db).map(drop));
                note(
                    Fz::select()
                        .left_join(Fz::id, Kid::parent)
                        .filter(cond(&mut b, depth))
                        .first(&db)
                        .map(drop),
                );
            }
            10 => {
                const SQL: &[&str] = &[
                    "WHERE \"u\" > ?",
                    "ORDER BY 1 LIMIT ?",
                    "WHERE",
                    "",
                    "WHERE \"s\" = ? AND \"n\" = ?",
                ];
                let sql = SQL[b.below(SQL.len())];
                let params: Vec<i64> = (0..b.below(3)).map(|_| b.i64()).collect();
                note(Fz::select_sql(sql, params, &db).map(drop));
            }
            11 => {
                let fail = b.bool();
                let row = fz_row(&mut b);
                let filter = cond(&mut b, depth);
                note(db.transaction(|tx| {
                    Fz::insert(tx, &row)?;
                    tx.transaction(|inner| Fz::delete().filter(filter).run(inner))?;
                    if fail {
                        Err(doctable::Error::Usage("roll back".into()))
                    } else {
                        Ok(())
                    }
                }));
            }
            12 => {
                note(Fz::schema_diff(&db).map(drop));
                note(Fz::create_table(&db));
            }
            _ => {
                let sql = Fz::select()
                    .filter(cond(&mut b, depth))
                    .order_by(real_expr(&mut b, depth))
                    .sql();
                // The SQL text never contains a value: values are bound.
                debug_assert!(!sql.is_empty());
            }
        }
    }
    // The database is still usable and consistent after whatever happened.
    if let Ok(n) = Fz::count().get(&db) {
        let all = Fz::select().all(&db).map(|rows| rows.len() as i64);
        if let Ok(len) = all {
            assert_eq!(len, n, "count() and select().all() disagree");
        }
    }
    errors
}

// ---------------------------------------------------------------------------
// row_decode

/// Every field type the crate maps, each read from whatever another program stored.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "decode")]
pub struct Decode {
    #[doctable(primary_key)]
    pub id: Option<i64>,
    pub a_i8: i8,
    pub a_i16: i16,
    pub a_i32: i32,
    pub a_i64: i64,
    pub a_isize: isize,
    pub a_u8: u8,
    pub a_u16: u16,
    pub a_u32: u32,
    pub a_u64: u64,
    pub a_usize: usize,
    pub a_f32: f32,
    pub a_f64: f64,
    pub a_bool: bool,
    pub a_string: String,
    pub a_bytes: Vec<u8>,
    pub o_i64: Option<i64>,
    pub o_u8: Option<u8>,
    pub o_f32: Option<f32>,
    pub o_bool: Option<bool>,
    pub o_string: Option<String>,
    pub o_bytes: Option<Vec<u8>>,
    #[doctable(json)]
    pub tags: Vec<String>,
    #[doctable(json)]
    pub maybe_map: Option<std::collections::BTreeMap<String, i64>>,
    pub any_json: Json<serde_json::Value>,
}

/// An SQLite value of any storage class; text may be invalid UTF-8.
fn value(b: &mut Bytes<'_>) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match b.below(8) {
        0 => Value::Null,
        1 | 2 => Value::Integer(b.i64()),
        3 => Value::Real(b.f64()),
        4 => Value::Text(b.string()),
        5 => {
            const JSON: &[&str] = &[
                "[]",
                "[\"a\"]",
                "{\"k\": 1}",
                "{\"k\": 1e400}",
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                "null",
                "\"\\ud800\"",
                "{\"k\": 9223372036854775808}",
                "1",
                "[1, \"a\"]",
            ];
            Value::Text(JSON[b.below(JSON.len())].to_owned())
        }
        _ => Value::Blob(b.bytes(16)),
    }
}

/// Writes rows of arbitrary values into an untyped `decode` table (so SQLite
/// keeps every value as given, invalid UTF-8 text included), then reads them
/// through `Decode` every way there is. Returns how many reads failed.
pub fn row_decode(data: &[u8]) -> usize {
    let mut b = Bytes::new(data);
    let Ok(db) = Persistent::open_in_memory() else {
        return 0;
    };
    let columns: Vec<&str> = Decode::META.columns.iter().map(|c| c.name).collect();
    let mut create = String::from("CREATE TABLE \"decode\" (");
    for (i, name) in columns.iter().enumerate() {
        if i > 0 {
            create.push_str(", ");
        }
        create.push('"');
        create.push_str(name);
        // No declared type: no affinity, values are stored as given. The key
        // is a rowid alias only when the input says so.
        create.push_str(if i == 0 && b.bool() {
            "\" INTEGER PRIMARY KEY"
        } else {
            "\""
        });
    }
    create.push(')');
    let placeholders = vec!["?"; columns.len()].join(", ");
    let insert = format!("INSERT INTO \"decode\" VALUES ({placeholders})");
    let rows = 1 + b.below(4);
    let written = db.with_rusqlite(|c| -> rusqlite::Result<()> {
        c.execute_batch(&create)?;
        for _ in 0..rows {
            let mut values: Vec<rusqlite::types::Value> =
                (0..columns.len()).map(|_| value(&mut b)).collect();
            // Invalid UTF-8 as TEXT: bound as text bytes, not through a String.
            let raw_text = b.bytes(8);
            let at = b.below(columns.len());
            let mut stmt = c.prepare(&insert)?;
            for (i, v) in values.drain(..).enumerate() {
                if i == at && !raw_text.is_empty() {
                    stmt.raw_bind_parameter(
                        i + 1,
                        ToSqlOutput::Borrowed(ValueRef::Text(&raw_text)),
                    )?;
                } else {
                    stmt.raw_bind_parameter(i + 1, v)?;
                }
            }
            // A duplicate key is just a row fewer.
            let _ = stmt.raw_execute();
        }
        Ok(())
    });
    if !matches!(written, Ok(Ok(()))) {
        return 0;
    }

    let mut errors = 0;
    let mut note = |r: doctable::Result<()>| errors += usize::from(r.is_err());
    note(Decode::select().all(&db).map(drop));
    note(
        Decode::select()
            .order_by(Decode::a_f64.desc())
            .first(&db)
            .map(drop),
    );
    note(Decode::select().for_each(&db, |_| Ok(())));
    note(Decode::get(&db, b.i64()).map(drop));
    note(Decode::get(&db, 1).map(drop));
    note(
        Decode::count()
            .filter(Decode::a_u8.gt(3))
            .get(&db)
            .map(drop),
    );
    note(
        Decode::select_cols((Decode::a_u64, Decode::a_usize, Decode::a_isize))
            .all(&db)
            .map(drop),
    );
    note(
        Decode::select_cols((Decode::a_f32, Decode::o_f32, Decode::a_bool))
            .all(&db)
            .map(drop),
    );
    note(
        Decode::select_cols((Decode::tags, Decode::maybe_map, Decode::any_json))
            .all(&db)
            .map(drop),
    );
    note(
        Decode::select_cols((
            Decode::a_string,
            Decode::o_string,
            Decode::a_bytes,
            Decode::o_bytes,
        ))
        .all(&db)
        .map(drop),
    );
    note(
        Decode::select_cols((Decode::a_i8.max(), Decode::a_u16.sum(), Decode::a_f32.avg()))
            .all(&db)
            .map(drop),
    );
    note(
        Decode::update()
            .set(Decode::a_i64, Decode::a_i64)
            .all_rows()
            .returning(&db)
            .map(drop),
    );
    note(Decode::schema_diff(&db).map(drop));
    // Whatever read, a row that came back whole can be written and read again.
    if let Ok(rows) = Decode::select().all(&db) {
        let typed = Persistent::open_in_memory();
        if let Ok(typed) = typed
            && Decode::create_table(&typed).is_ok()
        {
            for row in rows {
                if Decode::insert(&typed, &row).is_ok() {
                    note(Decode::select().all(&typed).map(drop));
                }
            }
        }
    }
    errors
}
