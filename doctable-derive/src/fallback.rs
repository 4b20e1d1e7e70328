//! What is emitted when the derive finds errors: the errors, plus stand-in
//! impls so that code using the struct does not add a cascade of follow-on errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub(crate) fn expand(input: &DeriveInput, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return errors;
    }
    let fields: Vec<&syn::Field> = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named.named.iter().collect(),
            _ => Vec::new(),
        },
        _ => return errors,
    };
    let consts = fields.iter().filter_map(|f| {
        let name = f.ident.as_ref()?;
        let ty = &f.ty;
        let vis = &f.vis;
        Some(quote! {
            #[allow(non_upper_case_globals, missing_docs)]
            #vis const #name: ::doctable::__private::Column<#ident, #ty> = ::doctable::__private::Column::new("");
        })
    });
    let key = fields
        .iter()
        .find(|f| f.attrs.iter().any(|a| a.path().is_ident("doctable") && quote!(#a).to_string().contains("primary_key")))
        .map(|f| {
            let ty = &f.ty;
            quote! {
                #[automatically_derived]
                impl ::doctable::__private::HasPrimaryKey for #ident {
                    type Key = #ty;
                    const KEY: ::doctable::__private::Column<Self, #ty> = ::doctable::__private::Column::new("");
                    fn __key(&self) -> &#ty { ::doctable::__private::derive_failed() }
                }
            }
        });
    quote! {
        #errors
        #[automatically_derived]
        impl #ident { #(#consts)* }
        const _: () = {
            #[automatically_derived]
            impl ::doctable::__private::DocTable for #ident {
                const META: &'static ::doctable::__private::TableMeta = &::doctable::__private::TableMeta {
                    name: "", columns: &[], primary_key: ::core::option::Option::None, indexes: &[],
                };
                fn __bind(&self, _: &mut ::doctable::__private::Statement<'_>) -> ::doctable::__private::Result<()> {
                    ::doctable::__private::derive_failed()
                }
                fn __read(_: &::doctable::__private::Row<'_>, _: usize) -> ::doctable::__private::Result<Self> {
                    ::doctable::__private::derive_failed()
                }
                fn __sql() -> &'static ::doctable::__private::StaticSql {
                    ::doctable::__private::derive_failed()
                }
            }
            #key
        };
    }
}
