//! Schema on PostgreSQL: create, reflect, diff, ADD COLUMN evolution,
//! indexes, unique, check, default, foreign keys; `rebuild_table` refused.
#![cfg(feature = "postgres")]

mod pg_backend_support;

use doctable::postgres::Persistent;
use doctable::{ConstraintKind, DocTable, Error, SchemaChange};
use pg_backend_support::schema;

mod v1 {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs", index(by_year_score = [year, score]))]
    pub struct Doc {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(unique)]
        pub title: String,
        #[doctable(index, check = "year > 1900")]
        pub year: i64,
        #[doctable(default = "0.5")]
        pub score: f64,
        #[doctable(default = "'en'")]
        pub lang: String,
        #[doctable(default = "true")]
        pub live: bool,
    }
}

mod v2 {
    use doctable::DocTable;
    #[derive(DocTable, Debug, Clone, PartialEq)]
    #[doctable(table = "docs", index(by_year_score = [year, score]))]
    pub struct Doc {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(unique)]
        pub title: String,
        #[doctable(index, check = "year > 1900")]
        pub year: i64,
        #[doctable(default = "0.5")]
        pub score: f64,
        #[doctable(default = "'en'")]
        pub lang: String,
        #[doctable(default = "true")]
        pub live: bool,
        pub note: Option<String>,
        #[doctable(default = "7", index)]
        pub rank: i64,
    }
}

#[test]
fn create_reflect_diff_and_add_columns() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    assert_eq!(
        v1::Doc::schema_diff(&db).expect("diff").changes,
        [SchemaChange::CreateTable]
    );
    v1::Doc::create_table(&db).expect("create");
    let diff = v1::Doc::schema_diff(&db).expect("diff");
    assert!(diff.is_empty(), "{diff:?}");
    v1::Doc::create_table(&db).expect("create again is a no-op");
    let t = doctable::reflect_table(&db, "docs")
        .expect("reflect")
        .expect("exists");
    assert_eq!(t.column("id").map(|c| c.primary_key), Some(1));
    assert_eq!(
        t.column("lang").and_then(|c| c.default.clone()).as_deref(),
        Some("'en'")
    );
    assert!(
        t.indexes
            .iter()
            .any(|i| i.unique && i.origin == "u" && i.columns == ["title"])
    );
    assert!(
        t.indexes
            .iter()
            .any(|i| i.name == "by_year_score" && i.columns == ["year", "score"])
    );
    assert!(t.indexes.iter().any(|i| i.origin == "pk"));

    let row = v1::Doc {
        id: None,
        title: "t".into(),
        year: 2001,
        score: 0.25,
        lang: "de".into(),
        live: false,
    };
    v1::Doc::insert(&db, &row).expect("insert");
    let err = v1::Doc::insert(
        &db,
        &v1::Doc {
            title: "u".into(),
            year: 1000,
            ..row.clone()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: ConstraintKind::Check,
                ..
            }
        ),
        "{err:?}"
    );

    let diff = v2::Doc::schema_diff(&db).expect("diff");
    assert!(diff.is_safe(), "{diff:?}");
    assert!(
        diff.changes
            .iter()
            .any(|c| matches!(c, SchemaChange::AddColumn { column, .. } if column == "note")),
        "{diff:?}"
    );
    v2::Doc::create_table(&db).expect("evolve");
    assert!(v2::Doc::schema_diff(&db).expect("diff").is_empty());
    let got = v2::Doc::select().all(&db).expect("select");
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].note.as_deref(), got[0].rank), (None, 7));
    let err = v2::Doc::rebuild_table(&db).unwrap_err();
    assert!(err.to_string().contains("ALTER TABLE"), "{err}");
    assert_eq!(doctable::list_tables(&db).expect("list"), ["docs"]);
    v2::Doc::drop_table(&db).expect("drop");
    assert!(doctable::list_tables(&db).expect("list").is_empty());
}

#[test]
fn a_changed_column_type_is_a_mismatch() {
    let Some(mut s) = schema() else { return };
    let name = s.name.clone();
    s.admin()
        .batch_execute(&format!(
            "CREATE TABLE {}.docs (id bigint PRIMARY KEY, title integer NOT NULL UNIQUE, year bigint NOT NULL, \
             score double precision NOT NULL DEFAULT 0.5, lang text NOT NULL DEFAULT 'en', live boolean NOT NULL DEFAULT true)",
            name
        ))
        .expect("table");
    let db = Persistent::connect(&s.params).expect("connect");
    let err = v1::Doc::create_table(&db).unwrap_err();
    match &err {
        Error::SchemaMismatch { column, found, .. } => {
            assert_eq!(column, "title");
            assert!(found.contains("integer"), "{found}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}
