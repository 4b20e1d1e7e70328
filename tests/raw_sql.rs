//! Raw SQL into any row shape: `doctable::select_sql` into tuples of column
//! types and into `DocTable` structs, with the conversion errors of the
//! typed queries; `Expr::raw` and `DocTable::select_sql` with `()` for no
//! parameters and tuples of mixed parameter types. Each test is written once
//! and run on every strategy of both engines (tests/support/backends.rs).

use doctable::{Conn, DocTable, Error, Expr, select_sql};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::Engine;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "people")]
struct Person {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
    mentor_id: Option<i64>,
    born: i64,
}

/// Another struct, never created as a table: a row shape for `select_sql`.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "pairs")]
struct Pair {
    student: String,
    mentor: Option<String>,
    gap: i64,
}

fn people<C: Conn>(db: &C) {
    Person::create_table(db).expect("people");
    let person = |id, name: &str, mentor_id, born| Person {
        id: Some(id),
        name: name.into(),
        mentor_id,
        born,
    };
    Person::insert_many(
        db,
        &[
            person(1, "Ada", None, 1815),
            person(2, "Grace", Some(1), 1906),
            person(3, "Noam", Some(2), 1928),
            person(4, "Barbara", Some(2), 1939),
        ],
    )
    .expect("insert people");
}

fn a_self_join_into_a_tuple_of_column_types<C: Conn<Backend: Engine>>(db: &C) {
    people(db);
    // What the typed join refuses (a table joined with itself), per mentor.
    let per_mentor: Vec<(String, i64, Option<i64>)> = select_sql(
        "SELECT m.\"name\", count(*), min(s.\"born\") FROM \"people\" s \
         JOIN \"people\" m ON s.\"mentor_id\" = m.\"id\" \
         WHERE s.\"born\" > ? AND m.\"name\" <> ? GROUP BY m.\"name\" ORDER BY m.\"name\"",
        (1800, "nobody"),
        db,
    )
    .expect("per mentor");
    assert_eq!(
        per_mentor,
        [
            ("Ada".to_string(), 1, Some(1906)),
            ("Grace".to_string(), 2, Some(1928)),
        ]
    );
    // One column is a 1-tuple; no parameters is `()`.
    let names: Vec<(String,)> = select_sql(
        "SELECT \"name\" FROM \"people\" ORDER BY \"born\" DESC",
        (),
        db,
    )
    .expect("names");
    assert_eq!(
        names,
        [
            ("Barbara".to_string(),),
            ("Noam".to_string(),),
            ("Grace".to_string(),),
            ("Ada".to_string(),)
        ]
    );
    let nothing: Vec<(i64, String)> = select_sql(
        "SELECT \"id\", \"name\" FROM \"people\" WHERE \"id\" = ?",
        [99],
        db,
    )
    .expect("no rows");
    assert!(nothing.is_empty());
}

fn raw_sql_into_another_doctable_struct<C: Conn<Backend: Engine>>(db: &C) {
    people(db);
    let pairs = select_sql::<Pair>(
        "SELECT s.\"name\", m.\"name\", s.\"born\" - coalesce(m.\"born\", s.\"born\") \
         FROM \"people\" s LEFT JOIN \"people\" m ON s.\"mentor_id\" = m.\"id\" \
         WHERE s.\"id\" IN (?, ?) ORDER BY s.\"id\"",
        [1, 3],
        db,
    )
    .expect("pairs");
    assert_eq!(
        pairs,
        [
            Pair {
                student: "Ada".into(),
                mentor: None,
                gap: 0
            },
            Pair {
                student: "Noam".into(),
                mentor: Some("Grace".into()),
                gap: 22
            },
        ]
    );
    // The table's own struct, from a statement of one's own.
    let mentored = select_sql::<Person>(
        "SELECT \"id\", \"name\", \"mentor_id\", \"born\" FROM \"people\" \
         WHERE \"mentor_id\" = ? ORDER BY \"id\"",
        [2_i64],
        db,
    )
    .expect("people");
    assert_eq!(
        mentored.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["Noam", "Barbara"]
    );
}

