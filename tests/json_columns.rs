//! `#[doctable(json)]` columns read back as the field's own type in
//! `select_cols` (alone, in tuples, over joins, `Option` for a nullable one),
//! not as the `Json<..>` wrapper; and `Join::limit` / `offset` take any row
//! count. Each test runs on every strategy of both engines.

use std::collections::BTreeMap;

use doctable::{Conn, DocTable, Error, Json};
use serde::{Deserialize, Serialize};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::Engine;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Meta {
    words: i64,
    langs: BTreeMap<String, f64>,
    source: Option<String>,
}

fn meta(words: i64, source: Option<&str>) -> Meta {
    Meta {
        words,
        langs: [("en".to_string(), 0.75), ("fr".to_string(), 0.25)]
            .into_iter()
            .collect(),
        source: source.map(str::to_string),
    }
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "json_docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    #[doctable(json)]
    tags: Vec<String>,
    #[doctable(json)]
    meta: Meta,
    #[doctable(json)]
    extra: Option<Vec<i64>>,
    /// A `Json<..>` field (no attribute) reads back as its own type, `Json<..>`.
    wrapped: Json<BTreeMap<String, i64>>,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "json_notes")]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(references = "json_docs(id)")]
    doc_id: i64,
    #[doctable(json)]
    marks: Vec<u8>,
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn docs() -> Vec<Doc> {
    vec![
        Doc {
            id: None,
            title: "one".into(),
            tags: tags(&["a", "b"]),
            meta: meta(10, Some("x")),
            extra: Some(vec![1, 2, 3]),
            wrapped: Json([("k".to_string(), 1)].into_iter().collect()),
        },
        Doc {
            id: None,
            title: "two".into(),
            tags: vec![],
            meta: meta(20, None),
            extra: None,
            wrapped: Json(BTreeMap::new()),
        },
    ]
}

fn setup<C: Conn<Backend: Engine>>(db: &C) {
    Doc::create_table(db).expect("create docs");
    Note::create_table(db).expect("create notes");
    Doc::insert_many(db, &docs()).expect("insert docs");
}

/// One json column alone reads as the field's type: `Vec<String>`, the
/// user's serde struct, `Option<Vec<i64>>` (NULL is `None`).
fn a_json_column_reads_back_as_its_own_type<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    let all_tags: Vec<Vec<String>> = Doc::select_cols(Doc::tags)
        .order_by(Doc::id)
        .all(db)
        .expect("tags");
    assert_eq!(all_tags, [tags(&["a", "b"]), vec![]]);
    let metas: Vec<Meta> = Doc::select_cols(Doc::meta)
        .order_by(Doc::id)
        .all(db)
        .expect("meta");
    assert_eq!(metas, [meta(10, Some("x")), meta(20, None)]);
    let extras: Vec<Option<Vec<i64>>> = Doc::select_cols(Doc::extra)
        .order_by(Doc::id)
        .all(db)
        .expect("extra");
    assert_eq!(extras, [Some(vec![1, 2, 3]), None]);
    let wrapped: Json<BTreeMap<String, i64>> = Doc::select_cols(Doc::wrapped)
        .filter(Doc::id.eq(1))
        .one(db)
        .expect("wrapped");
    assert_eq!(wrapped.0, [("k".to_string(), 1)].into_iter().collect());
    let first: Option<Meta> = Doc::select_cols(Doc::meta)
        .filter(Doc::title.eq("two"))
        .first(db)
        .expect("first");
    assert_eq!(first, Some(meta(20, None)));
}

/// Inside a tuple, each json column reads as its own type beside plain ones.
fn json_columns_read_back_inside_tuples<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    type Row = (Option<i64>, Vec<String>, Meta, Option<Vec<i64>>, String);
    let rows: Vec<Row> = Doc::select_cols((Doc::id, Doc::tags, Doc::meta, Doc::extra, Doc::title))
        .order_by(Doc::id)
        .all(db)
        .expect("tuple");
    assert_eq!(
        rows,
        [
            (
                Some(1),
                tags(&["a", "b"]),
                meta(10, Some("x")),
                Some(vec![1, 2, 3]),
                "one".to_string()
            ),
            (Some(2), vec![], meta(20, None), None, "two".to_string()),
        ]
    );
}

/// Filters and `set` on json columns still take the field's type, and what
/// `set` wrote reads back through `select_cols` and through `returning`.
fn json_columns_filter_set_and_return<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    let changed = Doc::update()
        .set(Doc::tags, tags(&["z"]))
        .set(Doc::extra, None)
        .filter(Doc::tags.eq(tags(&["a", "b"])))
        .returning(db)
        .expect("update returning");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].tags, ["z"]);
    assert_eq!(changed[0].extra, None);
    let (t, e): (Vec<String>, Option<Vec<i64>>) = Doc::select_cols((Doc::tags, Doc::extra))
        .filter(Doc::id.eq(1))
        .one(db)
        .expect("read back");
    assert_eq!((t, e), (tags(&["z"]), None));
    let n = Doc::update()
        .set(Doc::meta, meta(99, Some("y")))
        .filter(Doc::meta.eq(meta(20, None)))
        .run(db)
        .expect("set meta");
    assert_eq!(n, 1);
    let gone = Doc::delete()
        .filter(Doc::meta.eq(meta(99, Some("y"))))
        .returning(db)
        .expect("delete returning");
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].meta, meta(99, Some("y")));
    let left: Vec<Meta> = Doc::select_cols(Doc::meta).all(db).expect("left");
    assert_eq!(left, [meta(10, Some("x"))]);
}

