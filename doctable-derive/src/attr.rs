//! `#[doctable(...)]` attributes, on the struct and on fields.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitStr, Token};

/// Errors collected while reading attributes, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// A value with the span of the attribute that set it.
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// A named list of fields: `by_year = [year, score]`.
pub(crate) struct NamedFields {
    pub(crate) name: Ident,
    pub(crate) fields: Vec<Ident>,
}

/// Attributes on the struct.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) table: Option<Spanned<String>>,
    pub(crate) indexes: Vec<NamedFields>,
    pub(crate) uniques: Vec<NamedFields>,
    pub(crate) checks: Vec<Spanned<String>>,
    /// `primary_key(a, b)`: the key's fields, in key order; the span is the
    /// attribute's name.
    pub(crate) primary_key: Option<Spanned<Vec<Ident>>>,
}

/// The target of `references`.
pub(crate) enum Reference {
    /// `references = "table(column)"`.
    Text { table: String, column: String },
    /// `references(Other::column)`: checked by the compiler.
    Typed(syn::Path),
}

/// Attributes on a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) primary_key: Option<Span>,
    pub(crate) autoincrement: Option<Span>,
    pub(crate) unique: Option<Span>,
    pub(crate) index: Option<Span>,
    /// The name given by `index = "name"`; `None` for the automatic
    /// `ix_{table}_{column}`.
    pub(crate) index_name: Option<Spanned<String>>,
    pub(crate) skip: Option<Span>,
    pub(crate) json: Option<Span>,
    /// `file`: the value lives in a file named by its hash; the column holds the hash.
    pub(crate) file: Option<Span>,
    pub(crate) rename: Option<Spanned<String>>,
    pub(crate) default: Option<Spanned<String>>,
    pub(crate) check: Option<Spanned<String>>,
    pub(crate) references: Option<Spanned<Reference>>,
    pub(crate) on_delete: Option<Spanned<String>>,
    pub(crate) on_update: Option<Spanned<String>>,
    /// `shadows_operation`: the field is named like a table operation
    /// (`count`) on purpose, so the derive does not warn about it.
    pub(crate) shadows_operation: Option<Span>,
    /// `added`: the crate sets the field when the row is inserted.
    pub(crate) added: Option<Span>,
    /// `updated`: the crate sets the field on insert and on every update.
    pub(crate) updated: Option<Span>,
}

const CONTAINER_KEYS: &str = "`table = \"...\"`, `index(name = [field, ...])`, `unique(name = [field, ...])`, `check = \"...\"`, `primary_key(field, ...)`";
const CONTAINER_KEY_NAMES: &[&str] = &["table", "index", "unique", "check", "primary_key"];
const FIELD_KEY_NAMES: &[&str] = &[
    "primary_key",
    "autoincrement",
    "unique",
    "index",
    "rename",
    "default",
    "skip",
    "json",
    "file",
    "check",
    "references",
    "on_delete",
    "on_update",
    "shadows_operation",
    "added",
    "updated",
];
const FIELD_KEYS: &str = "`primary_key`, `autoincrement`, `unique`, `index` or `index = \"name\"`, `rename = \"...\"`, `default = \"...\"`, `skip`, `json`, `file`, `check = \"...\"`, `references = \"table(column)\"` or `references(Other::column)`, `on_delete = \"...\"`, `on_update = \"...\"`, `shadows_operation`, `added`, `updated`";

/// The foreign key actions SQLite knows, as written in SQL.
const FK_ACTIONS: &[&str] = &[
    "NO ACTION",
    "RESTRICT",
    "SET NULL",
    "SET DEFAULT",
    "CASCADE",
];

/// Parses `on_delete = "cascade"`: one of [`FK_ACTIONS`], any case, `_` for space.
fn set_action(
    slot: &mut Option<Spanned<String>>,
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    let lit: LitStr = meta.value()?.parse()?;
    let action = lit.value().trim().replace('_', " ").to_ascii_uppercase();
    if !FK_ACTIONS.contains(&action.as_str()) {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "unknown foreign key action `{}`; expected one of \"cascade\", \"set null\", \"set default\", \"restrict\", \"no action\"",
                lit.value()
            ),
        ));
    }
    if slot.is_some() {
        errors.push(duplicate(meta));
    } else {
        *slot = Some(Spanned {
            value: action,
            span: lit.span(),
        });
    }
    Ok(())
}

