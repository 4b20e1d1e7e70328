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

/// The byte offsets of the `?` parameters in raw SQL text, skipping those
/// inside string literals (`'..'`), quoted identifiers (`".."`, `[..]`,
/// `` `..` ``) and comments (`-- ..` to the end of the line, `/* .. */`).
/// A numbered `?NNN` counts as one slot at its `?` (its digits stay in the text),
/// so raw SQL meant for every backend should use bare `?`.
///
/// ```
/// # use doctable::__private::param_slots;
/// assert_eq!(param_slots(r#"a = ? AND "w?" = '?' AND b = ?"#), [4, 29]);
/// ```
pub fn param_slots(sql: &str) -> Vec<usize> {
    let bytes = sql.as_bytes();
    let mut slots = Vec::new();
    let mut i = 0;
    // Scans to the byte after the next `close` from `from`.
    let skip_to = |from: usize, close: u8| {
        bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == close))
            .map_or(bytes.len(), |p| from + p + 1)
    };
    while let Some(&b) = bytes.get(i) {
        i = match b {
            b'?' => {
                slots.push(i);
                i + 1
            }
            b'\'' => skip_to(i + 1, b'\''),
            b'"' => skip_to(i + 1, b'"'),
            b'`' => skip_to(i + 1, b'`'),
            b'[' => skip_to(i + 1, b']'),
            b'-' if bytes.get(i + 1) == Some(&b'-') => skip_to(i + 2, b'\n'),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let rest = bytes.get(i + 2..).unwrap_or_default();
                rest.windows(2)
                    .position(|w| w == b"*/")
                    .map_or(bytes.len(), |p| i + 2 + p + 2)
            }
            _ => i + 1,
        };
    }
    slots
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

    #[test]
    fn raw_placeholders_are_found_outside_quotes_and_comments() {
        assert_eq!(param_slots("a = ?"), [4]);
        assert_eq!(param_slots("'?' ? \"?\" ? [?] `?` ?"), [4, 10, 20]);
        assert_eq!(param_slots("-- ?\n? /* ? */ ?"), [5, 15]);
        // A doubled quote inside a literal ends and reopens it: still inside.
        assert_eq!(param_slots("'it''s ?' ?"), [10]);
        assert_eq!(param_slots("'unterminated ?"), Vec::<usize>::new());
        assert_eq!(param_slots("?1 = ?2"), [0, 5]);
    }
}
