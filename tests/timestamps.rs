//! `#[doctable(added)]` and `#[doctable(updated)]` (issue 12, "Timestamps"),
//! on every strategy of both engines, from one source: the crate writes the
//! time on every insert path (`added` and `updated`) and on every update it
//! runs (`updated` only), ignoring the struct's values; what it wrote is what
//! a read returns; `added` never changes after the insert (the ancestor had
//! the two swapped: `the_ancestors_swap_stays_fixed`); a failed update leaves
//! `updated` as it was. The other time types are in `other_types` (with the
//! features chrono, time and jiff).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use doctable::{Conn, DocTable, Error, Stamp};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, TestResult};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    title: String,
    body: String,
    #[doctable(added)]
    added: SystemTime,
    #[doctable(updated)]
    updated: SystemTime,
}

/// A time the encoding cannot hold (a nanosecond): were the struct's
/// `added` or `updated` bound, the write would fail with a conversion error.
fn unstorable() -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(1)
}

fn doc(title: &str, body: &str) -> Doc {
    Doc {
        id: None,
        title: title.into(),
        body: body.into(),
        added: unstorable(),
        updated: unstorable(),
    }
}

/// The wall clock, for a window a stamp must fall in.
fn clock() -> SystemTime {
    SystemTime::now()
}

/// `t` lies between `before` (less the microsecond the encoding drops) and
/// a second after `after` (stamps may run a little ahead of the clock, never behind).
fn assert_within(t: SystemTime, before: SystemTime, after: SystemTime) {
    assert!(
        t + Duration::from_micros(1) >= before && t <= after + Duration::from_secs(1),
        "{t:?} is not between {before:?} and {after:?}"
    );
}

fn by_title<C: Conn>(db: &C, title: &str) -> Result<Doc, Error> {
    Doc::select().filter(Doc::title.eq(title)).one(db)
}

