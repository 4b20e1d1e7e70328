//! What differs between a struct and its table on disk, as data.

use std::fmt;

use super::{column_definition, index_matches};
use crate::backend::Dialect;
use crate::catalog::{ColumnInfo, TableSchema};
use crate::meta::{ColumnMeta, TableMeta};

/// What differs between a struct and its table in the database file,
/// from [`DocTable::schema_diff`](crate::DocTable::schema_diff).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaDiff {
    /// The table.
    pub table: String,
    /// Each difference, in column order, then indexes.
    pub changes: Vec<SchemaChange>,
}

/// One difference between a struct and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaChange {
    /// The table does not exist yet: `create_table` creates it.
    CreateTable,
    /// A nullable or defaulted column the file lacks: `create_table` adds it
    /// with `ALTER TABLE ADD COLUMN`.
    AddColumn {
        /// The column.
        column: String,
        /// Its definition, as SQL.
        definition: String,
    },
    /// An index the file lacks: `create_table` creates it.
    CreateIndex {
        /// The index.
        index: String,
    },
    /// A difference `create_table` does not apply; it fails with
    /// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) and changes
    /// nothing. [`DocTable::rebuild_table`](crate::DocTable::rebuild_table)
    /// can apply some of these.
    Mismatch {
        /// The column (or index) that differs.
        column: String,
        /// What the struct declares.
        expected: String,
        /// What the database file has.
        found: String,
    },
}

impl SchemaDiff {
    /// Whether the struct and the file agree.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether `create_table` can apply every change (there is no `Mismatch`).
    pub fn is_safe(&self) -> bool {
        !self
            .changes
            .iter()
            .any(|c| matches!(c, SchemaChange::Mismatch { .. }))
    }
}

impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaChange::CreateTable => f.write_str("create the table"),
            SchemaChange::AddColumn { definition, .. } => write!(f, "add column {definition}"),
            SchemaChange::CreateIndex { index } => write!(f, "create index \"{index}\""),
            SchemaChange::Mismatch {
                column,
                expected,
                found,
            } => write!(
                f,
                "`{column}`: the struct says {expected}, the file says {found}"
            ),
        }
    }
}

/// The declaration of a column on disk, as text for messages.
pub(crate) fn describe_disk(column: &ColumnInfo, schema: &TableSchema) -> String {
    let mut text = format!("\"{}\" {}", column.name, column.declared_type);
    // A column of a composite key is not "the" key: the table's key is
    // reported as a whole (see `key_mismatch`).
    if column.primary_key > 0 && disk_key(schema).len() == 1 {
        text.push_str(" PRIMARY KEY");
    }
    if column.not_null {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        text.push_str(" DEFAULT ");
        text.push_str(default);
    }
    for fk in schema
        .foreign_keys
        .iter()
        .filter(|f| f.from.eq_ignore_ascii_case(&column.name))
    {
        text.push_str(&format!(" REFERENCES \"{}\"", fk.table));
        if let Some(to) = &fk.to {
            text.push_str(&format!(" (\"{to}\")"));
        }
        for (clause, action) in [
            (" ON DELETE ", &fk.on_delete),
            (" ON UPDATE ", &fk.on_update),
        ] {
            if action != super::NO_ACTION {
                text.push_str(clause);
                text.push_str(action);
            }
        }
    }
    text
}

/// Drops one layer of parentheses and surrounding space, so `('en')` = `'en'`.
fn normalize_default(sql: &str) -> &str {
    let trimmed = sql.trim();
    trimmed
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .map_or(trimmed, str::trim)
}

