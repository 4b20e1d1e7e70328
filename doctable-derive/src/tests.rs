//! Expansion snapshots: the derive's output for a few structs, pretty-printed
//! and compared with `tests/snapshots/<name>.rs.snap`. Run with
//! `UPDATE_SNAPSHOTS=1` to write them after a deliberate change, then review
//! the diff.

use std::fs;
use std::path::Path;

use quote::quote;

use super::derive;

fn snapshot(name: &str, input: proc_macro2::TokenStream) {
    let output = derive(input);
    let file = syn::parse2::<syn::File>(output.clone())
        .unwrap_or_else(|e| panic!("the expansion of `{name}` does not parse: {e}\n{output}"));
    let actual = prettyplease::unparse(&file);
    assert_backend_neutral(name, &actual);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let path = dir.join(format!("{name}.rs.snap"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        if let Err(e) = fs::create_dir_all(&dir).and_then(|()| fs::write(&path, actual)) {
            panic!("{}: {e}", path.display());
        }
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_SNAPSHOTS=1 to write it",
            path.display()
        )
    });
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
        panic!(
            "the expansion of `{name}` differs from {} from line {}:\n\
             --- expected\n{}\n--- actual\n{}\n\
             (run with UPDATE_SNAPSHOTS=1 to accept it)",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

/// What a backend-neutral expansion never names: the SQLite driver's items.
/// Generated code reaches the backend only through `__B: Backend`.
const DRIVER_ITEMS: &[&str] = &[
    "rusqlite",
    "Statement",
    "ToSqlOutput",
    "__private::Row<",
    "Row<'_>",
    "Connection",
    "Sqlite",
];

fn assert_backend_neutral(name: &str, expansion: &str) {
    for item in DRIVER_ITEMS {
        assert!(
            !expansion.contains(item),
            "the expansion of `{name}` names the driver item `{item}`; generated code must stay backend-neutral:\n{expansion}"
        );
    }
}

#[test]
fn the_neutrality_check_catches_a_driver_item() {
    let caught = std::panic::catch_unwind(|| {
        assert_backend_neutral(
            "old",
            "fn __bind(&self, s: &mut ::doctable::__private::Statement<'_>)",
        );
    });
    assert!(caught.is_err());
}

#[test]
fn minimal() {
    snapshot(
        "minimal",
        quote! {
            struct Word {
                text: String,
            }
        },
    );
}

#[test]
fn every_attribute() {
    snapshot(
        "every_attribute",
        quote! {
            #[doctable(table = "docs", index(by_year_score = [year, score]))]
            #[doctable(unique(by_title_year = [title, year]), check = "score <= 100")]
            pub struct Doc {
                #[doctable(primary_key, autoincrement)]
                pub id: Option<i64>,
                #[doctable(unique)]
                pub title: String,
                #[doctable(index, rename = "published")]
                pub year: i64,
                #[doctable(default = "0")]
                pub score: f64,
                pub note: Option<String>,
                #[doctable(json)]
                pub tags: Vec<String>,
                #[doctable(json)]
                pub extra: Option<Vec<i64>>,
                #[doctable(check = "length(body) > 0")]
                pub body: String,
                #[doctable(references(Author::id), on_delete = "cascade", on_update = "set_null")]
                pub author_id: i64,
                #[doctable(references = "editors(id)")]
                pub editor_id: Option<i64>,
                #[doctable(skip)]
                pub cache: Option<String>,
                pub r#type: String,
            }
        },
    );
}

/// Errors, and the stand-ins made in their place: the misspelled key still
/// counts as the key, the `json` column keeps its `Json` type, the `skip`
/// field has no column.
#[test]
fn errors_and_fallback() {
    snapshot(
        "errors_and_fallback",
        quote! {
            #[doctable(tabel = "docs")]
            struct Doc {
                #[doctable(primary_kye)]
                id: Option<i64>,
                #[doctable(json, json)]
                tags: Vec<String>,
                #[doctable(skip, index)]
                cache: i64,
                #[doctable(searchable)]
                body: String,
            }
        },
    );
}

#[test]
fn wrong_shape() {
    snapshot(
        "wrong_shape",
        quote! {
            struct Pair(i64, String);
        },
    );
}

/// A field's own index under a name of the user's choosing (a string or an
/// identifier), next to an automatic one, whose name stays `ix_{table}_{column}`.
#[test]
fn named_field_index() {
    snapshot(
        "named_field_index",
        quote! {
            struct Doc {
                #[doctable(index = "ix_doc_year_v2")]
                year: i64,
                #[doctable(index = by_title)]
                title: String,
                #[doctable(index)]
                body: String,
            }
        },
    );
}

/// SQLite folds only ASCII letters in names: `ÄÖÜ` and `äöü` are two
/// columns, `abc` and `ABC` one.
#[test]
fn only_ascii_case_is_folded() {
    let distinct = derive(quote! {
        struct T { ÄÖÜ: i64, äöü: i64, #[doctable(rename = "Ωmega")] a: i64, #[doctable(rename = "ωmega")] b: i64 }
    })
    .to_string();
    assert!(!distinct.contains("compile_error"), "{distinct}");
    let same = derive(quote! {
        struct T { abc: i64, #[doctable(rename = "ABC")] other: i64 }
    })
    .to_string();
    assert!(
        same.contains("compile_error") && same.contains("ignore ASCII case"),
        "{same}"
    );
}

/// A composite key on the struct, in the order listed (not declaration
/// order): a table constraint, no column marked as the key, the key type a
/// tuple and `KEY` the tuple of columns.
#[test]
fn composite_key() {
    snapshot(
        "composite_key",
        quote! {
            #[doctable(primary_key(lang, word))]
            struct WordCount {
                word: String,
                lang: String,
                total: i64,
            }
        },
    );
}

/// The same key marked on the fields gives the key in declaration order.
#[test]
fn composite_key_on_fields_is_in_declaration_order() {
    let on_fields = derive(quote! {
        struct WordCount {
            #[doctable(primary_key)]
            lang: String,
            #[doctable(primary_key)]
            word: String,
            total: i64,
        }
    })
    .to_string();
    let on_struct = derive(quote! {
        #[doctable(primary_key(lang, word))]
        struct WordCount {
            lang: String,
            word: String,
            total: i64,
        }
    })
    .to_string();
    assert!(!on_fields.contains("compile_error"), "{on_fields}");
    assert_eq!(on_fields, on_struct);
}

/// Each rule of a composite key, reported at once: an `Option` part, an
/// `autoincrement` part, a key on both the struct and a field, a name that
/// is no field, a name given twice.
#[test]
fn composite_key_errors() {
    let both = derive(quote! {
        #[doctable(primary_key(a, b, nope, a))]
        struct T {
            #[doctable(primary_key, autoincrement)]
            a: i64,
            b: Option<String>,
        }
    })
    .to_string();
    for message in [
        "already declared on the struct, as `primary_key(a, b, nope, a)`",
        "`primary_key` names `nope`, which is not a field of `T`",
        "`a` is named twice",
        "the values of a composite key are always given",
        "`b` is part of a composite primary key, which cannot be an `Option`",
    ] {
        assert!(both.contains(message), "missing {message:?} in {both}");
    }
}

/// A field named like a table operation warns at the field (a deprecated
/// constant used there, whose note says what to write), unless the field
/// says `shadows_operation`; other fields do not warn.
#[test]
fn a_field_named_like_an_operation_warns_unless_meant() {
    let warned = derive(quote! {
        struct Token { #[doctable(primary_key)] id: Option<i64>, count: i64, text: String }
    })
    .to_string();
    assert!(!warned.contains("compile_error"), "{warned}");
    assert_eq!(warned.matches("deprecated").count(), 1, "{warned}");
    assert!(warned.contains("count_hides_a_table_operation"), "{warned}");
    assert!(warned.contains("<Token as DocTable>::count()"), "{warned}");
    let meant = derive(quote! {
        struct Token { #[doctable(primary_key)] id: Option<i64>, #[doctable(shadows_operation)] count: i64 }
    })
    .to_string();
    assert!(!meant.contains("deprecated"), "{meant}");
    assert!(!meant.contains("compile_error"), "{meant}");
}

/// The shadowing warning's list of operations is every provided associated
/// function of `doctable::DocTable`, read from its source: a new operation
/// added to the trait without the list fails here.
#[test]
fn the_operations_list_matches_the_doctable_trait() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../doctable/src/table.rs");
    let source = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let body = source
        .split_once("\npub trait DocTable")
        .and_then(|(_, rest)| rest.split_once("\n}\n"))
        .map(|(body, _)| body)
        .unwrap_or_else(|| panic!("{} declares `pub trait DocTable`", path.display()));
    let mut in_trait: Vec<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("    fn "))
        .filter_map(|rest| rest.split(['(', '<']).next())
        .filter(|name| !name.starts_with("__"))
        .collect();
    in_trait.sort_unstable();
    let mut listed = crate::expand::OPERATIONS.to_vec();
    listed.sort_unstable();
    assert!(
        in_trait.len() > 10,
        "found the trait's functions: {in_trait:?}"
    );
    assert_eq!(
        listed, in_trait,
        "expand.rs OPERATIONS must list every provided function of `DocTable`"
    );
}

/// `added` and `updated` fields: bound from the write (never from the
/// field), their indexes in the table's description, and `__updated` for
/// `update()`; the other fields as always.
#[test]
fn added_and_updated() {
    snapshot(
        "added_and_updated",
        quote! {
            #[doctable(table = "docs")]
            struct Doc {
                #[doctable(primary_key)]
                id: Option<i64>,
                body: String,
                #[doctable(added)]
                added: std::time::SystemTime,
                #[doctable(updated)]
                changed: Option<std::time::SystemTime>,
            }
        },
    );
}

/// File columns: bound through `__bind_file`, read back through the file store.
#[test]
fn file_columns() {
    snapshot(
        "file_columns",
        quote! {
            #[doctable(table = "pages")]
            struct Page {
                #[doctable(primary_key)]
                id: Option<i64>,
                #[doctable(file)]
                body: Vec<u8>,
                #[doctable(file)]
                text: Option<String>,
                #[doctable(file, json)]
                tags: Vec<String>,
            }
        },
    );
}

/// An `added` field alone: no `__updated`, the trait's default.
#[test]
fn added_only() {
    snapshot(
        "added_only",
        quote! {
            struct Note {
                text: String,
                #[doctable(added, rename = "created")]
                at: std::time::SystemTime,
            }
        },
    );
}

/// Each rule of `added` and `updated`, reported at once.
#[test]
fn timestamp_errors() {
    let out = derive(quote! {
        struct T {
            #[doctable(primary_key, added)]
            id: std::time::SystemTime,
            #[doctable(added, updated)]
            both: std::time::SystemTime,
            #[doctable(added)]
            second: std::time::SystemTime,
            #[doctable(updated, json)]
            doc: std::time::SystemTime,
            #[doctable(skip, updated)]
            cache: std::time::SystemTime,
            #[doctable(created)]
            made: std::time::SystemTime,
        }
    })
    .to_string();
    for message in [
        "the primary key cannot be `added`",
        "is `added` (set when the row is inserted) or `updated` (set on insert and on every update), not both",
        "`id` is already the `added` field; a table has one",
        "an `updated` field cannot be `json`",
        "`updated` on a `skip` field",
        "unknown doctable attribute `created`; did you mean `added`?",
    ] {
        assert!(out.contains(message), "missing {message:?} in {out}");
    }
}
