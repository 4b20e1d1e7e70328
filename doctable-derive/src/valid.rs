//! Rules that involve several attributes or fields.

use std::collections::HashMap;

use crate::ast::Table;
use crate::attr::{Errors, NamedFields};

/// `file` misuse: on a key, or with an attribute that means something only for
/// a value stored in the column itself.
fn check_file(
    field: &crate::ast::Field<'_>,
    span: proc_macro2::Span,
    in_key: bool,
    errors: &mut Errors,
) {
    let a = &field.attrs;
    if in_key {
        errors.push(syn::Error::new(
            span,
            "a primary key cannot be a `file` column; use an integer or text key, and keep the large value in another field",
        ));
    }
    let refused = [
        (
            a.default.as_ref().map(|d| d.span),
            "default",
            "a file column holds a content hash, which no SQL default can give; make the field an `Option` for rows without a value",
        ),
        (
            a.references.as_ref().map(|r| r.span),
            "references",
            "a file column holds a content hash, which cannot reference another table",
        ),
        (
            a.check.as_ref().map(|c| c.span),
            "check",
            "a file column holds a content hash, so a `check` would test the hash, not the value",
        ),
    ];
    for (at, name, why) in refused {
        if let Some(at) = at {
            errors.push(syn::Error::new(
                at,
                format!("`{name}` on a `file` field: {why}"),
            ));
        }
    }
}

/// Adds every broken rule to `errors`.
pub(crate) fn check(table: &Table<'_>, errors: &mut Errors) {
    if let Some(t) = &table.attrs.table
        && t.value.trim().is_empty()
    {
        errors.push(syn::Error::new(
            t.span,
            "`table` needs a name, as in `table = \"docs\"`",
        ));
    }
    check_key(table, errors);
    let composite = table.key_fields().len() > 1;
    check_timestamps(table, errors);
    let mut columns: HashMap<String, &syn::Ident> = HashMap::new();
    for field in &table.fields {
        let a = &field.attrs;
        let in_key = table.in_key(field);
        if let Some(span) = a.autoincrement {
            if !in_key {
                errors.push(syn::Error::new(
                    span,
                    "`autoincrement` applies to the primary key; add `primary_key` to this field",
                ));
            } else if composite {
                errors.push(syn::Error::new(
                    span,
                    "`autoincrement` applies to a key of one integer column; the values of a composite key are always given, so remove it",
                ));
            }
        }
        if composite && in_key && field.stored() && field.is_option() {
            errors.push(syn::Error::new_spanned(
                field.ty,
                format!("`{}` is part of a composite primary key, which cannot be an `Option`: every key column holds a value, given on insert; write the type without `Option`", field.ident),
            ));
        }
        if a.skip.is_some() {
            let stored_only = [
                (a.primary_key, "primary_key"),
                (a.autoincrement, "autoincrement"),
                (a.unique, "unique"),
                (a.index, "index"),
                (a.json, "json"),
                (a.file, "file"),
                (a.rename.as_ref().map(|r| r.span), "rename"),
                (a.default.as_ref().map(|d| d.span), "default"),
                (a.check.as_ref().map(|c| c.span), "check"),
                (a.references.as_ref().map(|r| r.span), "references"),
                (a.added, "added"),
                (a.updated, "updated"),
            ];
            for (span, name) in stored_only {
                if let Some(span) = span {
                    errors.push(syn::Error::new(
                        span,
                        format!("`{name}` on a `skip` field: a skipped field is not stored, so it has no column to {}", what_it_needs(name)),
                    ));
                }
            }
        }
        if let Some(span) = a.file {
            check_file(field, span, in_key, errors);
        }
        if let (Some(span), true) = (a.json, in_key) {
            errors.push(syn::Error::new(
                span,
                "a primary key cannot be `json`; use an integer or text key",
            ));
        }
        if let Some(d) = &a.default
            && d.value.trim().is_empty()
        {
            errors.push(syn::Error::new(d.span, "`default` needs an SQL expression, as in `default = \"0\"` or `default = \"'none'\"`"));
        }
        if let Some(c) = &a.check
            && c.value.trim().is_empty()
        {
            errors.push(syn::Error::new(
                c.span,
                "`check` needs an SQL condition, as in `check = \"score >= 0\"`",
            ));
        }
        for (action, name) in [(&a.on_delete, "on_delete"), (&a.on_update, "on_update")] {
            if let (Some(action), None) = (action, &a.references) {
                errors.push(syn::Error::new(
                    action.span,
                    format!("`{name}` applies to a foreign key; add `references(Other::id)` to this field"),
                ));
            }
        }
        if let Some(r) = &a.rename
            && r.value.trim().is_empty()
        {
            errors.push(syn::Error::new(r.span, "`rename` needs a column name"));
        }
        if let Some(n) = &a.index_name
            && n.value.trim().is_empty()
        {
            errors.push(syn::Error::new(
                n.span,
                "`index = \"...\"` needs an index name; write `index` alone for the automatic name `ix_{table}_{column}`",
            ));
        }
        if field.stored()
            && let Some(other) = columns.insert(field.column.to_ascii_lowercase(), field.ident)
        {
            errors.push(syn::Error::new_spanned(
                field.ident,
                format!("column `{}` is already used by field `{other}` (SQLite column names ignore ASCII case); use `rename`", field.column),
            ));
        }
    }
    if table.stored_fields().next().is_none() {
        errors.push(syn::Error::new_spanned(
            table.ident,
            "a table needs at least one stored (not `skip`) field",
        ));
    }
    for check in &table.attrs.checks {
        if check.value.trim().is_empty() {
            errors.push(syn::Error::new(
                check.span,
                "`check` needs an SQL condition, as in `check = \"end_year >= start_year\"`",
            ));
        }
    }
    check_index_names(table, errors);
    check_named_fields(table, &table.attrs.indexes, "index", errors);
    check_named_fields(table, &table.attrs.uniques, "unique", errors);
}

