//! The impls generated for a valid struct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Field, Stamp, Storage, Table};
use crate::attr::{NamedFields, Reference};

pub(crate) fn table(table: &Table<'_>) -> TokenStream {
    let ident = table.ident;
    let consts = column_consts(table);
    let meta = meta(table);
    let bind = bind(table);
    // The write a row is bound for is named only where a field needs it.
    let write = if table.stored_fields().any(|f| f.stamp().is_some()) {
        quote!(__write)
    } else {
        quote!(_)
    };
    let updated = updated(table);
    let read = read(table);
    let key = primary_key(table);
    let files = file_columns(table);
    let key_absent = key_absent(table);
    let table_name = &table.name;
    quote! {
        #consts
        const _: () = {
            #[automatically_derived]
            impl ::doctable::__private::Record for #ident {
                const __META: &'static ::doctable::__private::TableMeta = &#meta;

                fn __bind<__B: ::doctable::__private::Backend>(
                    &self,
                    __stmt: &mut ::doctable::__private::BinderOf<'_, __B>,
                    #write: ::doctable::__private::Write,
                ) -> ::doctable::__private::Result<()> {
                    #bind
                    ::core::result::Result::Ok(())
                }
                #updated

                fn __read<__B: ::doctable::__private::Backend>(
                    __row: &::doctable::__private::RowOf<'_, __B>,
                    __first: usize,
                ) -> ::doctable::__private::Result<Self> {
                    #read
                }

                fn __sql() -> &'static ::doctable::__private::StaticSql {
                    static __SQL: ::doctable::__private::StaticSql = ::doctable::__private::StaticSql::new();
                    &__SQL
                }
                #files
                #key_absent
            }
            #[automatically_derived]
            impl ::doctable::__private::DocTable for #ident {
                const TABLE: &'static str = #table_name;
                const META: &'static ::doctable::__private::TableMeta =
                    <Self as ::doctable::__private::Record>::__META;
            }
            #key
        };
    }
}

