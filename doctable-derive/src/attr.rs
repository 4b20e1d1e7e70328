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
}

/// Attributes on a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) primary_key: Option<Span>,
    pub(crate) autoincrement: Option<Span>,
    pub(crate) unique: Option<Span>,
    pub(crate) index: Option<Span>,
    pub(crate) skip: Option<Span>,
    pub(crate) json: Option<Span>,
    pub(crate) rename: Option<Spanned<String>>,
    pub(crate) default: Option<Spanned<String>>,
}

const CONTAINER_KEYS: &str =
    "`table = \"...\"`, `index(name = [field, ...])`, `unique(name = [field, ...])`";
const FIELD_KEYS: &str = "`primary_key`, `autoincrement`, `unique`, `index`, `rename = \"...\"`, `default = \"...\"`, `skip`, `json`";

fn doctable_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("doctable"))
}

fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(|| "(path)".to_owned(), Ident::to_string)
}

fn unknown(meta: &ParseNestedMeta<'_>, valid: &str) -> syn::Error {
    meta.error(format!(
        "unknown doctable attribute `{}`; expected one of {valid}",
        key_name(meta)
    ))
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
            } else if is_field_key(&meta) {
                Err(meta.error(format!(
                    "`{}` goes on a field, not on the struct",
                    key_name(&meta)
                )))
            } else {
                Err(unknown(&meta, CONTAINER_KEYS))
            }
        });
        if let Err(err) = result {
            errors.push(err);
        }
    }
    out
}

fn is_field_key(meta: &ParseNestedMeta<'_>) -> bool {
    [
        "primary_key",
        "autoincrement",
        "rename",
        "default",
        "skip",
        "json",
    ]
    .iter()
    .any(|k| meta.path.is_ident(k))
}

pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in doctable_attrs(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let flag = if meta.path.is_ident("primary_key") {
                &mut out.primary_key
            } else if meta.path.is_ident("autoincrement") {
                &mut out.autoincrement
            } else if meta.path.is_ident("unique") {
                &mut out.unique
            } else if meta.path.is_ident("index") {
                &mut out.index
            } else if meta.path.is_ident("skip") {
                &mut out.skip
            } else if meta.path.is_ident("json") {
                &mut out.json
            } else if meta.path.is_ident("rename") {
                return set_string(&mut out.rename, &meta, errors);
            } else if meta.path.is_ident("default") {
                return set_string(&mut out.default, &meta, errors);
            } else if meta.path.is_ident("table") {
                return Err(meta.error("`table` goes on the struct, not on a field"));
            } else {
                return Err(unknown(&meta, FIELD_KEYS));
            };
            if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                return Err(meta.error(format!(
                    "`{}` takes no value; write `#[doctable({})]`",
                    key_name(&meta),
                    key_name(&meta)
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
