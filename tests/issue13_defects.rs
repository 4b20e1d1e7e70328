//! Issue 13's defects, each written once and run on every strategy of both
//! engines (tests/support/backends.rs).

use doctable::{
    ColumnType, Conn, ConstraintKind, DocTable, Error, SqlType, ToValue, Value, ValueError,
    ValueRef,
};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, Kind, kind};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "corpus")]
struct Corpus {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    title: String,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "passage")]
struct Passage {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(references(Corpus::id))]
    corpus_id: i64,
    text: String,
}

fn corpus(title: &str) -> Corpus {
    Corpus {
        id: None,
        title: title.into(),
    }
}

/// Defect 2: the kind of constraint is said once on both engines (PostgreSQL's
/// own message names it already), with the value that collided where the
/// engine says it.
fn a_unique_violation_says_so_once<C: Conn<Backend: Engine>>(db: &C) {
    Corpus::create_table(db).expect("create");
    Corpus::insert(db, &corpus("a")).expect("first");
    let err = expect_failure!(db, |c| Corpus::insert(c, &corpus("a")));
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    let first_line = shown.lines().next().unwrap_or_default().to_lowercase();
    assert_eq!(first_line.matches("constraint").count(), 1, "{shown}");
    match kind(db) {
        Kind::Sqlite => assert!(
            first_line.starts_with("table `corpus`: unique constraint failed: corpus.title"),
            "{shown}"
        ),
        Kind::Postgres => assert!(
            first_line.contains("corpus_title_key") && first_line.contains("(title)=(a)"),
            "{shown}"
        ),
    }
}