/// Every insert path sets `added` and `updated` to one time, the crate's,
/// not the struct's; `insert_returning` returns what is stored.
fn every_insert_path_stamps_the_row<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let before = clock();
    Doc::insert(db, &doc("insert", "a"))?;
    Doc::insert_or_ignore(db, &doc("or_ignore", "a"))?;
    Doc::insert_or_replace(db, &doc("or_replace", "a"))?;
    let returned = Doc::insert_returning(db, &doc("returning", "a"))?;
    Doc::upsert()
        .on_conflict(Doc::title)
        .update(Doc::body)
        .run(db, &doc("upsert", "a"))?;
    Doc::upsert()
        .on_conflict(Doc::title)
        .do_nothing()
        .run(db, &doc("upsert_nothing", "a"))?;
    // Two rows go row by row; 1,005 rows as multi-row statements, in full
    // chunks and a remainder on both engines (32 rows a statement on SQLite,
    // 1,000 on PostgreSQL).
    let pair: Vec<Doc> = (0..2).map(|i| doc(&format!("pair {i}"), "a")).collect();
    assert_eq!(Doc::insert_many(db, &pair)?, 2);
    let many: Vec<Doc> = (0..1005).map(|i| doc(&format!("many {i}"), "a")).collect();
    assert_eq!(Doc::insert_many(db, &many)?, 1005);
    let ignored: Vec<Doc> = (0..40).map(|i| doc(&format!("ignored {i}"), "a")).collect();
    assert_eq!(Doc::insert_many_or_ignore(db, &ignored)?, 40);
    let replaced: Vec<Doc> = (0..40)
        .map(|i| doc(&format!("replaced {i}"), "a"))
        .collect();
    assert_eq!(Doc::insert_many_or_replace(db, &replaced)?, 40);
    Doc::upsert()
        .on_conflict(Doc::title)
        .update(Doc::body)
        .run_many(db, &[doc("upsert_many 0", "a"), doc("upsert_many 1", "a")])?;
    let after = clock();

    let rows = Doc::select().order_by(Doc::id).all(db)?;
    assert_eq!(rows.len(), 6 + 2 + 1005 + 40 + 40 + 2);
    for row in &rows {
        assert_eq!(row.added, row.updated, "{}", row.title);
        assert_within(row.added, before, after);
    }
    assert_eq!(by_title(db, "returning")?, returned);
    // One stamp per operation: the rows written together share it, and a
    // later operation's is later. A one-row call's title is its name; a
    // many-row call's rows are named "<call> <n>".
    let stamp_of = |call: &str| -> Vec<SystemTime> {
        let mut t: Vec<SystemTime> = rows
            .iter()
            .filter(|r| r.title == call || r.title.starts_with(&format!("{call} ")))
            .map(|r| r.added)
            .collect();
        t.dedup();
        t
    };
    let calls = [
        "insert",
        "or_ignore",
        "or_replace",
        "returning",
        "upsert",
        "upsert_nothing",
        "pair",
        "many",
        "ignored",
        "replaced",
        "upsert_many",
    ];
    let order: Vec<SystemTime> = calls
        .iter()
        .map(|call| match stamp_of(call).as_slice() {
            [one] => *one,
            other => panic!("the rows of `{call}` have the stamps {other:?}"),
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    Ok(())
}
on_every_strategy!(every_insert_path_stamps_the_row);

/// After the insert, `added` stays as it was through `update()`,
/// `update_row`, `update().returning` and an upsert's update, while
/// `updated` moves on each of them, to what a read returns.
fn updates_move_updated_and_keep_added<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let id = Doc::insert(db, &doc("a", "first"))?;
    let other = Doc::insert(db, &doc("b", "other"))?;
    let inserted = Doc::get(db, id)?.expect("inserted");
    let untouched = Doc::get(db, other)?.expect("inserted");
    let mut last = inserted.updated;
    let mut check = |row: Doc, body: &str| -> Result<SystemTime, Error> {
        assert_eq!(row.body, body);
        assert_eq!(row.added, inserted.added, "`added` changed on an update");
        assert!(row.updated > last, "`updated` did not move: {row:?}");
        last = row.updated;
        Ok(row.updated)
    };

    let before = clock();
    assert_eq!(
        Doc::update()
            .set(Doc::body, "set")
            .filter(Doc::id.eq(id))
            .run(db)?,
        1
    );
    let t = check(Doc::get(db, id)?.expect("row"), "set")?;
    assert_within(t, before, clock());

    let returned = Doc::update()
        .set(Doc::body, "returned")
        .filter(Doc::id.eq(id))
        .returning(db)?;
    let t = check(Doc::get(db, id)?.expect("row"), "returned")?;
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].updated, t);
    assert_eq!(returned[0].added, inserted.added);

    // The struct's own times are ignored (and could not even be stored).
    let mut row = Doc::get(db, id)?.expect("row");
    row.body = "whole row".into();
    row.added = unstorable();
    row.updated = unstorable();
    Doc::update_row(db, &row)?;
    check(Doc::get(db, id)?.expect("row"), "whole row")?;

    Doc::upsert()
        .on_conflict(Doc::title)
        .update(Doc::body)
        .run(db, &doc("a", "upserted"))?;
    check(Doc::get(db, id)?.expect("row"), "upserted")?;

    // Listing `updated` is allowed and changes nothing in what is written.
    Doc::upsert()
        .on_conflict(Doc::title)
        .update((Doc::body, Doc::updated))
        .run(db, &doc("a", "upserted again"))?;
    check(Doc::get(db, id)?.expect("row"), "upserted again")?;

    // An upsert that does nothing on the conflict changes nothing.
    let kept = Doc::get(db, id)?.expect("row");
    Doc::upsert()
        .on_conflict(Doc::title)
        .do_nothing()
        .run(db, &doc("a", "ignored"))?;
    assert_eq!(Doc::get(db, id)?, Some(kept));
    // Rows an update does not choose keep their times.
    assert_eq!(Doc::get(db, other)?, Some(untouched));
    Ok(())
}
on_every_strategy!(updates_move_updated_and_keep_added);

/// One way of updating a row.
type UpdatePath<'a> = dyn Fn() -> Result<(), Error> + 'a;

/// The ancestor's defect (doctable 1.0: the added time changed on update
/// and the updated time did not): this fails if the two are swapped again,
/// on any of the three update paths.
fn the_ancestors_swap_stays_fixed<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let id = Doc::insert(db, &doc("a", "first"))?;
    let inserted = Doc::get(db, id)?.expect("inserted");
    assert_eq!(inserted.added, inserted.updated);
    let paths: [(&str, &UpdatePath<'_>); 3] = [
        ("update()", &|| {
            Doc::update()
                .set(Doc::body, "update()")
                .filter(Doc::id.eq(id))
                .run(db)
                .map(drop)
        }),
        ("update_row", &|| {
            let row = Doc {
                id: Some(id),
                ..doc("a", "update_row")
            };
            Doc::update_row(db, &row)
        }),
        ("upsert", &|| {
            Doc::upsert()
                .on_conflict(Doc::title)
                .update(Doc::body)
                .run(db, &doc("a", "upsert"))
                .map(drop)
        }),
    ];
    let mut last = inserted.updated;
    for (path, update) in paths {
        update()?;
        let row = Doc::get(db, id)?.expect("row");
        assert_eq!(row.body, path);
        assert_eq!(row.added, inserted.added, "added moved on {path}");
        assert!(row.updated > last, "updated did not move on {path}");
        last = row.updated;
    }
    Ok(())
}
on_every_strategy!(the_ancestors_swap_stays_fixed);