/// Over a join, json columns of either table read as their own types; on the
/// right side of a left join as `Option` of it (`None` where no row matched).
fn json_columns_read_back_over_joins<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    Note::insert(
        db,
        &Note {
            id: None,
            doc_id: 1,
            marks: vec![7, 8],
        },
    )
    .expect("note");
    let inner: Vec<(String, Vec<String>, Vec<u8>)> = Doc::select()
        .join(Doc::id, Note::doc_id)
        .select_cols((Doc::title, Doc::tags, Note::marks))
        .all(db)
        .expect("inner join");
    assert_eq!(inner, [("one".to_string(), tags(&["a", "b"]), vec![7, 8])]);
    let left: Vec<(Meta, Option<Vec<u8>>)> = Doc::select()
        .left_join(Doc::id, Note::doc_id)
        .select_cols((Doc::meta, Note::marks))
        .order_by(Doc::id)
        .all(db)
        .expect("left join");
    assert_eq!(
        left,
        [
            (meta(10, Some("x")), Some(vec![7, 8])),
            (meta(20, None), None)
        ]
    );
    let extras: Vec<Option<Vec<i64>>> = Doc::select()
        .left_join(Doc::id, Note::doc_id)
        .select_cols(Doc::extra)
        .order_by(Doc::id)
        .all(db)
        .expect("nullable json over a join");
    assert_eq!(extras, [Some(vec![1, 2, 3]), None]);
}

/// `Join::limit` and `Join::offset` take any unsigned integer or a literal,
/// as `Select::limit` does.
fn join_limit_and_offset_take_any_row_count<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    for marks in [vec![1], vec![2], vec![3]] {
        Note::insert(
            db,
            &Note {
                id: None,
                doc_id: 1,
                marks,
            },
        )
        .expect("note");
    }
    let page: usize = 1;
    let skip: u32 = 1;
    let marks: Vec<Vec<u8>> = Doc::select()
        .join(Doc::id, Note::doc_id)
        .select_cols(Note::marks)
        .order_by(Note::id)
        .limit(page)
        .offset(skip)
        .all(db)
        .expect("usize limit, u32 offset");
    assert_eq!(marks, [vec![2]]);
    let small: u8 = 2;
    let two: Vec<Vec<u8>> = Doc::select()
        .join(Doc::id, Note::doc_id)
        .select_cols(Note::marks)
        .order_by(Note::id)
        .limit(small)
        .offset(2u64)
        .all(db)
        .expect("u8 limit, u64 offset");
    assert_eq!(two, [vec![3]]);
    let literal: Vec<Vec<u8>> = Doc::select()
        .join(Doc::id, Note::doc_id)
        .select_cols(Note::marks)
        .order_by(Note::id)
        .limit(2)
        .all(db)
        .expect("literal limit");
    assert_eq!(literal, [vec![1], vec![2]]);
}

/// The same table seen with other JSON shapes: what `Doc` cannot read back.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "json_docs")]
struct OtherShape {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    #[doctable(json)]
    tags: BTreeMap<String, i64>,
    #[doctable(json)]
    meta: Vec<i64>,
    #[doctable(json)]
    extra: Option<String>,
    wrapped: Json<BTreeMap<String, i64>>,
}

/// Stored JSON of another shape than the field's is an `Error::Json`
/// naming the table and the column, alone or in a tuple.
fn json_of_another_shape_is_a_conversion_error<C: Conn<Backend: Engine>>(db: &C) {
    Doc::create_table(db).expect("create");
    OtherShape::insert(
        db,
        &OtherShape {
            id: None,
            title: "odd".into(),
            tags: [("a".to_string(), 1)].into_iter().collect(),
            meta: vec![1],
            extra: Some("text".into()),
            wrapped: Json(BTreeMap::new()),
        },
    )
    .expect("insert other shape");
    let err = expect_failure!(db, |c| Doc::select_cols(Doc::tags).all(c));
    match &err {
        Error::Json { table, column, .. } => {
            assert_eq!((table.as_str(), column.as_str()), ("json_docs", "tags"));
        }
        other => panic!("expected a JSON error, got {other}"),
    }
    let err = expect_failure!(db, |c| Doc::select_cols((Doc::id, Doc::extra)).all(c));
    match &err {
        Error::Json { table, column, .. } => {
            assert_eq!((table.as_str(), column.as_str()), ("json_docs", "extra"));
        }
        other => panic!("expected a JSON error, got {other}"),
    }
}

on_every_strategy!(
    json_of_another_shape_is_a_conversion_error,
    a_json_column_reads_back_as_its_own_type,
    json_columns_read_back_inside_tuples,
    json_columns_filter_set_and_return,
    json_columns_read_back_over_joins,
    join_limit_and_offset_take_any_row_count,
);
