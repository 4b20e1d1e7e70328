//! SQL text every backend shares: quoted identifiers (standard SQL's `"..."`,
//! which SQLite and PostgreSQL both read). What differs between engines is in
//! each backend's [`Dialect`](crate::backend::Dialect).

/// Appends `ident` to `out` as a quoted identifier: `"name"`, with `"` doubled.
pub(crate) fn push_ident(out: &mut String, ident: &str) {
    out.push('"');
    for ch in ident.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
}

/// Appends `"a", "b", ...`: each name quoted, comma-separated.
pub(crate) fn push_ident_list<'n>(out: &mut String, names: impl IntoIterator<Item = &'n str>) {
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_ident(out, name);
    }
}

/// Appends `"table"."column"`.
pub(crate) fn push_qualified(out: &mut String, table: &str, column: &str) {
    push_ident(out, table);
    out.push('.');
    push_ident(out, column);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote_ident(ident: &str) -> String {
        let mut out = String::new();
        push_ident(&mut out, ident);
        out
    }

    #[test]
    fn quotes_and_escapes_identifiers() {
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("naïve col"), "\"naïve col\"");
    }
}