fn a_value_that_does_not_fit_is_a_conversion_error_naming_the_column<C: Conn<Backend: Engine>>(
    db: &C,
) {
    people(db);
    // A tuple: the column as the statement names it.
    let err = select_sql::<(i64, i64)>(
        "SELECT \"id\", \"name\" AS \"who\" FROM \"people\" ORDER BY \"id\"",
        (),
        db,
    )
    .unwrap_err();
    match &err {
        Error::Conversion { table, column, .. } => {
            assert_eq!((table.as_str(), column.as_str()), ("(select_sql)", "who"));
        }
        other => panic!("expected a conversion error, got {other}"),
    }
    // A NULL into a field that is not an `Option`: the struct's table and field.
    let err = select_sql::<Pair>(
        "SELECT \"name\", NULL, \"mentor_id\" FROM \"people\" ORDER BY \"id\"",
        (),
        db,
    )
    .unwrap_err();
    match &err {
        Error::Conversion { table, column, .. } => {
            assert_eq!((table.as_str(), column.as_str()), ("pairs", "gap"));
        }
        other => panic!("expected a conversion error, got {other}"),
    }
    // SQL the engine refuses: its error, with the statement.
    let err = expect_failure!(db, |c| select_sql::<(i64,)>(
        "SELECT \"no_such_column\" FROM \"people\"",
        (),
        c
    ));
    assert!(err.to_string().contains("no_such_column"), "{err}");
    // A parameter that cannot be bound names the parameter.
    let err = select_sql::<(i64,)>(
        "SELECT \"id\" FROM \"people\" WHERE \"id\" = ?",
        [u64::MAX],
        db,
    )
    .unwrap_err();
    match &err {
        Error::Conversion { column, detail, .. } => {
            assert_eq!(column, "(select_sql parameter)");
            assert!(detail.contains("parameter 1"), "{detail}");
        }
        other => panic!("expected a conversion error, got {other}"),
    }
}

fn a_row_shape_of_the_wrong_width_is_a_usage_error<C: Conn<Backend: Engine>>(db: &C) {
    people(db);
    let err = select_sql::<(i64, String, i64)>("SELECT \"id\", \"name\" FROM \"people\"", (), db)
        .unwrap_err();
    match &err {
        Error::Usage(m) => assert!(
            m.contains("gives 2 column(s), but the row type reads 3"),
            "{m}"
        ),
        other => panic!("expected a usage error, got {other}"),
    }
    let err = select_sql::<(i64,)>("SELECT \"id\", \"name\" FROM \"people\"", (), db).unwrap_err();
    match &err {
        Error::Usage(m) => assert!(
            m.contains("gives 2 columns, but the row type reads 1"),
            "{m}"
        ),
        other => panic!("expected a usage error, got {other}"),
    }
}

fn raw_expressions_take_no_parameters_or_a_tuple_of_them<C: Conn<Backend: Engine>>(db: &C) {
    people(db);
    let no_mentor: Expr<Person, bool> = Expr::raw("\"mentor_id\" IS NULL", ());
    let mixed: Expr<Person, bool> = Expr::raw(
        "\"born\" BETWEEN ? AND ? AND \"name\" <> ?",
        (1900, 1935_i64, "Grace"),
    );
    let names = |cond: Expr<Person, bool>| -> Vec<String> {
        Person::select_cols(Person::name)
            .filter(cond)
            .order_by(Person::id)
            .all(db)
            .expect("names")
    };
    assert_eq!(names(no_mentor), ["Ada"]);
    assert_eq!(names(mixed), ["Noam"]);
    let all = Person::select_sql("ORDER BY \"id\" DESC", (), db).expect("select_sql");
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].name, "Barbara");
    // A slice and a `Vec` of values.
    let ids = [1_i64, 4];
    let by_slice =
        Person::select_sql("WHERE \"id\" IN (?, ?) ORDER BY \"id\"", &ids[..], db).expect("slice");
    assert_eq!(by_slice.len(), 2);
    let by_vec = Person::select_sql("WHERE \"id\" = ?", vec![4], db).expect("vec");
    assert_eq!(by_vec[0].name, "Barbara");
}

on_every_strategy!(
    a_self_join_into_a_tuple_of_column_types,
    raw_sql_into_another_doctable_struct,
    a_value_that_does_not_fit_is_a_conversion_error_naming_the_column,
    a_row_shape_of_the_wrong_width_is_a_usage_error,
    raw_expressions_take_no_parameters_or_a_tuple_of_them,
);