/// `insert_or_replace` writes a new row in place of the one it conflicts
/// with: its `added` is the time of the replace, on both engines (SQLite
/// deletes the old row and inserts; PostgreSQL updates every column in
/// place; its conflict target is the key). An upsert keeps `added`.
fn or_replace_is_a_new_row<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let id = Doc::insert(db, &doc("a", "first"))?;
    let keyed = |body: &str| Doc {
        id: Some(id),
        ..doc("a", body)
    };
    let first = Doc::get(db, id)?.expect("row");
    Doc::insert_or_replace(db, &keyed("replaced"))?;
    let replaced = Doc::get(db, id)?.expect("row");
    assert_eq!(replaced.body, "replaced");
    assert!(replaced.added > first.added, "{replaced:?} after {first:?}");
    assert_eq!(replaced.added, replaced.updated);
    Doc::insert_many_or_replace(db, &[keyed("again"), doc("b", "new")])?;
    let again = Doc::get(db, id)?.expect("row");
    assert_eq!(again.body, "again");
    assert!(again.added > replaced.added);
    assert_eq!(again.added, by_title(db, "b")?.added);
    Ok(())
}
on_every_strategy!(or_replace_is_a_new_row);

/// A failed update (a unique constraint, the statement rolled back) leaves
/// `updated` as it was, on every update path.
fn a_failed_update_keeps_updated<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let a = Doc::insert(db, &doc("a", "x"))?;
    Doc::insert(db, &doc("b", "y"))?;
    let stored = Doc::get(db, a)?.expect("row");

    let err = expect_failure!(db, |c| Doc::update()
        .set(Doc::title, "b")
        .filter(Doc::id.eq(a))
        .run(c));
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    let mut clash = stored.clone();
    clash.title = "b".into();
    let err = expect_failure!(db, |c| Doc::update_row(c, &clash));
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    // A conflict on a target the upsert does not name is an error too.
    let mut by_key = doc("b", "z");
    by_key.id = Some(a);
    let err = expect_failure!(db, |c| Doc::upsert()
        .on_conflict(Doc::id)
        .update((Doc::title, Doc::body))
        .run(c, &by_key));
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
    // A failed transaction takes its updates with it.
    let err = db
        .atomic(|tx| {
            Doc::update()
                .set(Doc::body, "inside")
                .filter(Doc::id.eq(a))
                .run(tx)?;
            Doc::insert(tx, &doc("b", "duplicate"))
        })
        .map(|_| ())
        .expect_err("a duplicate title");
    assert!(matches!(err, Error::Constraint { .. }), "{err:?}");

    assert_eq!(Doc::get(db, a)?, Some(stored));
    Ok(())
}
on_every_strategy!(a_failed_update_keeps_updated);

/// The crate's columns cannot be set by hand: `set` on either, or `added`
/// in an upsert's update list, is a usage error that names the column, and
/// nothing is written.
fn timestamps_cannot_be_set<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let id = Doc::insert(db, &doc("a", "x"))?;
    let stored = Doc::get(db, id)?.expect("row");
    let usage = |err: Error, column: &str| match err {
        Error::Usage(message) => {
            assert!(message.contains(&format!("column `{column}`")), "{message}")
        }
        other => panic!("expected a usage error, got {other:?}"),
    };
    let err = Doc::update()
        .set(Doc::added, SystemTime::now())
        .all_rows()
        .run(db)
        .expect_err("added is the crate's");
    usage(err, "added");
    let err = Doc::update()
        .set(Doc::body, "y")
        .set(Doc::updated, UNIX_EPOCH)
        .filter(Doc::id.eq(id))
        .run(db)
        .expect_err("updated is the crate's");
    usage(err, "updated");
    let err = Doc::upsert()
        .on_conflict(Doc::title)
        .update((Doc::body, Doc::added))
        .run(db, &doc("a", "y"))
        .expect_err("added never changes");
    usage(err, "added");
    assert_eq!(Doc::get(db, id)?, Some(stored));
    Ok(())
}
on_every_strategy!(timestamps_cannot_be_set);

