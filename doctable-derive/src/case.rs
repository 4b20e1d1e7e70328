//! Struct names to table names.

/// `DocItem` -> `doc_item`, `HTTPLog` -> `http_log`, `Doc2` -> `doc2`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let starts_word = match prev {
                None => false,
                Some(p) if *p == '_' => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(_) => next.is_some_and(|n| n.is_lowercase()),
            };
            if starts_word {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn converts_struct_names() {
        assert_eq!(snake_case("Doc"), "doc");
        assert_eq!(snake_case("DocItem"), "doc_item");
        assert_eq!(snake_case("HTTPLog"), "http_log");
        assert_eq!(snake_case("Doc2Word"), "doc2_word");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }
}