/// Whether `column` differs from `disk`; `compare_key` is false when either
/// side's key is composite (the key is then compared as a whole, by
/// [`key_mismatch`], and each column only as a column).
fn column_differs<D: Dialect>(
    column: &ColumnMeta,
    disk: &ColumnInfo,
    schema: &TableSchema,
    compare_key: bool,
) -> bool {
    let rowid_alias = D::key_is_not_null(column);
    let same_type = D::same_type(&disk.declared_type, column.sql_type);
    // A primary key column is NOT NULL on PostgreSQL, whatever the DDL says.
    let same_null = disk.not_null != column.nullable || rowid_alias;
    let same_key = !compare_key || (disk.primary_key > 0) == column.primary_key;
    let disk_unique = schema.indexes.iter().any(|i| {
        i.origin == "u"
            && matches!(i.columns.as_slice(), [only] if only.eq_ignore_ascii_case(&disk.name))
    });
    let same_default =
        column.default.map(normalize_default) == disk.default.as_deref().map(normalize_default);
    let mut disk_fks = schema
        .foreign_keys
        .iter()
        .filter(|f| f.from.eq_ignore_ascii_case(&disk.name));
    let same_fk = match &column.references {
        None => disk_fks.next().is_none(),
        Some(fk) => disk_fks.any(|f| {
            f.table.eq_ignore_ascii_case(fk.table)
                && f.to
                    .as_deref()
                    .is_none_or(|to| to.eq_ignore_ascii_case(fk.column))
                && f.on_delete.eq_ignore_ascii_case(fk.on_delete)
                && f.on_update.eq_ignore_ascii_case(fk.on_update)
        }),
    };
    !(same_type && same_null && same_key && disk_unique == column.unique && same_default && same_fk)
}

