//! The struct being derived, read into a small IR that keeps syn nodes for spans.

use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{self, ContainerAttrs, Errors, FieldAttrs};
use crate::case::snake_case;

pub(crate) struct Table<'a> {
    pub(crate) ident: &'a Ident,
    /// The table's name in the database.
    pub(crate) name: String,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) attrs: ContainerAttrs,
}

pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) vis: &'a Visibility,
    /// The column's name in the database.
    pub(crate) column: String,
    pub(crate) attrs: FieldAttrs,
}

/// How a field is stored.
pub(crate) enum Storage<'a> {
    /// Through its type's `ColumnType`.
    Column,
    /// `#[doctable(json)]`: as JSON text, NOT NULL.
    Json,
    /// `#[doctable(json)]` on `Option<T>`: as JSON text, `None` as NULL.
    NullableJson(&'a Type),
    /// `#[doctable(file)]`: in a file named by its hash, which the column holds.
    File,
}

/// A time the crate writes into a field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// `#[doctable(added)]`: on insert.
    Added,
    /// `#[doctable(updated)]`: on insert and on every update.
    Updated,
}

impl Field<'_> {
    /// Whether the crate writes the time into this field, and when. A field
    /// marked both (an error) counts as `added`.
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        if self.attrs.added.is_some() {
            Some(Stamp::Added)
        } else if self.attrs.updated.is_some() {
            Some(Stamp::Updated)
        } else {
            None
        }
    }

    /// Whether the field's type is written `Option<..>`.
    pub(crate) fn is_option(&self) -> bool {
        option_inner(self.ty).is_some()
    }

    pub(crate) fn stored(&self) -> bool {
        self.attrs.skip.is_none()
    }

    pub(crate) fn storage(&self) -> Storage<'_> {
        if self.attrs.file.is_some() {
            return Storage::File;
        }
        if self.attrs.json.is_none() {
            return Storage::Column;
        }
        match option_inner(self.ty) {
            Some(inner) => Storage::NullableJson(inner),
            None => Storage::Json,
        }
    }
}

/// The field's `FileValue` type (its own type, or `Json<..>` of it with `json`),
/// spanned at the type so that a type a file cannot hold is reported there.
pub(crate) fn file_codec(field: &Field<'_>) -> proc_macro2::TokenStream {
    use quote::quote_spanned;
    use syn::spanned::Spanned;
    let ty = field.ty;
    match (field.attrs.json.is_some(), option_inner(ty)) {
        (false, _) => quote_spanned!(ty.span()=> #ty),
        (true, None) => quote_spanned!(ty.span()=> ::doctable::__private::Json<#ty>),
        (true, Some(inner)) => quote_spanned!(ty.span()=>
            ::core::option::Option<::doctable::__private::Json<#inner>>),
    }
}

/// `T` of a type written `Option<T>` (or `std::option::Option<T>`), as the
/// derive sees it: a type alias of an `Option` is not recognised.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

impl<'a> Table<'a> {
    /// The struct as far as it can be read with its attribute errors left out:
    /// what `fallback` makes stand-in impls from. `None` if its shape is wrong.
    pub(crate) fn best_effort(input: &'a DeriveInput) -> Option<Self> {
        Self::from_syn(input, &mut Errors::default()).ok()
    }

    /// The struct; fails on a wrong shape, and adds attribute errors to `errors`.
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> syn::Result<Self> {
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named,
                _ => {
                    return Err(syn::Error::new_spanned(
                        &input.ident,
                        "DocTable needs a struct with named fields: each field is a column",
                    ));
                }
            },
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "DocTable can only be derived for a struct with named fields",
                ));
            }
        };
        if !input.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &input.generics,
                "DocTable cannot be derived for a generic struct: a table has one fixed set of column types",
            ));
        }
        let attrs = attr::container(&input.attrs, errors);
        let fields = named
            .named
            .iter()
            .filter_map(|f| {
                let ident = f.ident.as_ref()?;
                let attrs = attr::field(&f.attrs, errors);
                let column = attrs
                    .rename
                    .as_ref()
                    .map_or_else(|| unraw(ident), |r| r.value.clone());
                Some(Field {
                    ident,
                    ty: &f.ty,
                    vis: &f.vis,
                    column,
                    attrs,
                })
            })
            .collect();
        let name = attrs
            .table
            .as_ref()
            .map_or_else(|| snake_case(&unraw(&input.ident)), |t| t.value.clone());
        Ok(Table {
            ident: &input.ident,
            name,
            fields,
            attrs,
        })
    }

    pub(crate) fn stored_fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(|f| f.stored())
    }

    /// The primary key's fields, in key order: those `primary_key(a, b)` on
    /// the struct names (unknown names left out; `valid` reports them), else
    /// the fields marked `primary_key`, in declaration order. Empty: no key.
    pub(crate) fn key_fields(&self) -> Vec<&Field<'a>> {
        match &self.attrs.primary_key {
            Some(list) => list
                .value
                .iter()
                .filter_map(|ident| self.field_named(ident))
                .collect(),
            None => self
                .fields
                .iter()
                .filter(|f| f.attrs.primary_key.is_some())
                .collect(),
        }
    }

    /// Whether `field` is one of the key's fields.
    pub(crate) fn in_key(&self, field: &Field<'_>) -> bool {
        self.key_fields().iter().any(|k| k.ident == field.ident)
    }

    /// The index among the stored fields of the field with `stamp`.
    pub(crate) fn stamp_index(&self, stamp: Stamp) -> Option<usize> {
        self.stored_fields().position(|f| f.stamp() == Some(stamp))
    }

    pub(crate) fn field_named(&self, ident: &Ident) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.ident == ident)
    }
}

/// An identifier's name without the `r#` of a raw identifier.
pub(crate) fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#")
        .map_or_else(|| text.clone(), str::to_owned)
}
