//! What is emitted when the derive finds errors: the errors, plus stand-in
//! impls so that code using the struct does not add a cascade of follow-on errors.
//!
//! The stand-ins are made from the struct as far as it could be read, so the
//! column constants and the primary key are those the user meant (a
//! misspelled attribute counts as the one it is closest to), and
//! `Doc::year.gt(2000)` or `Doc::get(&db, 1)` elsewhere raise nothing more.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::Table;
use crate::expand;

pub(crate) fn expand(input: &DeriveInput, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    if !input.generics.params.is_empty() {
        // Stand-ins would need the bounds the struct is not allowed to have.
        return errors;
    }
    let ident = &input.ident;
    let (consts, key) = match Table::best_effort(input) {
        Some(table) => (expand::column_consts(&table), expand::primary_key(&table)),
        None => (TokenStream::new(), TokenStream::new()),
    };
    quote! {
        #errors
        #consts
        const _: () = {
            #[automatically_derived]
            impl ::doctable::__private::Record for #ident {
                const __META: &'static ::doctable::__private::TableMeta = &::doctable::__private::TableMeta {
                    name: "",
                    columns: &[],
                    primary_key: &[],
                    indexes: &[],
                    checks: &[],
                    added: ::core::option::Option::None,
                    updated: ::core::option::Option::None,
                };
                fn __bind<__B: ::doctable::__private::Backend>(&self, _: &mut ::doctable::__private::BinderOf<'_, __B>, _: ::doctable::__private::Write) -> ::doctable::__private::Result<()> {
                    ::doctable::__private::derive_failed()
                }
                fn __read<__B: ::doctable::__private::Backend>(_: &::doctable::__private::RowOf<'_, __B>, _: usize) -> ::doctable::__private::Result<Self> {
                    ::doctable::__private::derive_failed()
                }
                fn __sql() -> &'static ::doctable::__private::StaticSql {
                    ::doctable::__private::derive_failed()
                }
            }
            #[automatically_derived]
            impl ::doctable::__private::DocTable for #ident {
                const TABLE: &'static str = "";
                const META: &'static ::doctable::__private::TableMeta =
                    <Self as ::doctable::__private::Record>::__META;
            }
            #key
        };
    }
}