pub(crate) fn diff<D: Dialect>(meta: &TableMeta, schema: Option<&TableSchema>) -> SchemaDiff {
    let mut changes = Vec::new();
    let Some(schema) = schema else {
        return SchemaDiff {
            table: meta.name.to_owned(),
            changes: vec![SchemaChange::CreateTable],
        };
    };
    let mismatch = |column: &str, expected: String, found: String| SchemaChange::Mismatch {
        column: column.to_owned(),
        expected,
        found,
    };
    let key_change = key_mismatch(meta, schema);
    let compare_key = !meta.has_composite_key() && disk_key(schema).len() <= 1;
    for column in meta.columns {
        match schema.column(column.name) {
            Some(disk) if column_differs::<D>(column, disk, schema, compare_key) => {
                changes.push(mismatch(
                    column.name,
                    column_definition::<D>(column),
                    describe_disk(disk, schema),
                ));
            }
            Some(_) => {}
            None if column.primary_key
                || column.unique
                || meta.key_columns().any(|k| k.name == column.name) =>
            {
                changes.push(mismatch(
                    column.name,
                    column_definition::<D>(column),
                    "no such column (a key or UNIQUE column cannot be added to an existing table)"
                        .into(),
                ))
            }
            None if column.nullable || column.default.is_some() => {
                match D::add_column_refusal(column) {
                    Some(why) => {
                        changes.push(mismatch(column.name, column_definition::<D>(column), why))
                    }
                    None => changes.push(SchemaChange::AddColumn {
                        column: column.name.to_owned(),
                        definition: column_definition::<D>(column),
                    }),
                }
            }
            None => changes.push(mismatch(
                column.name,
                column_definition::<D>(column),
                "no such column (it can be added only if it is an Option or has a default)".into(),
            )),
        }
    }
    for disk in &schema.columns {
        if !meta
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&disk.name))
        {
            changes.push(mismatch(
                &disk.name,
                "no such column".into(),
                describe_disk(disk, schema),
            ));
        }
    }
    changes.extend(key_change);
    // CHECK constraints are not reported by any pragma: they are read from the
    // stored CREATE TABLE and compared, as whole clauses, with the declared ones.
    let mut declared: Vec<String> = meta
        .columns
        .iter()
        .filter_map(|c| c.check)
        .chain(meta.checks.iter().copied())
        .map(normalize_sql)
        .collect();
    let mut stored = check_clauses(&schema.sql);
    declared.sort();
    stored.sort();
    if declared != stored {
        let show = |list: &[String]| {
            if list.is_empty() {
                "no CHECK constraints".to_owned()
            } else {
                list.iter()
                    .map(|c| format!("CHECK ({c})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        changes.push(mismatch("CHECK", show(&declared), show(&stored)));
    }
    for index in meta.indexes {
        match schema.index(index.name) {
            None => changes.push(SchemaChange::CreateIndex {
                index: index.name.to_owned(),
            }),
            Some(found) if !index_matches(index, found) => changes.push(mismatch(
                index.name,
                format!(
                    "{}index on ({})",
                    if index.unique { "a unique " } else { "an " },
                    index.columns.join(", ")
                ),
                format!(
                    "{}index on ({})",
                    if found.unique { "a unique " } else { "an " },
                    found.columns.join(", ")
                ),
            )),
            Some(_) => {}
        }
    }
    SchemaDiff {
        table: meta.name.to_owned(),
        changes,
    }
}

/// The columns of the table's primary key on disk, in key order.
fn disk_key(schema: &TableSchema) -> Vec<&ColumnInfo> {
    let mut key: Vec<&ColumnInfo> = schema
        .columns
        .iter()
        .filter(|c| c.primary_key > 0)
        .collect();
    key.sort_by_key(|c| c.primary_key);
    key
}

/// The primary key as a whole, when either side's is composite and they
/// differ (columns or order): one mismatch named `PRIMARY KEY`. A key of one
/// column on both sides is compared with its column, as before composite
/// keys (so its messages name the column).
fn key_mismatch(meta: &TableMeta, schema: &TableSchema) -> Option<SchemaChange> {
    let declared: Vec<&str> = meta.key_columns().map(|c| c.name).collect();
    let found: Vec<&str> = disk_key(schema).iter().map(|c| c.name.as_str()).collect();
    if declared.len() <= 1 && found.len() <= 1 {
        return None;
    }
    let same = declared.len() == found.len()
        && declared
            .iter()
            .zip(&found)
            .all(|(a, b)| a.eq_ignore_ascii_case(b));
    let show = |names: &[&str]| {
        if names.is_empty() {
            "no primary key".to_owned()
        } else {
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            format!("PRIMARY KEY ({})", quoted.join(", "))
        }
    };
    (!same).then(|| SchemaChange::Mismatch {
        column: "PRIMARY KEY".to_owned(),
        expected: show(&declared),
        found: show(&found),
    })
}

/// SQL text with runs of white space folded to one space.
fn normalize_sql(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The conditions of every `CHECK (...)` clause in a CREATE TABLE statement,
/// normalized; quoted text and identifiers are skipped over, so a string or a
/// column named "check" is not mistaken for one.
pub(crate) fn check_clauses(ddl: &str) -> Vec<String> {
    let chars: Vec<char> = ddl.chars().collect();
    let mut clauses = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\'' | '"' | '`' => i = skip_quoted(&chars, i, c),
            '[' => i = skip_quoted(&chars, i, ']'),
            _ if is_keyword_at(&chars, i, "CHECK") => {
                let mut j = i + 5;
                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                if chars.get(j) == Some(&'(') {
                    let end = matching_paren(&chars, j);
                    let inner: String = chars.get(j + 1..end).unwrap_or_default().iter().collect();
                    clauses.push(normalize_sql(&inner));
                    i = end + 1;
                } else {
                    i += 5;
                }
            }
            _ => i += 1,
        }
    }
    clauses
}

/// The index just past the quoted text opening at `start` (closed by `close`,
/// doubled to escape).
fn skip_quoted(chars: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        if c == close {
            if chars.get(i + 1) == Some(&close) && close != ']' {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// The index of the `)` matching the `(` at `open` (or the end of the text).
fn matching_paren(chars: &[char], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while let Some(&c) = chars.get(i) {
        match c {
            '\'' | '"' | '`' => {
                i = skip_quoted(chars, i, c);
                continue;
            }
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

/// Whether `word` (upper case) stands at `i` as a whole keyword, in any case.
fn is_keyword_at(chars: &[char], i: usize, word: &str) -> bool {
    let is_ident = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    if i > 0 && is_ident(chars.get(i - 1)) {
        return false;
    }
    let n = word.len();
    chars.get(i..i + n).is_some_and(|s| {
        s.iter()
            .zip(word.chars())
            .all(|(a, b)| a.to_ascii_uppercase() == b)
    }) && !is_ident(chars.get(i + n))
}

#[cfg(test)]
mod tests {
    use super::check_clauses;

    #[test]
    fn finds_check_clauses_and_skips_quoted_text() {
        let ddl = r#"CREATE TABLE "t" ("check" TEXT DEFAULT ('CHECK (no)'), "a" INTEGER CHECK (a >= (1 + 2)),
            "b" TEXT check("b" <> ')'), CHECK (a <   b))"#;
        assert_eq!(
            check_clauses(ddl),
            ["a >= (1 + 2)", "\"b\" <> ')'", "a < b"]
        );
        assert!(check_clauses("CREATE TABLE t (checked INTEGER)").is_empty());
    }
}
