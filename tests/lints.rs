//! The derive's output compiles without a warning under strict lints, next to
//! decoy items named like the prelude's (as serde's `test_gen.rs` does): the
//! generated code must name everything by its full path.
#![deny(warnings, unused_qualifications, missing_docs)]

// Each decoy shadows a prelude name; generated code that used the short name
// would pick it up and fail to compile.
#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct None;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
struct String;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct Default;
#[allow(dead_code)]
struct Clone;
#[allow(dead_code)]
struct Copy;
#[allow(dead_code)]
struct Sized;
#[allow(dead_code)]
struct Send;
#[allow(dead_code)]
struct Sync;
#[allow(dead_code)]
struct From;
#[allow(dead_code)]
struct Into;
#[allow(dead_code)]
struct Iterator;
#[allow(dead_code)]
struct ColumnType;
#[allow(dead_code)]
struct Column;
#[allow(dead_code)]
struct DocTable;
#[allow(dead_code)]
struct HasPrimaryKey;
#[allow(dead_code)]
struct Timestamp;
#[allow(dead_code)]
struct Stamp;
// A relative `core::` or `std::` path in generated code would land here.
#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod std {}

use ::doctable::{DocTable as _, Json, Persistent};

/// A document, with every field and container attribute.
#[derive(::doctable::DocTable, Debug, PartialEq)]
#[doctable(
    table = "lint_docs",
    index(by_year_score = [year, score]),
    unique(by_title_year = [title, year])
)]
pub struct Doc {
    /// The key, assigned on insert.
    #[doctable(primary_key, autoincrement)]
    pub id: ::core::option::Option<i64>,
    /// Unique among documents.
    #[doctable(unique)]
    pub title: ::std::string::String,
    /// Stored as `body_text`.
    #[doctable(rename = "body_text")]
    pub body: ::std::string::String,
    /// Indexed on its own.
    #[doctable(index)]
    pub year: i64,
    /// Defaults to 0 in rows added before this column was.
    #[doctable(default = "0")]
    pub score: f64,
    /// Nullable.
    pub note: ::core::option::Option<::std::string::String>,
    /// Stored as JSON text.
    #[doctable(json)]
    pub tags: ::std::vec::Vec<::std::string::String>,
    /// Also JSON, through the wrapper type rather than the attribute.
    pub meta: Json<::std::collections::BTreeMap<::std::string::String, i64>>,
    /// Not stored; `Default` on reading.
    #[doctable(skip)]
    pub cache: ::core::option::Option<::std::string::String>,
    /// A raw identifier as a field name.
    pub r#type: ::std::string::String,
}

/// A private table without a key, whose column constants go unused: that
/// must not be a dead-code warning.
#[derive(::doctable::DocTable)]
struct Private {
    word: ::std::string::String,
    #[doctable(shadows_operation)]
    count: u32,
}

/// Times the crate writes, one of them nullable.
#[derive(::doctable::DocTable, Debug)]
struct Stamped {
    #[doctable(primary_key)]
    id: ::core::option::Option<i64>,
    n: i64,
    #[doctable(added)]
    added: ::std::time::SystemTime,
    #[doctable(updated)]
    updated: ::core::option::Option<::std::time::SystemTime>,
}

#[test]
fn timestamps_are_usable() -> ::doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    Stamped::create_table(&db)?;
    let row = Stamped {
        id: ::core::option::Option::None,
        n: 0,
        added: ::std::time::UNIX_EPOCH,
        updated: ::core::option::Option::None,
    };
    let id = Stamped::insert(&db, &row)?;
    Stamped::update().set(Stamped::n, 1).all_rows().run(&db)?;
    let back = Stamped::get(&db, id)?.ok_or(::doctable::Error::Usage("missing".into()))?;
    assert!(back.updated > ::core::option::Option::Some(back.added));
    ::core::result::Result::Ok(())
}

fn doc(title: &str, year: i64) -> Doc {
    Doc {
        id: ::core::option::Option::None,
        title: title.into(),
        body: "body".into(),
        year,
        score: 0.5,
        note: ::core::option::Option::None,
        tags: ::std::vec!["a".into()],
        meta: Json(::std::collections::BTreeMap::new()),
        cache: ::core::option::Option::None,
        r#type: "paper".into(),
    }
}

