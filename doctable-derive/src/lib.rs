//! The `#[derive(DocTable)]` macro of the [doctable](https://docs.rs/doctable) crate.
//!
//! Use it through `doctable` (`use doctable::DocTable;`), which re-exports it
//! and holds the runtime the generated code calls.
//!
//! The pipeline: `ast` reads the struct and its attributes into a small IR,
//! `valid` checks rules that span several fields, `expand` writes the impls,
//! and `fallback` writes stand-in impls when there are errors, so that one
//! mistake gives one message rather than a cascade.

mod ast;
mod attr;
mod case;
mod expand;
mod fallback;
mod valid;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Derives `doctable::DocTable` for a struct with named fields: its table's
/// schema, row conversions, and a `Column` constant per field (`Doc::year`).
///
/// Container attributes: `table = "name"`, `index(name = [field, ...])`,
/// `unique(name = [field, ...])`, `check = "<sql condition>"`,
/// `primary_key(field, ...)` (a composite key, in the order listed).
///
/// `primary_key` on several fields is a composite key in declaration order;
/// its fields may not be `Option` or `autoincrement`.
///
/// Field attributes: `primary_key`, `autoincrement`, `unique`, `index`,
/// `rename = "column"`, `default = "<sql expression>"`, `check = "<sql condition>"`,
/// `references(Other::column)` (checked by the compiler) or
/// `references = "table(column)"`, with `on_delete` / `on_update` =
/// `"cascade"`, `"set null"`, `"set default"`, `"restrict"` or `"no action"`;
/// `skip` (not stored; `Default::default()` on read); `json` (stored as JSON
/// text through serde; on an `Option<T>` field, `None` is NULL); `added` and
/// `updated` (the crate writes the time into the field: `added` when the row
/// is inserted, `updated` then and on every update; the field's type is a
/// `doctable::Timestamp`, at most one field of each, not on the key).
#[proc_macro_derive(DocTable, attributes(doctable))]
pub fn derive_doc_table(input: TokenStream) -> TokenStream {
    derive(input.into()).into()
}

/// The derive on `proc_macro2` tokens, so it can be tested outside a compiler run.
fn derive(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    match read_and_check(&input) {
        Ok(table) => expand::table(&table),
        Err(err) => fallback::expand(&input, err),
    }
}

/// The struct, read and checked, or every error found in it at once.
fn read_and_check(input: &syn::DeriveInput) -> syn::Result<ast::Table<'_>> {
    let mut errors = attr::Errors::default();
    let table = ast::Table::from_syn(input, &mut errors)?;
    valid::check(&table, &mut errors);
    errors.finish()?;
    Ok(table)
}