/// Parses `references = "table(column)"` or `references(Other::column)`.
fn set_reference(
    slot: &mut Option<Spanned<Reference>>,
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    const HELP: &str =
        "the correct format looks like `references = \"author(id)\"` or `references(Author::id)`";
    let reference = if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        let path: syn::Path = content.parse()?;
        if path.segments.len() < 2 {
            return Err(syn::Error::new_spanned(
                &path,
                format!("expected a column as `Type::column`; {HELP}"),
            ));
        }
        Spanned {
            span: path.segments[0].ident.span(),
            value: Reference::Typed(path),
        }
    } else {
        let lit: LitStr = meta.value()?.parse()?;
        let text = lit.value();
        let parsed = text.split_once('(').and_then(|(table, rest)| {
            let column = rest.strip_suffix(')')?;
            let (table, column) = (table.trim(), column.trim());
            (!table.is_empty() && !column.is_empty() && !column.contains(['(', ')', ',']))
                .then(|| (table.to_owned(), column.to_owned()))
        });
        let Some((table, column)) = parsed else {
            return Err(syn::Error::new(
                lit.span(),
                format!("cannot read `{text}` as a column; {HELP}"),
            ));
        };
        Spanned {
            value: Reference::Text { table, column },
            span: lit.span(),
        }
    };
    if slot.is_some() {
        errors.push(duplicate(meta));
    } else {
        *slot = Some(reference);
    }
    Ok(())
}

fn doctable_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("doctable"))
}

fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(|| "(path)".to_owned(), Ident::to_string)
}

fn unknown(meta: &ParseNestedMeta<'_>, valid: &str, names: &[&'static str]) -> syn::Error {
    let name = key_name(meta);
    match closest(&name, names) {
        Some(near) => meta.error(format!(
            "unknown doctable attribute `{name}`; did you mean `{near}`?"
        )),
        None => meta.error(format!(
            "unknown doctable attribute `{name}`; expected one of {valid}"
        )),
    }
}

fn duplicate(meta: &ParseNestedMeta<'_>) -> syn::Error {
    meta.error(format!("duplicate doctable attribute `{}`", key_name(meta)))
}

fn set_flag(slot: &mut Option<Span>, meta: &ParseNestedMeta<'_>, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(duplicate(meta));
    } else {
        *slot = Some(meta.path.segments[0].ident.span());
    }
}

fn set_string(
    slot: &mut Option<Spanned<String>>,
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    let lit: LitStr = meta.value()?.parse()?;
    if slot.is_some() {
        errors.push(duplicate(meta));
    } else {
        *slot = Some(Spanned {
            value: lit.value(),
            span: lit.span(),
        });
    }
    Ok(())
}

/// Parses `index = "name"` (or `index = name`) on a field: an index of its
/// own under a name of the user's choosing rather than `ix_{table}_{column}`.
fn set_index_name(
    out: &mut FieldAttrs,
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<()> {
    let value = meta.value()?;
    let name = if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        Spanned {
            value: lit.value(),
            span: lit.span(),
        }
    } else {
        let ident: Ident = value.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an index name, as in `index = \"ix_docs_year\"`",
            )
        })?;
        Spanned {
            value: crate::ast::unraw(&ident),
            span: ident.span(),
        }
    };
    if out.index.is_some() {
        errors.push(duplicate(meta));
    } else {
        out.index = Some(meta.path.segments[0].ident.span());
        out.index_name = Some(name);
    }
    Ok(())
}

/// Parses `(name = [a, b], ...)` after `index` or `unique`.
fn parse_named_fields(meta: &ParseNestedMeta<'_>, out: &mut Vec<NamedFields>) -> syn::Result<()> {
    let what = key_name(meta);
    meta.parse_nested_meta(|inner| {
        let Some(name) = inner.path.get_ident().cloned() else {
            return Err(inner.error(format!(
                "expected an {what} name, as in `{what}(by_year = [year, score])`"
            )));
        };
        let content;
        let value = inner.value()?;
        syn::bracketed!(content in value);
        let fields = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
        if fields.is_empty() {
            return Err(syn::Error::new(
                name.span(),
                format!("{what} `{name}` lists no fields"),
            ));
        }
        out.push(NamedFields {
            name,
            fields: fields.into_iter().collect(),
        });
        Ok(())
    })
    .map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{e}; the correct format looks like `{what}(by_year = [year, score])`"),
        )
    })
}

/// Parses `primary_key(a, b)` on the struct: the key's fields, in key order.
fn parse_key_fields(
    meta: &ParseNestedMeta<'_>,
    slot: &mut Option<Spanned<Vec<Ident>>>,
    errors: &mut Errors,
) -> syn::Result<()> {
    const HELP: &str = "on the struct, `primary_key` lists the key's fields, as in `primary_key(lang, word)`; a key of one field can also be marked on the field";
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(HELP));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let fields = Punctuated::<Ident, Token![,]>::parse_terminated(&content)
        .map_err(|e| syn::Error::new(e.span(), format!("{e}; {HELP}")))?;
    if fields.is_empty() {
        return Err(meta.error(HELP));
    }
    if slot.is_some() {
        errors.push(duplicate(meta));
    } else {
        *slot = Some(Spanned {
            value: fields.into_iter().collect(),
            span: meta.path.segments[0].ident.span(),
        });
    }
    Ok(())
}