/// The SQLite encoding of the stamps is the documented text, to the
/// microsecond, and equals `Stamp`'s instant.
#[test]
fn sqlite_stores_the_stamp_as_text() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    let db = doctable::Persistent::open(&path)?;
    Doc::create_table(&db)?;
    let before = Stamp::now();
    let id = Doc::insert(&db, &doc("a", "x"))?;
    let after = Stamp::now();
    let row = Doc::get(&db, id)?.expect("row");
    drop(db);
    let raw = doctable::rusqlite::Connection::open(&path)?;
    let (added, updated): (String, String) =
        raw.query_row("SELECT added, updated FROM docs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    assert_eq!(added, updated);
    assert_eq!(added.len(), "1970-01-01T00:00:00.000000Z".len());
    assert!(
        added.ends_with('Z') && added.as_bytes()[19] == b'.',
        "{added}"
    );
    let micros = row
        .added
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()))??;
    assert!(before.unix_micros() < micros && micros < after.unix_micros());
    Ok(())
}

/// A nullable `added` column can be added to a table that has rows: they
/// read `None`, and the crate writes `Some` from then on.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "notes")]
struct NoteBefore {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "notes")]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    #[doctable(added)]
    created: Option<SystemTime>,
    #[doctable(updated)]
    touched: Option<SystemTime>,
}

fn an_optional_stamp_joins_an_existing_table<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    NoteBefore::create_table(db)?;
    let old = NoteBefore::insert(
        db,
        &NoteBefore {
            id: None,
            text: "old".into(),
        },
    )?;
    Note::create_table(db)?;
    let old_note = Note::get(db, old)?.expect("row");
    assert_eq!((old_note.created, old_note.touched), (None, None));
    let new = Note::insert(
        db,
        &Note {
            id: None,
            text: "new".into(),
            created: None,
            touched: None,
        },
    )?;
    let new_note = Note::get(db, new)?.expect("row");
    assert!(new_note.created.is_some());
    assert_eq!(new_note.created, new_note.touched);
    // An update stamps `touched` on the old row; its `created` stays unknown.
    Note::update_row(db, &old_note)?;
    let old_note = Note::get(db, old)?.expect("row");
    assert_eq!(old_note.created, None);
    assert!(old_note.touched > new_note.touched);
    Ok(())
}
on_every_strategy!(an_optional_stamp_joins_an_existing_table);

/// `added` and `updated` on each of the other time types (and an `Option`
/// of one): the instant types hold the stamp itself, the wall-time types its
/// UTC wall time, the date types its UTC date.
#[cfg(all(feature = "chrono", feature = "time", feature = "jiff"))]
mod other_types {
    use super::*;
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

    /// `s` as chrono's UTC instant.
    fn utc(s: SystemTime) -> DateTime<Utc> {
        let micros = s
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_micros();
        DateTime::from_timestamp_micros(i64::try_from(micros).expect("in range")).expect("in range")
    }

