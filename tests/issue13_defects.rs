//! Issue 13's defects, each written once and run on every strategy of both
//! engines (tests/support/backends.rs).

use doctable::{Conn, ConstraintKind, DocTable, Error};

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

on_every_strategy!(
    a_unique_violation_says_so_once,
    a_foreign_key_violation_names_the_value
);