pub(crate) fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in doctable_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                set_string(&mut out.table, &meta, errors)
            } else if meta.path.is_ident("index") {
                parse_named_fields(&meta, &mut out.indexes)
            } else if meta.path.is_ident("unique") {
                parse_named_fields(&meta, &mut out.uniques)
            } else if meta.path.is_ident("check") {
                let mut one = None;
                set_string(&mut one, &meta, errors)?;
                out.checks.extend(one);
                Ok(())
            } else if meta.path.is_ident("primary_key") {
                parse_key_fields(&meta, &mut out.primary_key, errors)
            } else if is_field_key(&meta) {
                Err(meta.error(format!(
                    "`{}` goes on a field, not on the struct",
                    key_name(&meta)
                )))
            } else {
                Err(unknown(&meta, CONTAINER_KEYS, CONTAINER_KEY_NAMES))
            }
        });
        if let Err(err) = result {
            errors.push(err);
        }
    }
    out
}

/// Checked after `index` and `unique`, which both the struct and fields take.
fn is_field_key(meta: &ParseNestedMeta<'_>) -> bool {
    FIELD_KEY_NAMES.iter().any(|k| meta.path.is_ident(k))
}

pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in doctable_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let name = key_name(&meta);
            // A misspelled key is reported and then read as the key it is
            // closest to, so that the stand-in impls made after the error
            // (see `fallback`) behave as the user meant.
            if let Some(meant) = timestamp_synonym(&name) {
                return Err(meta.error(format!(
                    "unknown doctable attribute `{name}`; did you mean `{meant}`?"
                )));
            }
            let key = match FIELD_KEY_NAMES.iter().find(|k| **k == name) {
                Some(key) => *key,
                None if name == "table" => {
                    return Err(meta.error("`table` goes on the struct, not on a field"));
                }
                None => {
                    let err = unknown(&meta, FIELD_KEYS, FIELD_KEY_NAMES);
                    match closest(&name, FIELD_KEY_NAMES) {
                        Some(key) => {
                            errors.push(err);
                            key
                        }
                        None => return Err(err),
                    }
                }
            };
            if key == "index" && meta.input.peek(Token![=]) {
                return set_index_name(&mut out, &meta, errors);
            }
            let flag = match key {
                "primary_key" => &mut out.primary_key,
                "autoincrement" => &mut out.autoincrement,
                "unique" => &mut out.unique,
                "index" => &mut out.index,
                "skip" => &mut out.skip,
                "json" => &mut out.json,
                "file" => &mut out.file,
                "shadows_operation" => &mut out.shadows_operation,
                "added" => &mut out.added,
                "updated" => &mut out.updated,
                "rename" => return set_string(&mut out.rename, &meta, errors),
                "check" => return set_string(&mut out.check, &meta, errors),
                "references" => return set_reference(&mut out.references, &meta, errors),
                "on_delete" => return set_action(&mut out.on_delete, &meta, errors),
                "on_update" => return set_action(&mut out.on_update, &meta, errors),
                _ => return set_string(&mut out.default, &meta, errors),
            };
            if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                return Err(meta.error(format!(
                    "`{key}` takes no value; write `#[doctable({key})]`"
                )));
            }
            set_flag(flag, &meta, errors);
            Ok(())
        });
        if let Err(err) = result {
            errors.push(err);
        }
    }
    out
}

/// The timestamp key a name of the same meaning stands for (`created` is
/// spelled nearer to `updated` than to `added`).
fn timestamp_synonym(name: &str) -> Option<&'static str> {
    match name {
        "created" | "created_at" | "inserted" | "inserted_at" | "added_at" => Some("added"),
        "modified" | "changed" | "updated_at" | "modified_at" => Some("updated"),
        _ => None,
    }
}

/// The known key nearest to `name`, if it is near enough to be a misspelling.
fn closest(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let limit = name.len().div_ceil(3);
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![(0..=b.len()).collect::<Vec<usize>>()];
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (rows[i - 1][j] + 1)
                .min(row[j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(rows[i - 2][j - 2] + 1);
            }
        }
        rows.push(row);
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::{FIELD_KEY_NAMES, closest};

    #[test]
    fn suggests_only_near_keys() {
        assert_eq!(closest("primary_kye", FIELD_KEY_NAMES), Some("primary_key"));
        assert_eq!(closest("defualt", FIELD_KEY_NAMES), Some("default"));
        assert_eq!(closest("uniq", FIELD_KEY_NAMES), Some("unique"));
        assert_eq!(closest("indx", FIELD_KEY_NAMES), Some("index"));
        assert_eq!(closest("searchable", FIELD_KEY_NAMES), None);
        assert_eq!(closest("pk", FIELD_KEY_NAMES), None);
    }
}
