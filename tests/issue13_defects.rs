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

/// Versions of one table, `corpus_v`, for the schema defects.
mod v1 {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "corpus_v")]
    pub struct Corpus {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub title: String,
        pub year: i64,
    }
}

mod with_timestamp {
    use doctable::DocTable;
    /// Adds a column with a non-constant default.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "corpus_v")]
    pub struct Corpus {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub title: String,
        pub year: i64,
        #[doctable(default = "CURRENT_TIMESTAMP")]
        pub added: Option<String>,
    }
}

mod with_rating {
    use doctable::DocTable;
    /// Adds a NOT NULL column without a default.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "corpus_v")]
    pub struct Corpus {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub title: String,
        pub year: i64,
        pub rating: i64,
    }
}

mod three_changes {
    use doctable::DocTable;
    /// `title` retyped, `year` renamed to `published`, `pages` added NOT NULL.
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "corpus_v")]
    pub struct Corpus {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        pub title: Vec<u8>,
        pub published: i64,
        pub pages: i64,
    }
}

fn v1_with_a_row<C: Conn>(db: &C) {
    v1::Corpus::create_table(db).expect("create v1");
    v1::Corpus::insert(
        db,
        &v1::Corpus {
            id: None,
            title: "a".into(),
            year: 2001,
        },
    )
    .expect("insert");
}

/// Defect 1: the diff knows what `ADD COLUMN` takes. SQLite refuses a
/// non-constant default there, so the change is a mismatch before anything
/// runs (and `create_table` fails up front, naming the column and the way
/// out); PostgreSQL takes it, adds the column, and fills the default in.
fn a_non_constant_default_is_judged_by_what_add_column_accepts<C: Conn<Backend: Engine>>(db: &C) {
    v1_with_a_row(db);
    let diff = with_timestamp::Corpus::schema_diff(db).expect("diff");
    match kind(db) {
        Kind::Sqlite => {
            assert!(!diff.is_safe(), "{diff:?}");
            let [doctable::SchemaChange::Mismatch { column, found, .. }] = diff.changes.as_slice()
            else {
                panic!("expected one mismatch: {diff:?}");
            };
            assert_eq!(column, "added");
            assert!(
                found.contains("`CURRENT_TIMESTAMP` is not a constant"),
                "{found}"
            );
            let err = expect_failure!(db, |c| with_timestamp::Corpus::create_table(c));
            let shown = err.to_string();
            assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
            assert!(shown.contains("column `added`"), "{shown}");
            assert!(shown.contains("rebuild_table"), "{shown}");
            assert!(!shown.contains("Cannot add a column"), "{shown}");
            // Nothing ran: the table is as it was.
            let columns = doctable::reflect_table(db, "corpus_v")
                .expect("reflect")
                .expect("table");
            assert_eq!(columns.columns.len(), 3);
        }
        Kind::Postgres => {
            assert!(diff.is_safe(), "{diff:?}");
            assert!(
                matches!(diff.changes.as_slice(), [doctable::SchemaChange::AddColumn { column, .. }] if column == "added"),
                "{diff:?}"
            );
            with_timestamp::Corpus::create_table(db).expect("add the column");
            let rows = with_timestamp::Corpus::select().all(db).expect("select");
            assert_eq!(rows.len(), 1);
            assert!(
                rows[0]
                    .added
                    .as_deref()
                    .is_some_and(|t| t.starts_with("20")),
                "{rows:?}"
            );
        }
    }
}

/// Defect 3: `create_table` reports every difference it cannot apply, not
/// only the first.
fn create_table_reports_every_mismatch<C: Conn<Backend: Engine>>(db: &C) {
    v1_with_a_row(db);
    let err = expect_failure!(db, |c| three_changes::Corpus::create_table(c));
    let Error::SchemaMismatch { column, others, .. } = &err else {
        panic!("expected a schema mismatch, got {err:?}");
    };
    let shown = err.to_string();
    let mut named: Vec<&str> = vec![column.as_str()];
    for other in others {
        named.push(other.split('`').nth(1).unwrap_or(other));
    }
    named.sort_unstable();
    assert_eq!(named, ["pages", "published", "title", "year"], "{shown}");
    assert!(shown.contains("and 3 more:"), "{shown}");
    for column in ["`title`", "`published`", "`pages`", "`year`"] {
        assert!(shown.contains(column), "{column} in {shown}");
    }
}

/// Defect 3: `rebuild_table` with a new NOT NULL field without a default
/// names the user's table and column (not the rebuild's scratch table) and
/// says what to write; nothing changes. SQLite only: PostgreSQL's
/// `rebuild_table` is an `Error::Usage` (use ALTER TABLE), tested in
/// tests/postgres_schema.rs.
#[test]
fn rebuild_with_a_new_not_null_column_says_option_or_default() -> backends::TestResult {
    backends::on_persistent(|db| {
        v1_with_a_row(db);
        let err = with_rating::Corpus::rebuild_table(db).expect_err("no value for rating");
        let shown = err.to_string();
        assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
        assert!(
            shown.starts_with("table `corpus_v`, column `rating`"),
            "{shown}"
        );
        assert!(!shown.contains("__doctable_rebuild"), "{shown}");
        assert!(
            shown.contains("`Option<..>`") && shown.contains("default"),
            "{shown}"
        );
        assert_eq!(v1::Corpus::select().all(db)?.len(), 1, "nothing changed");
        // On an empty table there is nothing to fill, and the rebuild works.
        v1::Corpus::delete().all_rows().run(db)?;
        with_rating::Corpus::rebuild_table(db)?;
        Ok(())
    })
}

/// Defect 3: a constraint the rebuild's copy breaks (a column made NOT NULL
/// over rows holding NULL) names the user's table, not the scratch table.
#[test]
fn a_constraint_broken_by_the_rebuild_copy_names_the_users_table() -> backends::TestResult {
    mod nullable {
        use doctable::DocTable;
        #[derive(DocTable, Debug, Clone, PartialEq)]
        #[doctable(table = "corpus_v")]
        pub struct Corpus {
            #[doctable(primary_key)]
            pub id: Option<i64>,
            pub title: String,
            pub year: Option<i64>,
        }
    }
    backends::on_persistent(|db| {
        nullable::Corpus::create_table(db)?;
        nullable::Corpus::insert(
            db,
            &nullable::Corpus {
                id: None,
                title: "a".into(),
                year: None,
            },
        )?;
        let err = v1::Corpus::rebuild_table(db).expect_err("NULL in a NOT NULL column");
        let shown = err.to_string();
        // The message says it of the user's table; the SQL line below it is
        // the statement that ran, scratch table and all.
        let message = shown.lines().next().unwrap_or_default();
        assert!(
            message.contains("NOT NULL constraint failed: corpus_v.year"),
            "{shown}"
        );
        assert!(!message.contains("__doctable_rebuild"), "{shown}");
        Ok(())
    })
}

on_every_strategy!(
    a_unique_violation_says_so_once,
    a_foreign_key_violation_names_the_value,
    contains_starts_with_and_ends_with_match_text_as_written,
    not_like_leaves_out_what_like_matches,
    like_case_sensitivity_is_the_engines,
    a_custom_column_type_lifts_into_option,
    a_non_constant_default_is_judged_by_what_add_column_accepts,
    create_table_reports_every_mismatch,
);