/// The rules of `added` and `updated`: not both on one field, at most one
/// field each, never on a key or a `json` field (`skip` is refused with the
/// other stored-only attributes).
fn check_timestamps(table: &Table<'_>, errors: &mut Errors) {
    let mut first: [Option<&syn::Ident>; 2] = [None, None];
    for field in &table.fields {
        let a = &field.attrs;
        if let (Some(_), Some(updated)) = (a.added, a.updated) {
            errors.push(syn::Error::new(
                updated,
                "a field is `added` (set when the row is inserted) or `updated` (set on insert and on every update), not both; use two fields",
            ));
            continue;
        }
        for (slot, (span, name)) in [(a.added, "added"), (a.updated, "updated")]
            .into_iter()
            .enumerate()
        {
            let Some(span) = span else { continue };
            if let Some(earlier) = first.get(slot).copied().flatten() {
                errors.push(syn::Error::new(
                    span,
                    format!("`{earlier}` is already the `{name}` field; a table has one"),
                ));
            } else if let Some(place) = first.get_mut(slot) {
                *place = Some(field.ident);
            }
            if table.in_key(field) {
                errors.push(syn::Error::new(
                    span,
                    format!("the primary key cannot be `{name}`: the crate writes the time into this field, and a key's value is given or assigned on insert; keep the time in a field of its own"),
                ));
            }
            if a.json.is_some() {
                errors.push(syn::Error::new(
                    span,
                    format!("an `{name}` field cannot be `json`: the time is stored as its own type (remove `json`)"),
                ));
            }
        }
    }
}

/// The most columns a composite key may have (the key tuples `get` takes).
const MAX_KEY_COLUMNS: usize = 6;