/// Defect 2: a foreign-key violation says which value failed: PostgreSQL's
/// DETAIL, and on SQLite (which does not say) the statement with the values
/// it bound; both add the table's foreign keys.
fn a_foreign_key_violation_names_the_value<C: Conn<Backend: Engine>>(db: &C) {
    Corpus::create_table(db).expect("create");
    Passage::create_table(db).expect("create");
    let err = expect_failure!(db, |c| {
        Passage::insert(
            c,
            &Passage {
                id: None,
                corpus_id: 42,
                text: "x".into(),
            },
        )
    });
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: ConstraintKind::ForeignKey,
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains("`corpus_id` -> `corpus`(`id`)"), "{shown}");
    match kind(db) {
        Kind::Sqlite => assert!(shown.contains(r#"VALUES (NULL, 42, 'x')"#), "{shown}"),
        Kind::Postgres => assert!(
            shown.contains(r#"Key (corpus_id)=(42) is not present in table "corpus""#),
            "{shown}"
        ),
    }
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "pkg")]
struct Pkg {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
    note: Option<String>,
}

fn pkgs<C: Conn>(db: &C, names: &[&str]) {
    Pkg::create_table(db).expect("create");
    let rows: Vec<Pkg> = names
        .iter()
        .map(|n| Pkg {
            id: None,
            name: (*n).into(),
            note: Some((*n).into()),
        })
        .collect();
    Pkg::insert_many(db, &rows).expect("insert");
}

fn names_where<C: Conn>(db: &C, condition: doctable::Expr<Pkg, bool>) -> Vec<String> {
    Pkg::select_cols(Pkg::name)
        .filter(condition)
        .order_by(Pkg::name)
        .all(db)
        .expect("select")
}

/// Defect 6: `like` takes a pattern (`lib_%` matches `libax`); `contains`,
/// `starts_with` and `ends_with` take text, with `%`, `_` and the escape
/// character `\` matching only themselves.
fn contains_starts_with_and_ends_with_match_text_as_written<C: Conn<Backend: Engine>>(db: &C) {
    pkgs(
        db,
        &[
            "libax", "lib_%x", "lib_a", r"a\b", r"a\\b", "x%y", "xy", "50%",
        ],
    );
    assert_eq!(
        names_where(db, Pkg::name.like("lib_%")),
        ["lib_%x", "lib_a", "libax"]
    );
    assert_eq!(names_where(db, Pkg::name.starts_with("lib_%")), ["lib_%x"]);
    assert_eq!(
        names_where(db, Pkg::name.starts_with("lib_")),
        ["lib_%x", "lib_a"]
    );
    assert_eq!(
        names_where(db, Pkg::name.contains("%")),
        ["50%", "lib_%x", "x%y"]
    );
    assert_eq!(
        names_where(db, Pkg::name.contains("_")),
        ["lib_%x", "lib_a"]
    );
    assert_eq!(names_where(db, Pkg::name.contains(r"\")), [r"a\\b", r"a\b"]);
    assert_eq!(names_where(db, Pkg::name.contains(r"\\")), [r"a\\b"]);
    assert_eq!(names_where(db, Pkg::name.ends_with("%")), ["50%"]);
    assert_eq!(names_where(db, Pkg::name.ends_with("_a")), ["lib_a"]);
    assert_eq!(names_where(db, Pkg::name.contains("")).len(), 8);
    // On a nullable column, and as an expression.
    assert_eq!(names_where(db, Pkg::note.starts_with("x%")), ["x%y"]);
    assert_eq!(
        names_where(db, Pkg::name.expr().ends_with("y")),
        ["x%y", "xy"]
    );
}

/// Defect 6: `not_like` is the complement of `like` (NULL in neither).
fn not_like_leaves_out_what_like_matches<C: Conn<Backend: Engine>>(db: &C) {
    pkgs(db, &["libax", "lib_a", "zlib"]);
    Pkg::insert(
        db,
        &Pkg {
            id: None,
            name: "null-note".into(),
            note: None,
        },
    )
    .expect("insert");
    assert_eq!(
        names_where(db, Pkg::name.not_like("lib%")),
        ["null-note", "zlib"]
    );
    assert_eq!(names_where(db, Pkg::note.not_like("lib%")), ["zlib"]);
    assert_eq!(names_where(db, Pkg::note.like("lib%")), ["lib_a", "libax"]);
}

/// LIKE's case per engine, as documented on `Expr::like`: SQLite ignores the
/// case of ASCII letters only; PostgreSQL is case-sensitive.
fn like_case_sensitivity_is_the_engines<C: Conn<Backend: Engine>>(db: &C) {
    pkgs(db, &["Library", "ÄRGER"]);
    let ascii = names_where(db, Pkg::name.starts_with("lib"));
    let non_ascii = names_where(db, Pkg::name.like("är%"));
    let contains = names_where(db, Pkg::name.contains("BRA"));
    match kind(db) {
        Kind::Sqlite => {
            assert_eq!(ascii, ["Library"]);
            assert_eq!(contains, ["Library"]);
            assert!(non_ascii.is_empty(), "{non_ascii:?}");
        }
        Kind::Postgres => {
            assert!(ascii.is_empty(), "{ascii:?}");
            assert!(contains.is_empty(), "{contains:?}");
            assert!(non_ascii.is_empty(), "{non_ascii:?}");
        }
    }
    assert_eq!(names_where(db, Pkg::name.starts_with("Lib")), ["Library"]);
}

/// A user's own column type: seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ts(i64);

impl ColumnType for Ts {
    const SQL_TYPE: SqlType = SqlType::Integer;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Owned(Value::Integer(self.0)))
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        i64::from_sql(value).map(Ts)
    }
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "runs")]
struct Run {
    #[doctable(primary_key)]
    id: Option<i64>,
    started: Ts,
    finished: Option<Ts>,
}

/// Defect 4: a user's own `ColumnType` lifts into `Option` like the
/// built-in types: a bare `Ts` where an `Option<Ts>` column is expected, in
/// `set`, comparisons and `in_list`.
fn a_custom_column_type_lifts_into_option<C: Conn<Backend: Engine>>(db: &C) {
    Run::create_table(db).expect("create");
    let runs = [
        Run {
            id: None,
            started: Ts(10),
            finished: None,
        },
        Run {
            id: None,
            started: Ts(20),
            finished: None,
        },
    ];
    Run::insert_many(db, &runs).expect("insert");
    let now = Ts(99);
    let n = Run::update()
        .set(Run::finished, now)
        .filter(Run::started.eq(Ts(10)))
        .run(db)
        .expect("update");
    assert_eq!(n, 1);
    let done: Vec<Option<i64>> = Run::select_cols(Run::id)
        .filter(Run::finished.eq(Ts(99)).and(Run::finished.ge(Ts(50))))
        .all(db)
        .expect("select");
    assert_eq!(done, [Some(1)]);
    let open: Vec<Option<i64>> = Run::select_cols(Run::id)
        .filter(Run::finished.eq(None))
        .all(db)
        .expect("select");
    assert_eq!(open, [Some(2)]);
    let either: i64 = Run::count()
        .filter(Run::finished.in_list([Ts(99), Ts(1)]))
        .get(db)
        .expect("count");
    assert_eq!(either, 1);
    // The built-in types keep working as they did.
    let by_value: i64 = Run::count()
        .filter(Run::id.eq(2_i64))
        .get(db)
        .expect("count");
    assert_eq!(by_value, 1);
}

on_every_strategy!(
    a_unique_violation_says_so_once,
    a_foreign_key_violation_names_the_value,
    contains_starts_with_and_ends_with_match_text_as_written,
    not_like_leaves_out_what_like_matches,
    like_case_sensitivity_is_the_engines,
    a_custom_column_type_lifts_into_option,
);