    /// The instant `micros` after 1970 as a `SystemTime`.
    fn system(micros: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).expect("after 1970"))
    }

    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "chrono_rows")]
    struct ChronoRow {
        #[doctable(primary_key)]
        id: Option<i64>,
        n: i64,
        #[doctable(added)]
        added: DateTime<FixedOffset>,
        #[doctable(updated)]
        updated: Option<NaiveDateTime>,
        // An ordinary column of the same type, to compare with.
        at: SystemTime,
    }

    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "time_rows")]
    struct TimeRow {
        #[doctable(primary_key)]
        id: Option<i64>,
        n: i64,
        #[doctable(added)]
        added: time::OffsetDateTime,
        #[doctable(updated)]
        updated: time::PrimitiveDateTime,
    }

    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "jiff_rows")]
    struct JiffRow {
        #[doctable(primary_key)]
        id: Option<i64>,
        n: i64,
        #[doctable(added)]
        added: Option<jiff::Timestamp>,
        #[doctable(updated)]
        updated: DateTime<Utc>,
    }

    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "date_rows")]
    struct DateRow {
        #[doctable(primary_key)]
        id: Option<i64>,
        #[doctable(added)]
        chrono_day: NaiveDate,
        #[doctable(updated)]
        time_day: time::Date,
    }

    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "jiff_date_rows")]
    struct JiffDateRow {
        #[doctable(primary_key)]
        id: Option<i64>,
        #[doctable(added)]
        day: jiff::civil::Date,
    }

    fn micros_of(t: i128) -> i64 {
        i64::try_from(t / 1000).expect("in range")
    }

    fn every_time_type_takes_the_stamps<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
        ChronoRow::create_table(db)?;
        TimeRow::create_table(db)?;
        JiffRow::create_table(db)?;
        DateRow::create_table(db)?;
        JiffDateRow::create_table(db)?;
        let before = clock();

        let offset = FixedOffset::east_opt(5 * 3600).expect("an offset");
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let id = ChronoRow::insert(
            db,
            &ChronoRow {
                id: None,
                n: 0,
                added: epoch.with_timezone(&offset),
                updated: None,
                at: UNIX_EPOCH,
            },
        )?;
        let row = ChronoRow::get(db, id)?.expect("row");
        assert_within(system(row.added.timestamp_micros()), before, clock());
        assert_eq!(row.added.offset().local_minus_utc(), 0, "stored in UTC");
        assert_eq!(row.updated, Some(row.added.naive_utc()));
        ChronoRow::update()
            .set(ChronoRow::n, 1)
            .all_rows()
            .run(db)?;
        let moved = ChronoRow::get(db, id)?.expect("row");
        assert_eq!(moved.added, row.added);
        assert!(moved.updated > row.updated);

        let id = TimeRow::insert(
            db,
            &TimeRow {
                id: None,
                n: 0,
                added: time::OffsetDateTime::UNIX_EPOCH,
                updated: time::PrimitiveDateTime::MIN,
            },
        )?;
        let row = TimeRow::get(db, id)?.expect("row");
        assert_eq!(row.added.offset(), time::UtcOffset::UTC);
        assert_eq!(
            row.updated,
            time::PrimitiveDateTime::new(row.added.date(), row.added.time())
        );
        let micros = micros_of(row.added.unix_timestamp_nanos());
        assert_within(system(micros), before, clock());
        TimeRow::update_row(
            db,
            &TimeRow {
                n: 1,
                ..row.clone()
            },
        )?;
        let moved = TimeRow::get(db, id)?.expect("row");
        assert_eq!(moved.added, row.added);
        assert!(moved.updated > row.updated);

        let id = JiffRow::insert(
            db,
            &JiffRow {
                id: None,
                n: 0,
                added: None,
                updated: epoch,
            },
        )?;
        let row = JiffRow::get(db, id)?.expect("row");
        let added = row.added.expect("the crate writes `Some`");
        assert_eq!(added.as_microsecond(), row.updated.timestamp_micros());
        JiffRow::upsert()
            .on_conflict(JiffRow::id)
            .update(JiffRow::n)
            .run(
                db,
                &JiffRow {
                    n: 1,
                    ..row.clone()
                },
            )?;
        let moved = JiffRow::get(db, id)?.expect("row");
        assert_eq!((moved.n, moved.added), (1, row.added));
        assert!(moved.updated > row.updated);

        // The date types hold the UTC date of the stamp.
        let today = |after: SystemTime| -> Vec<NaiveDate> {
            let mut days = vec![utc(before).date_naive(), utc(after).date_naive()];
            days.dedup();
            days
        };
        let id = DateRow::insert(
            db,
            &DateRow {
                id: None,
                chrono_day: NaiveDate::MIN,
                time_day: time::Date::MIN,
            },
        )?;
        let row = DateRow::get(db, id)?.expect("row");
        assert!(today(clock()).contains(&row.chrono_day), "{row:?}");
        assert_eq!(
            i64::from(row.time_day.to_julian_day()) - 2_440_588,
            (row.chrono_day - NaiveDate::default()).num_days(),
            "{row:?}"
        );
        let id = JiffDateRow::insert(
            db,
            &JiffDateRow {
                id: None,
                day: jiff::civil::Date::MIN,
            },
        )?;
        let day = JiffDateRow::get(db, id)?.expect("row").day;
        let as_chrono = NaiveDate::from_ymd_opt(
            i32::from(day.year()),
            u32::try_from(day.month())?,
            u32::try_from(day.day())?,
        )
        .expect("a date");
        assert!(today(clock()).contains(&as_chrono), "{day}");
        Ok(())
    }
    on_every_strategy!(every_time_type_takes_the_stamps);
}