/// The rules of the primary key: declared on the struct or on fields, not
/// both; the struct's list names stored fields, each once.
fn check_key(table: &Table<'_>, errors: &mut Errors) {
    let Some(list) = &table.attrs.primary_key else {
        let marked: Vec<_> = table
            .fields
            .iter()
            .filter_map(|f| f.attrs.primary_key)
            .collect();
        if let Some(&span) = marked.get(MAX_KEY_COLUMNS) {
            errors.push(syn::Error::new(
                span,
                format!("a composite primary key has at most {MAX_KEY_COLUMNS} columns"),
            ));
        }
        return;
    };
    let names: Vec<String> = list.value.iter().map(ToString::to_string).collect();
    let shown = names.join(", ");
    for field in &table.fields {
        if let Some(span) = field.attrs.primary_key {
            errors.push(syn::Error::new(
                span,
                format!("the primary key is already declared on the struct, as `primary_key({shown})`; remove this `primary_key`, or the struct's"),
            ));
        }
    }
    let mut seen: Vec<&syn::Ident> = Vec::new();
    for ident in &list.value {
        match table.field_named(ident) {
            None => errors.push(syn::Error::new(
                ident.span(),
                format!(
                    "`primary_key` names `{ident}`, which is not a field of `{}`",
                    table.ident
                ),
            )),
            Some(f) if !f.stored() => errors.push(syn::Error::new(
                ident.span(),
                format!("`primary_key` names `{ident}`, a `skip` field, which is not stored"),
            )),
            Some(_) => {}
        }
        if seen.contains(&ident) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{ident}` is named twice in `primary_key({shown})`"),
            ));
        }
        seen.push(ident);
    }
    if list.value.len() > MAX_KEY_COLUMNS {
        errors.push(syn::Error::new(
            list.span,
            format!("a composite primary key has at most {MAX_KEY_COLUMNS} columns"),
        ));
    }
}

/// The name of a field's own index: the one given by `index = "name"`, else
/// the automatic `ix_{table}_{column}` (kept as it always was: databases
/// already hold indexes by that name).
pub(crate) fn field_index_name(table: &Table<'_>, field: &crate::ast::Field<'_>) -> String {
    match &field.attrs.index_name {
        Some(name) => name.value.clone(),
        None => format!("ix_{}_{}", table.name, field.column),
    }
}

/// Index names are shared by the whole database: two indexes of one struct
/// may not have the same name. SQLite folds only ASCII letters in names.
fn check_index_names(table: &Table<'_>, errors: &mut Errors) {
    let mut seen: HashMap<String, ()> = HashMap::new();
    let field_names = table
        .stored_fields()
        .filter(|f| f.attrs.index.is_some())
        .map(|f| {
            let span = f
                .attrs
                .index_name
                .as_ref()
                .map_or_else(|| f.ident.span(), |n| n.span);
            (field_index_name(table, f), span)
        });
    let list_names = table
        .attrs
        .indexes
        .iter()
        .chain(&table.attrs.uniques)
        .map(|list| (crate::ast::unraw(&list.name), list.name.span()));
    for (name, span) in field_names.chain(list_names) {
        if seen.insert(name.to_ascii_lowercase(), ()).is_some() {
            errors.push(syn::Error::new(
                span,
                format!("another index of this struct is already named `{name}`; index names are shared by the whole database, so give each its own"),
            ));
        }
    }
}

fn what_it_needs(attr: &str) -> &'static str {
    match attr {
        "index" | "unique" => "index",
        "primary_key" | "autoincrement" | "references" => "key",
        "check" => "check",
        _ => "store",
    }
}

fn check_named_fields(table: &Table<'_>, lists: &[NamedFields], what: &str, errors: &mut Errors) {
    for list in lists {
        for ident in &list.fields {
            match table.field_named(ident) {
                None => errors.push(syn::Error::new(
                    ident.span(),
                    format!(
                        "{what} `{}` names `{ident}`, which is not a field of `{}`",
                        list.name, table.ident
                    ),
                )),
                Some(f) if !f.stored() => errors.push(syn::Error::new(
                    ident.span(),
                    format!(
                        "{what} `{}` names `{ident}`, a `skip` field, which is not stored",
                        list.name
                    ),
                )),
                Some(_) => {}
            }
        }
    }
}
