//! Issue 13's "what to build" items that are queries and transactions:
//! `delete().returning`, streaming that stops early, `one()`, and user error
//! types through transactions and scans. Each test is written once and runs
//! on every strategy of both engines (tests/support/backends.rs).

use doctable::{Conn, DocTable};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::Engine;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "tokens")]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    doc: i64,
}

fn token(text: &str, doc: i64) -> Token {
    Token {
        id: None,
        text: text.into(),
        doc,
    }
}

/// Creates `tokens` with five rows: ids 1..=5, docs 1, 1, 2, 2, 3.
fn setup<C: Conn>(db: &C) {
    Token::create_table(db).expect("create");
    let rows = [
        token("a", 1),
        token("b", 1),
        token("c", 2),
        token("d", 2),
        token("e", 3),
    ];
    Token::insert_many(db, &rows).expect("insert");
}

fn texts<C: Conn>(db: &C) -> Vec<String> {
    Token::select_cols(Token::text)
        .order_by(Token::id)
        .all(db)
        .expect("select")
}

fn delete_returning_gives_the_removed_rows<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    let mut gone = Token::delete()
        .filter(Token::doc.eq(2))
        .returning(db)
        .expect("delete returning");
    gone.sort_by_key(|t| t.id);
    assert_eq!(
        gone,
        [
            Token {
                id: Some(3),
                text: "c".into(),
                doc: 2
            },
            Token {
                id: Some(4),
                text: "d".into(),
                doc: 2
            },
        ]
    );
    assert_eq!(texts(db), ["a", "b", "e"]);
    let none = Token::delete()
        .filter(Token::doc.eq(9))
        .returning(db)
        .expect("nothing to delete");
    assert!(none.is_empty());
    let rest = Token::delete().all_rows().returning(db).expect("all rows");
    assert_eq!(rest.len(), 3);
    assert!(texts(db).is_empty());
}

on_every_strategy!(delete_returning_gives_the_removed_rows);