/// `__FILE_COLUMNS`, for a table with `#[doctable(file)]` fields (nothing otherwise).
fn file_columns(table: &Table<'_>) -> TokenStream {
    let columns: Vec<&String> = table
        .stored_fields()
        .filter(|f| matches!(f.storage(), Storage::File))
        .map(|f| &f.column)
        .collect();
    if columns.is_empty() {
        return TokenStream::new();
    }
    quote!(const __FILE_COLUMNS: &'static [&'static str] = &[#(#columns),*];)
}

/// `<Ty as ColumnType>`, spanned at the field's type so that an unmapped
/// type is reported there, once (the same message at the same span is shown once).
fn column_type(field: &Field<'_>) -> TokenStream {
    let ty = field.ty;
    match field.storage() {
        Storage::Column => quote_spanned!(ty.span()=> <#ty as ::doctable::__private::ColumnType>),
        Storage::Json => quote_spanned!(ty.span()=> <#ty as ::doctable::__private::JsonValue>),
        Storage::NullableJson(inner) => {
            quote_spanned!(inner.span()=> <#inner as ::doctable::__private::JsonValue>)
        }
        Storage::File => {
            let codec = crate::ast::file_codec(field);
            quote_spanned!(ty.span()=> <#codec as ::doctable::__private::FileValue>)
        }
    }
}

/// The type parameter of the field's `Column` constant.
fn column_value_type(field: &Field<'_>) -> TokenStream {
    let ty = field.ty;
    match field.storage() {
        Storage::Column => quote!(#ty),
        Storage::Json => quote!(::doctable::__private::Json<#ty>),
        Storage::NullableJson(inner) => {
            quote!(::core::option::Option<::doctable::__private::Json<#inner>>)
        }
        Storage::File => {
            let ct = column_type(field);
            quote_spanned!(ty.span()=> #ct::Hash)
        }
    }
}

pub(crate) fn column_consts(table: &Table<'_>) -> TokenStream {
    let ident = table.ident;
    let consts = table.stored_fields().map(|f| {
        let name = f.ident;
        let vis = f.vis;
        let column = &f.column;
        let value = column_value_type(f);
        // A `json` field reads back in `select_cols` as its own type, not the `Json` wrapper.
        let read_as = match f.storage() {
            Storage::Column => quote!(),
            Storage::Json | Storage::NullableJson(_) => quote!(, ::doctable::__private::AsJson),
            // A `file` field reads back from its file, as its own type.
            Storage::File => {
                let codec = crate::ast::file_codec(f);
                quote_spanned!(f.ty.span()=> , ::doctable::__private::AsFile<#codec, #ident>)
            }
        };
        let doc = format!(" Column `{column}` of table `{}`.", table.name);
        // A file field's column type names its `FileValue`: spanned at the
        // field's type, so a type a file cannot hold is reported there, once.
        // (Spanned at user code, the lints that skip macro output would see
        // it: an unused constant, a long type.)
        if matches!(f.storage(), Storage::File) {
            return quote_spanned! {f.ty.span()=>
                #[doc = #doc]
                #[allow(non_upper_case_globals, dead_code, clippy::type_complexity)]
                #vis const #name: ::doctable::__private::Column<#ident, #value #read_as> =
                    ::doctable::__private::Column::new(#column);
            };
        }
        quote! {
            #[doc = #doc]
            #[allow(non_upper_case_globals)]
            #vis const #name: ::doctable::__private::Column<#ident, #value #read_as> =
                ::doctable::__private::Column::new(#column);
        }
    });
    let warnings = table
        .stored_fields()
        .filter_map(|f| shadow_warning(table, f));
    quote! {
        #[automatically_derived]
        impl #ident {
            #(#consts)*
        }
        #(#warnings)*
    }
}

/// The `DocTable` operations a field's column constant would hide: every
/// provided associated function of `doctable::DocTable` (keep in step with
/// doctable/src/table.rs: `tests.rs` checks the two lists are equal).
pub(crate) const OPERATIONS: &[&str] = &[
    "clean_files",
    "count",
    "create_table",
    "delete",
    "delete_key",
    "drop_table",
    "get",
    "insert",
    "insert_many",
    "insert_many_or_ignore",
    "insert_many_or_replace",
    "insert_or_ignore",
    "insert_or_replace",
    "insert_returning",
    "insert_sql",
    "rebuild_table",
    "schema_diff",
    "select",
    "select_cols",
    "select_sql",
    "update",
    "update_row",
    "upsert",
];

/// A warning at a field named like a table operation (a `count` column in a
/// tokens table): its constant `Token::count` hides `Token::count()`, and a
/// call of it would fail far from here with "expected function, found
/// `Column<..>`". Stable Rust lets a derive warn only through a lint, so
/// this is the use of a deprecated constant whose note says it all, spanned
/// at the field. `#[doctable(shadows_operation)]` says the name is meant.
fn shadow_warning(table: &Table<'_>, field: &Field<'_>) -> Option<TokenStream> {
    let name = field.ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    if field.attrs.shadows_operation.is_some() || !OPERATIONS.contains(&name) {
        return None;
    }
    let ty = table.ident;
    let note = format!(
        "the field `{name}` makes `{ty}::{name}` this column, which hides the table operation \
         `{ty}::{name}()`: call it as `<{ty} as DocTable>::{name}()`, rename the field (and keep \
         the column name with `#[doctable(rename = \"{name}\")]`), or add \
         `#[doctable(shadows_operation)]` to the field to keep the name without this warning"
    );
    let span = field.ident.span();
    let marker = quote::format_ident!("{}_hides_a_table_operation", name, span = span);
    Some(quote_spanned! {span=>
        const _: () = {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals)]
            const #marker: () = ();
            #marker
        };
    })
}

fn meta(table: &Table<'_>) -> TokenStream {
    let name = &table.name;
    let columns = table.stored_fields().map(|f| {
        let column = &f.column;
        let json = quote!(::doctable::__private::SqlType::Json);
        let (sql_type, nullable) = match f.storage() {
            Storage::Json => (json, quote!(false)),
            Storage::NullableJson(_) => (json, quote!(true)),
            Storage::File => {
                let ct = column_type(f);
                (
                    quote!(::doctable::__private::SqlType::Text),
                    quote_spanned!(f.ty.span()=> #ct::NULLABLE),
                )
            }
            Storage::Column => {
                let ct = column_type(f);
                (quote!(#ct::SQL_TYPE), quote!(#ct::NULLABLE))
            }
        };
        let check = optional_str(f.attrs.check.as_ref().map(|c| c.value.as_str()));
        let references = match &f.attrs.references {
            None => quote!(::core::option::Option::None),
            Some(reference) => {
                let (target_table, target_column) = match &reference.value {
                    Reference::Text { table, column } => (quote!(#table), quote!(#column)),
                    Reference::Typed(path) => {
                        // `Author::id` -> the table type `Author`.
                        let leading = &path.leading_colon;
                        let owner_segments = path.segments.iter().take(path.segments.len().saturating_sub(1));
                        let owner = quote!(#leading #(#owner_segments)::*);
                        (
                            quote_spanned!(path.span()=> <#owner as ::doctable::__private::DocTable>::TABLE),
                            quote_spanned!(path.span()=> #path.name()),
                        )
                    }
                };
                let action = |a: &Option<crate::attr::Spanned<String>>| {
                    a.as_ref().map_or_else(|| "NO ACTION".to_owned(), |a| a.value.clone())
                };
                let (on_delete, on_update) = (action(&f.attrs.on_delete), action(&f.attrs.on_update));
                quote!(::core::option::Option::Some(::doctable::__private::ForeignKeyMeta {
                    table: #target_table,
                    column: #target_column,
                    on_delete: #on_delete,
                    on_update: #on_update,
                }))
            }
        };
        // A key of one column is declared on it; a composite key's columns
        // are listed in the table's `primary_key` instead.
        let primary_key = matches!(table.key_fields().as_slice(), [only] if only.ident == f.ident);
        let autoincrement = f.attrs.autoincrement.is_some();
        let unique = f.attrs.unique.is_some();
        let default = match &f.attrs.default {
            Some(d) => {
                let sql = &d.value;
                quote!(::core::option::Option::Some(#sql))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            ::doctable::__private::ColumnMeta {
                name: #column,
                sql_type: #sql_type,
                nullable: #nullable,
                primary_key: #primary_key,
                autoincrement: #autoincrement,
                unique: #unique,
                default: #default,
                check: #check,
                references: #references,
            }
        }
    });
    let key_indexes = table
        .key_fields()
        .into_iter()
        .filter_map(|k| table.stored_fields().position(|f| f.ident == k.ident));
    let primary_key = quote!(&[#(#key_indexes),*]);
    let field_indexes = table.stored_fields().filter(|f| f.attrs.index.is_some()).map(|f| {
        let index_name = crate::valid::field_index_name(table, f);
        let column = &f.column;
        quote!(::doctable::__private::IndexMeta { name: #index_name, columns: &[#column], unique: false })
    });
    let named = |lists: &[NamedFields], unique: bool| -> Vec<TokenStream> {
        lists
            .iter()
            .map(|list| {
                let index_name = crate::ast::unraw(&list.name);
                let columns = list
                    .fields
                    .iter()
                    .filter_map(|ident| table.field_named(ident).map(|f| f.column.clone()));
                quote!(::doctable::__private::IndexMeta { name: #index_name, columns: &[#(#columns),*], unique: #unique })
            })
            .collect()
    };
    let indexes = named(&table.attrs.indexes, false);
    let uniques = named(&table.attrs.uniques, true);
    let checks = table.attrs.checks.iter().map(|c| &c.value);
    let stamp_index = |stamp| match table.stamp_index(stamp) {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    };
    let (added, updated) = (stamp_index(Stamp::Added), stamp_index(Stamp::Updated));
    quote! {
        ::doctable::__private::TableMeta {
            name: #name,
            columns: &[#(#columns),*],
            primary_key: #primary_key,
            indexes: &[#(#field_indexes,)* #(#indexes,)* #(#uniques,)*],
            checks: &[#(#checks),*],
            added: #added,
            updated: #updated,
        }
    }
}

fn optional_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn bind(table: &Table<'_>) -> TokenStream {
    let name = &table.name;
    let binds = table.stored_fields().enumerate().map(|(i, f)| {
        let index = i + 1;
        let field = f.ident;
        let column = &f.column;
        let ct = column_type(f);
        let ty = f.ty;
        // A time the crate writes is bound from `__write`, never from the
        // field; `Timestamp` is asked of the field's type, at its span.
        let convert = match (f.stamp(), f.storage()) {
            (Some(Stamp::Added), _) => {
                let from_stamp = from_stamp(ty);
                quote!(::doctable::__private::added_value(__write, #from_stamp))
            }
            (Some(Stamp::Updated), _) => {
                let from_stamp = from_stamp(ty);
                quote!(::doctable::__private::updated_value(__write, #from_stamp))
            }
            (None, Storage::Column) => quote!(#ct::to_sql(&self.#field)),
            (None, Storage::Json) => quote!(#ct::to_json_sql(&self.#field)),
            (None, Storage::NullableJson(_)) => quote!(#ct::option_to_json_sql(&self.#field)),
            // Spanned at the type as a whole (the `?` too), so a type a
            // file cannot hold is reported there, once.
            (None, Storage::File) => {
                return quote_spanned! {f.ty.span()=>
                    #ct::__bind_file::<__B>(__stmt, #index, &self.#field, #name, #column)?;
                };
            }
        };
        // The field is not bound, but is the crate's to use: without this
        // touch, a struct whose code never reads it would warn that it is
        // never read.
        let touch = f.stamp().map(|_| quote!(let _ = &self.#field;));
        quote! {
            #touch
            ::doctable::__private::bind_value::<__B>(__stmt, #index, #convert, #name, #column)?;
        }
    });
    quote!(#(#binds)*)
}

/// `Record::__updated` for a table with an `updated` field: its value at a
/// stamp, which `update()` sets beside the user's assignments. Nothing (the
/// trait's `None`) for a table without one.
fn updated(table: &Table<'_>) -> TokenStream {
    let Some(f) = table
        .stored_fields()
        .find(|f| f.stamp() == Some(Stamp::Updated))
    else {
        return TokenStream::new();
    };
    let (ty, name, column) = (f.ty, &table.name, &f.column);
    let from_stamp = from_stamp(ty);
    let value = quote!(::doctable::__private::stamp_value(__stamp, #from_stamp));
    quote! {
        fn __updated(
            __stamp: ::doctable::__private::Stamp,
        ) -> ::doctable::__private::Result<::core::option::Option<::doctable::__private::Value>> {
            ::doctable::__private::decode(#value, #name, #column).map(::core::option::Option::Some)
        }
    }
}

/// `<Ty as Timestamp>::from_stamp`, spanned at the field's type: a type
/// without the trait is reported there, once, in the trait's words.
fn from_stamp(ty: &syn::Type) -> TokenStream {
    quote_spanned!(ty.span()=> <#ty as ::doctable::__private::Timestamp>::from_stamp)
}

fn read(table: &Table<'_>) -> TokenStream {
    let name = &table.name;
    let mut index = 0usize;
    let fields = table.fields.iter().map(|f| {
        let field = f.ident;
        if !f.stored() {
            return quote!(#field: ::core::default::Default::default());
        }
        let column = &f.column;
        let ct = column_type(f);
        let at = index;
        index += 1;
        let value = quote!(::doctable::__private::value_at::<__B>(__row, __first + #at, #name)?);
        let convert = match f.storage() {
            Storage::Column => quote!(#ct::from_sql(#value)),
            Storage::Json => quote!(#ct::from_json_sql(#value)),
            Storage::NullableJson(_) => quote!(#ct::option_from_json_sql(#value)),
            Storage::File => {
                let read = quote_spanned!(f.ty.span()=> #ct::__read_file(#value, #name, #column)?);
                return quote!(#field: #read);
            }
        };
        quote!(#field: ::doctable::__private::decode(#convert, #name, #column)?)
    });
    let fields: Vec<TokenStream> = fields.collect();
    quote!(::core::result::Result::Ok(Self { #(#fields,)* }))
}

/// `Record::__key_absent` for a table with a one-column key stored as a
/// plain column: whether the row's key converts to NULL. Nothing (the
/// trait's `false`) otherwise.
fn key_absent(table: &Table<'_>) -> TokenStream {
    let [f] = table.key_fields()[..] else {
        return TokenStream::new();
    };
    if !f.stored() || f.stamp().is_some() || !matches!(f.storage(), Storage::Column) {
        return TokenStream::new();
    }
    let (ct, field) = (column_type(f), f.ident);
    quote! {
        fn __key_absent(&self) -> bool {
            ::doctable::__private::is_absent(#ct::to_sql(&self.#field))
        }
    }
}

pub(crate) fn primary_key(table: &Table<'_>) -> TokenStream {
    let key = table.key_fields();
    // A `json` or `skip` key is refused in `valid`; `fallback` then makes no key impl.
    if key.is_empty()
        || key
            .iter()
            .any(|f| f.attrs.json.is_some() || f.attrs.file.is_some() || !f.stored())
    {
        return TokenStream::new();
    }
    let ident = table.ident;
    let fields: Vec<_> = key.iter().map(|f| f.ident).collect();
    let types: Vec<_> = key.iter().map(|f| f.ty).collect();
    // `ColumnType` on each key type is stated as a higher-ranked bound, so it
    // is checked where the impl is used rather than here: an unmapped key
    // type is reported once, at the field, like any other field's type.
    let (key_type, columns_type, key_const) = match (fields.as_slice(), types.as_slice()) {
        ([field], [ty]) => (
            quote!(#ty),
            quote!(::doctable::__private::Column<Self, #ty>),
            quote!(#ident::#field),
        ),
        _ => (
            quote!((#(#types,)*)),
            quote!((#(::doctable::__private::Column<Self, #types>,)*)),
            quote!((#(#ident::#fields,)*)),
        ),
    };
    quote! {
        #[automatically_derived]
        impl ::doctable::__private::HasPrimaryKey for #ident
        where
            #(for<'__key> #types: ::doctable::__private::ColumnType,)*
        {
            type Key = #key_type;
            type KeyColumns = #columns_type;
            const KEY: Self::KeyColumns = #key_const;
            fn __describe_key(&self) -> ::std::string::String {
                ::doctable::__private::describe_key(&[#(::doctable::__private::key_part(&self.#fields)),*])
            }
        }
    }
}