#[test]
fn every_generated_item_is_usable() -> ::doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    Doc::create_table(&db)?;
    Private::create_table(&db)?;
    Private::insert(
        &db,
        &Private {
            word: "w".into(),
            count: 1,
        },
    )?;

    let id = Doc::insert(&db, &doc("one", 2001))?;
    assert_eq!(
        Doc::insert_many(&db, &[doc("two", 2002), doc("three", 1980)])?,
        2
    );
    let mut one = Doc::get(&db, id)?.ok_or(::doctable::Error::Usage("missing".into()))?;
    one.score = 0.75;
    Doc::update_row(&db, &one)?;

    let hits = Doc::select()
        .filter(Doc::year.gt(2000).and(Doc::note.is_null()))
        .order_by(Doc::score.desc())
        .limit(10)
        .all(&db)?;
    assert_eq!(hits.len(), 2);
    let first = Doc::select().order_by(Doc::year.asc()).first(&db)?;
    assert_eq!(
        first.map(|d| d.title),
        ::core::option::Option::Some("three".into())
    );
    let pairs =
        Doc::select_cols((Doc::id, Doc::body, Doc::r#type, Doc::tags, Doc::meta)).all(&db)?;
    assert_eq!(pairs.len(), 3);
    assert_eq!(Doc::count().filter(Doc::title.eq("two")).get(&db)?, 1);

    Doc::update()
        .set(Doc::score, Doc::score + 1.0)
        .filter(Doc::year.eq(2002))
        .run(&db)?;
    Doc::delete().filter(Doc::year.lt(1990)).run(&db)?;
    Doc::delete().all_rows().run(&db)?;
    assert_eq!(<Doc as ::doctable::DocTable>::META.name, "lint_docs");
    assert_eq!(<Doc as ::doctable::HasPrimaryKey>::KEY.name(), "id");
    ::core::result::Result::Ok(())
}

/// The runtime's names imported unqualified, where a needlessly qualified
/// path that the derive spans at user code would be `unused_qualifications`.
mod imported {
    use std::time::SystemTime;

    use doctable::{
        Column, ColumnType, DocTable, HasPrimaryKey, Json, JsonValue, SqlType, Stamp, Timestamp,
    };

    /// With `Timestamp` and `Stamp` imported, the derive's paths to them stay needed.
    #[derive(DocTable)]
    pub(crate) struct Note {
        #[doctable(added)]
        pub(crate) at: SystemTime,
        #[doctable(updated)]
        pub(crate) seen: SystemTime,
    }

    #[test]
    fn imported_timestamp_names_do_not_make_generated_paths_redundant() {
        let at = SystemTime::from_stamp(Stamp::from_unix_micros(0));
        assert!(at.is_ok());
        assert_eq!(Note::at.name(), "at");
        assert_eq!(Note::seen.name(), "seen");
    }

    #[derive(DocTable)]
    pub(crate) struct Word {
        #[doctable(primary_key)]
        pub(crate) id: Option<i64>,
        #[doctable(json)]
        pub(crate) forms: Vec<String>,
        pub(crate) counts: Json<Vec<i64>>,
    }

    fn stored_as_json<V: JsonValue>(_: &V) -> bool {
        true
    }

    #[test]
    fn imported_names_do_not_make_generated_paths_redundant() {
        let key: Column<Word, Option<i64>> = <Word as HasPrimaryKey>::KEY;
        assert_eq!(key.name(), Word::id.name());
        assert_eq!(<Vec<u8> as ColumnType>::SQL_TYPE, SqlType::Blob);
        assert_eq!(Word::META.columns.len(), 3);
        let word = Word {
            id: None,
            forms: vec!["a".into()],
            counts: Json(vec![1]),
        };
        assert!(stored_as_json(&word.forms));
        assert_eq!(Word::counts.name(), "counts");
        assert_eq!(Word::forms.name(), "forms");
    }
}
