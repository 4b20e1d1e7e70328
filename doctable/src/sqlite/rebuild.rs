//! The opt-in rebuild: for changes `ALTER TABLE ADD COLUMN` cannot make.
//!
//! It follows SQLite's procedure for "other kinds of table schema changes"
//! (<https://sqlite.org/lang_altertable.html#otheralter>):
//!
//! 1. foreign key checks off (and `legacy_alter_table` on, see below);
//! 2. begin a transaction;
//! 3. record the table's indexes and triggers, and the views and triggers
//!    elsewhere that name it, and which of those compile as they are;
//! 4. create the new table under a name nothing in the file (or the
//!    connection's temporary schema) has;
//! 5. check that every value of a column whose type changes converts exactly,
//!    then copy the rows, converting explicitly;
//! 6. drop the old table;
//! 7. rename the new one to the old name;
//! 8. recreate the indexes and triggers;
//! 9. check that every view and trigger that compiled before still compiles,
//!    that every row reads back through the struct, and the foreign keys;
//! 10. commit (or, on any failure, roll back: nothing changed);
//! 11. foreign key checks and `legacy_alter_table` back as they were.
//!
//! Step 7 is why `legacy_alter_table` is on. Since SQLite 3.25/3.26,
//! `ALTER TABLE RENAME` rewrites and re-checks every view and trigger of the
//! schema; between steps 6 and 7 a view that names the table names a table that
//! does not exist, so the rename fails ("error in view v: no such table:
//! main.t"). The documented procedure was written for the rename that leaves
//! other objects alone, which is what `legacy_alter_table = ON` restores: views
//! and triggers of other tables keep their SQL exactly as written and, once the
//! rename is done, name the new table. Step 9 then checks them, since SQLite
//! compiles a view or trigger only when it is used.

use rusqlite::Connection;

use super::reflect::{TableSchema, reflect};
use crate::backend::{Dialect, RowCheck};
use crate::conn::{Conn, atomically};
use crate::dialect::{push_ident, push_ident_list};
use crate::error::{Error, Result, SqlContext};
use crate::schema::{create_indexes_in, create_table_sql, execute_ddl};
// The SQLite storage classes a rebuild converts between (bool is stored as
// INTEGER, JSON as TEXT).
use crate::catalog::RebuildReport;
use crate::meta::{ColumnMeta, TableMeta};
use crate::sqlite::{Affinity as SqlType, Sqlite, SqliteDialect};

/// DDL on a SQLite connection, for the rebuild.
fn execute(conn: &Connection, table: &str, sql: &str) -> Result<()> {
    execute_ddl::<Sqlite>(conn, table, sql)
}

/// The declared indexes on a SQLite connection, for the rebuild.
fn create_indexes(conn: &Connection, meta: &TableMeta) -> Result<()> {
    create_indexes_in::<Sqlite>(conn, meta)
}

/// Rebuilds the table of `T` on a SQLite connection.
pub(crate) fn rebuild_table(
    conn: &Connection,
    meta: &'static TableMeta,
    check: RowCheck<Sqlite>,
) -> Result<RebuildReport> {
    conn.with_connection(|c| {
        if !c.is_autocommit() {
            return Err(Error::Usage(format!(
                "table `{}`: rebuild_table must run outside a transaction, because it turns \
                 foreign key checks off while it works (SQLite ignores that inside a transaction)",
                meta.name
            )));
        }
        let foreign_keys = flag(c, meta.name, "foreign_keys")?;
        let legacy_alter = flag(c, meta.name, "legacy_alter_table")?;
        set_flag(c, meta.name, "foreign_keys", false)?;
        let result = set_flag(c, meta.name, "legacy_alter_table", true).and_then(|()| {
            atomically::<Sqlite, _>(c, Some(meta.name), |c| match reflect(c, meta.name)? {
                None => {
                    execute(
                        c,
                        meta.name,
                        &create_table_sql::<SqliteDialect>(meta, meta.name),
                    )?;
                    create_indexes(c, meta)?;
                    Ok(RebuildReport::default())
                }
                Some(old) => copy_into_new_table(c, &old, meta, check),
            })
        });
        let restore_legacy = set_flag(c, meta.name, "legacy_alter_table", legacy_alter);
        let restore_fk = set_flag(c, meta.name, "foreign_keys", foreign_keys);
        let report = result?;
        restore_legacy?;
        restore_fk?;
        Ok(report)
    })
}

/// A boolean pragma's value.
fn flag(c: &Connection, table: &str, pragma: &str) -> Result<bool> {
    let sql = format!("PRAGMA {pragma}");
    c.query_row(&sql, [], |r| r.get(0))
        .in_sql(Some(table), &sql)
}

fn set_flag(c: &Connection, table: &str, pragma: &str, on: bool) -> Result<()> {
    c.pragma_update(None, pragma, on)
        .in_sql(Some(table), &format!("PRAGMA {pragma} = {on}"))
}

/// A constraint the copy broke, said of the user's table rather than the
/// scratch table SQLite names (`docs__doctable_rebuild.rating`).
fn in_users_terms(error: Error, scratch: &str, table: &str) -> Error {
    match error {
        Error::Constraint {
            table: t,
            kind,
            message,
            sql,
            source,
        } => Error::Constraint {
            table: t,
            kind,
            message: format!(
                "{} (while copying the rows into the rebuilt table; nothing was changed)",
                message.replace(&format!("{scratch}."), &format!("{table}."))
            ),
            sql,
            source,
        },
        other => other,
    }
}

/// Fails, naming the user's table and column (not the rebuild's temporary
/// table, where SQLite would see the NOT NULL fail), when a new NOT NULL
/// column without a default would have no value for the rows there are.
fn refuse_unfillable(c: &Connection, table: &str, column: &ColumnMeta) -> Result<()> {
    if column.nullable || column.default.is_some() || column.primary_key {
        return Ok(());
    }
    let mut sql = String::from("SELECT count(*) FROM ");
    push_ident(&mut sql, table);
    let rows: i64 = c
        .query_row(&sql, [], |r| r.get(0))
        .in_sql(Some(table), &sql)?;
    if rows == 0 {
        return Ok(());
    }
    Err(Error::SchemaMismatch {
        table: table.to_owned(),
        column: column.name.to_owned(),
        expected: crate::schema::column_definition::<SqliteDialect>(column),
        found: format!(
            "no such column, and the {rows} row(s) there would have no value for it: a new \
             NOT NULL column needs a value for every row. Make the field an `Option<..>` \
             (NULL for the rows there are) or give it `#[doctable(default = \"...\")]`"
        ),
        others: Vec::new(),
    })
}

fn copy_into_new_table(
    c: &Connection,
    old: &TableSchema,
    meta: &'static TableMeta,
    check: RowCheck<Sqlite>,
) -> Result<RebuildReport> {
    let table = meta.name;
    let mut report = RebuildReport::default();

    let temp_sql =
        "SELECT count(*) FROM temp.sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE";
    let shadowed: i64 = c
        .query_row(temp_sql, [table], |r| r.get(0))
        .in_sql(Some(table), temp_sql)?;
    if shadowed > 0 {
        return Err(Error::Usage(format!(
            "table `{table}`: a temporary table of the same name hides it on this connection; \
             drop the temporary table first; nothing changed"
        )));
    }

    // Step 3: what DROP TABLE takes with it besides the rows, and what names
    // the table from elsewhere.
    let objects = SchemaObject::all(c, table)?;
    let own_indexes = own_indexes(c, meta)?;
    let (own_triggers, dependents) = split_dependents(objects, table);
    let mut checked: Vec<(&SchemaObject, bool)> = Vec::new();
    for object in own_triggers.iter().chain(&dependents) {
        checked.push((object, object.compile_error(c).is_none()));
    }
    let sequence: Option<i64> = if reflect(c, "sqlite_sequence")?.is_some() {
        let sql = "SELECT max(seq) FROM sqlite_sequence WHERE name = ?1 COLLATE NOCASE";
        c.query_row(sql, [table], |r| r.get(0))
            .in_sql(Some(table), sql)?
    } else {
        None
    };

    // The copy: which columns come over, and which change storage class.
    let mut targets = String::new();
    let mut sources = String::new();
    let mut converted: Vec<(&str, SqlType)> = Vec::new();
    for column in meta.columns {
        match old.column(column.name) {
            Some(disk) => {
                if !targets.is_empty() {
                    targets.push_str(", ");
                    sources.push_str(", ");
                }
                push_ident(&mut targets, column.name);
                let mut x = String::new();
                push_ident(&mut x, &disk.name);
                if SqliteDialect::same_type(&disk.declared_type, column.sql_type) {
                    sources.push_str(&x);
                } else {
                    sources.push_str(&convert_sql(&x, SqlType::of_type(column.sql_type)));
                    converted.push((column.name, SqlType::of_type(column.sql_type)));
                    report.converted_columns.push(column.name.to_owned());
                }
            }
            None => {
                refuse_unfillable(c, table, column)?;
                report.added_columns.push(column.name.to_owned());
            }
        }
    }
    report.dropped_columns = old
        .columns
        .iter()
        .filter(|d| {
            !meta
                .columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&d.name))
        })
        .map(|d| d.name.clone())
        .collect();

    // Step 5, first half: every value converts, exactly, or nothing changes.
    let key = row_key_sql(old);
    for &(name, ty) in &converted {
        check_conversion(c, table, old, &key, name, ty)?;
    }

    // Step 4: a scratch name nothing else has (never drop what is there).
    let scratch = scratch_name(c, table)?;
    execute(c, table, &create_table_sql::<SqliteDialect>(meta, &scratch))?;

    let mut copy = String::from("INSERT INTO main.");
    push_ident(&mut copy, &scratch);
    copy.push_str(" (");
    copy.push_str(&targets);
    copy.push_str(") SELECT ");
    copy.push_str(&sources);
    copy.push_str(" FROM main.");
    push_ident(&mut copy, table);
    report.rows = c
        .execute(&copy, [])
        .in_sql(Some(table), &copy)
        .map_err(|e| in_users_terms(e, &scratch, table))?;

    // Step 5, second half: what was stored has the new column's storage class.
    for &(name, ty) in &converted {
        let mut check = String::from("SELECT count(*) FROM main.");
        push_ident(&mut check, &scratch);
        check.push_str(" WHERE ");
        push_ident(&mut check, name);
        check.push_str(" IS NOT NULL AND typeof(");
        push_ident(&mut check, name);
        check.push_str(") <> '");
        check.push_str(storage_name(ty));
        check.push('\'');
        let unconverted: i64 = c
            .query_row(&check, [], |r| r.get(0))
            .in_sql(Some(table), &check)?;
        if unconverted > 0 {
            return Err(Error::conversion(
                table,
                name,
                format!(
                    "{unconverted} stored values were not stored as {}; the rebuild was rolled \
                     back and nothing changed",
                    ty.name()
                ),
            ));
        }
    }

    // Steps 6 to 8.
    let mut swap = String::from("DROP TABLE main.");
    push_ident(&mut swap, table);
    swap.push_str("; ALTER TABLE main.");
    push_ident(&mut swap, &scratch);
    swap.push_str(" RENAME TO ");
    push_ident(&mut swap, table);
    execute(c, table, &swap)?;
    create_indexes(c, meta)?;
    for (name, sql) in own_indexes {
        recreate(c, table, &name, &sql)?;
        report.recreated.push(name);
    }
    for trigger in &own_triggers {
        recreate(c, table, &trigger.name, &trigger.create_sql())?;
        report.recreated.push(trigger.name.clone());
    }
    report.dependents = dependents.iter().map(|d| d.name.clone()).collect();

    // Step 9: what compiled before compiles now.
    let mut broken = String::new();
    for (object, compiled_before) in checked {
        if !compiled_before {
            continue;
        }
        if let Some(error) = object.compile_error(c) {
            broken.push_str(&format!(
                "\n    {} `{}` ({error}): {}",
                object.kind.name(),
                object.name,
                object.sql
            ));
        }
    }
    if !broken.is_empty() {
        return Err(Error::Usage(format!(
            "table `{table}`: the rebuild would break what names the table; drop or change it \
             first; the rebuild was rolled back and nothing changed:{broken}"
        )));
    }
    read_every_row(c, meta, check)?;

    if let Some(seq) = sequence
        && meta.columns.iter().any(|col| col.autoincrement)
    {
        let sql = "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1 COLLATE NOCASE";
        let updated = c
            .execute(sql, rusqlite::params![table, seq])
            .in_sql(Some(table), sql)?;
        if updated == 0 {
            let sql = "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)";
            c.execute(sql, rusqlite::params![table, seq])
                .in_sql(Some(table), sql)?;
        }
    }

    let check = "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check";
    let broken: Option<(String, i64, String)> = {
        let mut stmt = c.prepare(check).in_sql(Some(table), check)?;
        let mut rows = stmt.query([]).in_sql(Some(table), check)?;
        match rows.next().in_sql(Some(table), check)? {
            Some(r) => Some((
                r.get(0).in_sql(Some(table), check)?,
                r.get::<_, Option<i64>>(1)
                    .in_sql(Some(table), check)?
                    .unwrap_or_default(),
                r.get(2).in_sql(Some(table), check)?,
            )),
            None => None,
        }
    };
    if let Some((child, rowid, parent)) = broken {
        return Err(Error::Usage(format!(
            "table `{table}`: after the rebuild, row {rowid} of `{child}` refers to a missing row of `{parent}`; \
             the rebuild was rolled back and nothing changed"
        )));
    }
    Ok(report)
}

fn recreate(c: &Connection, table: &str, name: &str, sql: &str) -> Result<()> {
    c.execute_batch(sql).map_err(|e| {
        Error::Usage(format!(
            "table `{table}`: the rebuild cannot keep \"{name}\" ({e}); drop or change it \
             first; the rebuild was rolled back and nothing changed\n    SQL: {sql}"
        ))
    })
}

/// Indexes on the table that the struct does not declare, with their SQL
/// (constraint indexes, which have none, come back with the new table).
fn own_indexes(c: &Connection, meta: &TableMeta) -> Result<Vec<(String, String)>> {
    let sql = "SELECT name, sql FROM main.sqlite_schema WHERE type = 'index' \
               AND tbl_name = ?1 COLLATE NOCASE AND sql IS NOT NULL";
    let mut stmt = c.prepare(sql).in_sql(Some(meta.name), sql)?;
    let rows = stmt
        .query_map([meta.name], |r| Ok((r.get(0)?, r.get(1)?)))
        .in_sql(Some(meta.name), sql)?;
    Ok(rows
        .collect::<rusqlite::Result<Vec<(String, String)>>>()
        .in_sql(Some(meta.name), sql)?
        .into_iter()
        .filter(|(name, _)| {
            !meta
                .indexes
                .iter()
                .any(|i| i.name.eq_ignore_ascii_case(name))
        })
        .collect())
}

/// The table's triggers (dropped with it, recreated after), and the views and
/// triggers elsewhere that name it, directly or through such a view (kept,
/// then checked).
fn split_dependents(
    objects: Vec<SchemaObject>,
    table: &str,
) -> (Vec<SchemaObject>, Vec<SchemaObject>) {
    let (own, mut rest): (Vec<_>, Vec<_>) = objects
        .into_iter()
        .partition(|o| o.kind == Kind::Trigger && o.table.eq_ignore_ascii_case(table));
    let mut names = vec![table.to_owned()];
    let mut dependents = Vec::new();
    loop {
        let (found, others): (Vec<_>, Vec<_>) = rest
            .into_iter()
            .partition(|o| o.tokens.iter().any(|t| t.names_any(&names)));
        rest = others;
        if found.is_empty() {
            break;
        }
        names.extend(
            found
                .iter()
                .filter(|o| o.kind == Kind::View)
                .map(|o| o.name.clone()),
        );
        dependents.extend(found);
    }
    (own, dependents)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    View,
    Trigger,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::Trigger => "trigger",
        }
    }
}

/// A view or trigger, from `main` or the connection's `temp` schema.
#[derive(Debug)]
struct SchemaObject {
    temp: bool,
    kind: Kind,
    name: String,
    /// The trigger's table (for a view, its own name).
    table: String,
    sql: String,
    tokens: Vec<Token>,
}

impl SchemaObject {
    fn all(c: &Connection, table: &str) -> Result<Vec<SchemaObject>> {
        let mut out = Vec::new();
        for (temp, sql) in [
            (
                false,
                "SELECT type, name, tbl_name, sql FROM main.sqlite_schema \
                 WHERE type IN ('view', 'trigger') AND sql IS NOT NULL ORDER BY rowid",
            ),
            (
                true,
                "SELECT type, name, tbl_name, sql FROM temp.sqlite_schema \
                 WHERE type IN ('view', 'trigger') AND sql IS NOT NULL ORDER BY rowid",
            ),
        ] {
            let mut stmt = c.prepare(sql).in_sql(Some(table), sql)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .in_sql(Some(table), sql)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .in_sql(Some(table), sql)?;
            out.extend(rows.into_iter().map(|(kind, name, table, sql)| {
                let tokens = tokens(&sql);
                SchemaObject {
                    temp,
                    kind: if kind == "view" {
                        Kind::View
                    } else {
                        Kind::Trigger
                    },
                    name,
                    table,
                    sql,
                    tokens,
                }
            }));
        }
        Ok(out)
    }

    /// The statement that recreates it where it was: SQLite stores a
    /// temporary object's SQL without the `TEMP`.
    fn create_sql(&self) -> String {
        match self.sql.get(..7) {
            Some(head) if self.temp && head.eq_ignore_ascii_case("CREATE ") => {
                format!("CREATE TEMP {}", &self.sql[7..])
            }
            _ => self.sql.clone(),
        }
    }

    fn schema(&self) -> &'static str {
        if self.temp { "temp" } else { "main" }
    }

    /// Why it does not compile, if it does not. SQLite compiles a view when a
    /// query uses it and a trigger when a statement that fires it is prepared;
    /// preparing (never running) those statements is the check.
    fn compile_error(&self, c: &Connection) -> Option<String> {
        let mut statements = Vec::new();
        match self.kind {
            Kind::View => {
                let mut sql = String::from("SELECT * FROM ");
                sql.push_str(self.schema());
                sql.push('.');
                push_ident(&mut sql, &self.name);
                statements.push(sql);
            }
            Kind::Trigger => {
                // A temporary trigger may be on a table of `main`: leave its
                // table unqualified, resolved as the trigger's own ON is.
                let mut target = String::new();
                if !self.temp {
                    target.push_str("main.");
                }
                push_ident(&mut target, &self.table);
                let events = match trigger_event(&self.tokens) {
                    Some(event) => vec![event],
                    None => vec![Event::Insert, Event::Update, Event::Delete],
                };
                for event in events {
                    match event {
                        Event::Insert => {
                            statements.push(format!("INSERT INTO {target} DEFAULT VALUES"));
                        }
                        Event::Delete => statements.push(format!("DELETE FROM {target}")),
                        Event::Update => match self.update_all(c, &target) {
                            Ok(sql) => statements.push(sql),
                            Err(e) => return Some(e.to_string()),
                        },
                    }
                }
            }
        }
        statements
            .iter()
            .find_map(|sql| c.prepare(sql).err().map(|e| e.to_string()))
    }

    /// `UPDATE t SET a = a, b = b, ...` over every column: fires every
    /// `UPDATE` and `UPDATE OF` trigger of the table.
    fn update_all(&self, c: &Connection, target: &str) -> rusqlite::Result<String> {
        let schema = if self.temp {
            // Where SQLite finds the table for an unqualified name.
            let sql = "SELECT count(*) FROM temp.sqlite_schema WHERE name = ?1 COLLATE NOCASE \
                       AND type IN ('table', 'view')";
            let in_temp: i64 = c.query_row(sql, [&self.table], |r| r.get(0))?;
            if in_temp > 0 { "temp" } else { "main" }
        } else {
            "main"
        };
        let sql = "SELECT name FROM pragma_table_xinfo(?1, ?2) WHERE hidden = 0";
        let mut stmt = c.prepare(sql)?;
        let columns = stmt
            .query_map([self.table.as_str(), schema], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut update = format!("UPDATE {target} SET ");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                update.push_str(", ");
            }
            push_ident(&mut update, column);
            update.push_str(" = ");
            push_ident(&mut update, column);
        }
        Ok(update)
    }
}

/// A token of SQL text, as far as finding names needs: string literals and
/// comments are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word: a keyword or an unquoted name.
    Word(String),
    /// A quoted name: `"x"`, `[x]` or `` `x` ``.
    Quoted(String),
    /// Any other character.
    Punct(char),
}

impl Token {
    /// Whether it is one of `names` (SQLite folds ASCII case only).
    fn names_any(&self, names: &[String]) -> bool {
        match self {
            Token::Word(w) | Token::Quoted(w) => names.iter().any(|n| n.eq_ignore_ascii_case(w)),
            Token::Punct(_) => false,
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            c if c.is_whitespace() => {}
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            '\'' => {
                quoted(&mut chars, '\'');
            }
            '"' | '`' => out.push(Token::Quoted(quoted(&mut chars, ch))),
            '[' => out.push(Token::Quoted(
                chars.by_ref().take_while(|&c| c != ']').collect(),
            )),
            c if c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii() => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '$' || !next.is_ascii() {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            c => out.push(Token::Punct(c)),
        }
    }
    out
}

/// The rest of a quoted token whose opening `quote` was read; a doubled
/// quote stands for itself.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> String {
    let mut text = String::new();
    while let Some(c) = chars.next() {
        if c == quote {
            if chars.peek() == Some(&quote) {
                chars.next();
            } else {
                break;
            }
        }
        text.push(c);
    }
    text
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Insert,
    Update,
    Delete,
}

/// The event of `CREATE [TEMP] TRIGGER [IF NOT EXISTS] [schema.]name
/// [BEFORE | AFTER | INSTEAD OF] event ...`.
fn trigger_event(tokens: &[Token]) -> Option<Event> {
    let mut i = tokens.iter().position(|t| t.is_keyword("TRIGGER"))? + 1;
    if tokens.get(i)?.is_keyword("IF") {
        i += 3;
    }
    i += 1;
    if tokens.get(i) == Some(&Token::Punct('.')) {
        i += 2;
    }
    let t = tokens.get(i)?;
    if t.is_keyword("BEFORE") || t.is_keyword("AFTER") {
        i += 1;
    } else if t.is_keyword("INSTEAD") {
        i += 2;
    }
    let t = tokens.get(i)?;
    [
        ("INSERT", Event::Insert),
        ("UPDATE", Event::Update),
        ("DELETE", Event::Delete),
    ]
    .into_iter()
    .find(|(k, _)| t.is_keyword(k))
    .map(|(_, e)| e)
}

/// `<table>__doctable_rebuild`, or with a number after it: the first such name
/// no table, index, view or trigger has, in the file or in the connection's
/// temporary schema (where an unqualified name would find it first).
fn scratch_name(c: &Connection, table: &str) -> Result<String> {
    let sql = "SELECT (SELECT count(*) FROM main.sqlite_schema WHERE name = ?1 COLLATE NOCASE) \
               + (SELECT count(*) FROM temp.sqlite_schema WHERE name = ?1 COLLATE NOCASE)";
    let base = format!("{table}__doctable_rebuild");
    for n in 1..=1000 {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}_{n}")
        };
        let taken: i64 = c
            .query_row(sql, [&name], |r| r.get(0))
            .in_sql(Some(table), sql)?;
        if taken == 0 {
            return Ok(name);
        }
    }
    Err(Error::Usage(format!(
        "table `{table}`: the names {base} to {base}_1000 are all taken; nothing changed"
    )))
}

/// The `typeof()` of a value stored as `ty`.
fn storage_name(ty: SqlType) -> &'static str {
    match ty {
        SqlType::Integer => "integer",
        SqlType::Real => "real",
        SqlType::Text => "text",
        SqlType::Blob => "blob",
    }
}

/// How a value `x` of the old column becomes a value of `target`: kept when it
/// already is one (or NULL), else CAST, which SQLite's column affinity would
/// not do for TEXT into BLOB. A REAL outside i64's range stays REAL (CAST
/// would saturate), and so is refused by [`exact_sql`].
fn convert_sql(x: &str, target: SqlType) -> String {
    let t = storage_name(target);
    let cast = format!("CAST({x} AS {})", target.name());
    match target {
        SqlType::Integer => format!(
            "CASE WHEN typeof({x}) IN ('integer', 'null') THEN {x} \
             WHEN typeof({x}) = 'real' THEN CASE WHEN {x} >= -9223372036854775808.0 \
             AND {x} < 9223372036854775808.0 THEN {cast} ELSE {x} END ELSE {cast} END"
        ),
        _ => format!("CASE WHEN typeof({x}) IN ('{t}', 'null') THEN {x} ELSE {cast} END"),
    }
}

/// Whether `v`, converted from the non-NULL `x`, is of `target`'s storage
/// class and the same value: converted back to `x`'s class it gives `x`
/// (INTEGER and REAL compare exactly, text byte for byte). A whole REAL
/// converted from text or bytes may also read back in its integer form
/// (`'3'` is 3.0).
fn exact_sql(x: &str, v: &str, target: SqlType) -> String {
    let t = storage_name(target);
    let back = |class: &str| format!("CAST({v} AS {class})");
    let whole = |class: &str| {
        format!("(CAST({v} AS INTEGER) = {v} AND CAST(CAST({v} AS INTEGER) AS {class}) = {x})")
    };
    let from_integer = match target {
        SqlType::Real => format!("{v} = {x}"),
        _ => format!("{} = {x}", back("INTEGER")),
    };
    let from_real = match target {
        SqlType::Integer => format!("{v} = {x}"),
        _ => format!("{} = {x}", back("REAL")),
    };
    let from_text = match target {
        SqlType::Real => format!(
            "({} = {x} COLLATE BINARY OR {})",
            back("TEXT"),
            whole("TEXT")
        ),
        _ => format!("{} = {x} COLLATE BINARY", back("TEXT")),
    };
    let from_blob = match target {
        SqlType::Real => format!("({} = {x} OR {})", back("BLOB"), whole("BLOB")),
        _ => format!("{} = {x}", back("BLOB")),
    };
    format!(
        "typeof({v}) = '{t}' AND CASE typeof({x}) WHEN '{t}' THEN 1 \
         WHEN 'integer' THEN {from_integer} WHEN 'real' THEN {from_real} \
         WHEN 'text' THEN {from_text} WHEN 'blob' THEN {from_blob} ELSE 0 END"
    )
}

/// An SQL expression naming a row of the old table for messages: its primary
/// key as SQL prints it, else its rowid.
fn row_key_sql(old: &TableSchema) -> String {
    let mut key: Vec<_> = old.columns.iter().filter(|c| c.primary_key > 0).collect();
    key.sort_by_key(|c| c.primary_key);
    let quoted: Vec<String> = key
        .iter()
        .map(|c| {
            let mut q = String::from("quote(");
            push_ident(&mut q, &c.name);
            q.push(')');
            q
        })
        .collect();
    match quoted.len() {
        0 => "'rowid ' || rowid".to_owned(),
        1 => quoted.concat(),
        _ => format!("'(' || {} || ')'", quoted.join(" || ', ' || ")),
    }
}

/// `expr` as SQL prints it, for a message: the first 40 characters (or
/// bytes) of a long text or blob, so that a huge value is never copied whole.
fn example_sql(expr: &str) -> String {
    format!(
        "CASE WHEN typeof({expr}) IN ('text', 'blob') AND length({expr}) > 40 \
         THEN quote(substr({expr}, 1, 40)) || '...' ELSE quote({expr}) END"
    )
}

/// A value as SQL prints it, shortened for a message.
fn shorten(mut text: String) -> String {
    const MAX: usize = 80;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// Refuses, before anything is written, a column whose stored values would
/// not all convert exactly to `ty`; names one such row and value.
fn check_conversion(
    c: &Connection,
    table: &str,
    old: &TableSchema,
    key: &str,
    name: &str,
    ty: SqlType,
) -> Result<()> {
    let Some(disk) = old.column(name) else {
        return Ok(());
    };
    let mut x = String::new();
    push_ident(&mut x, &disk.name);
    let mut from = String::from("main.");
    push_ident(&mut from, table);
    let inner = format!(
        "SELECT {key} AS doctable_k, {x} AS doctable_x, {} AS doctable_v FROM {from}",
        convert_sql(&x, ty)
    );
    let sql = format!(
        "SELECT count(*), doctable_k, typeof(doctable_x), {}, {} \
         FROM ({inner}) WHERE doctable_x IS NOT NULL AND NOT ({})",
        example_sql("doctable_x"),
        example_sql("doctable_v"),
        exact_sql("doctable_x", "doctable_v", ty)
    );
    type Failure = (
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let (count, row, class, value, became): Failure = c
        .query_row(&sql, [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .in_sql(Some(table), &sql)?;
    if count > 0 {
        return Err(Error::Conversion {
            table: table.to_owned(),
            column: name.to_owned(),
            row,
            detail: format!(
                "{count} stored values do not convert exactly to {}: the {} {} would become {}, \
                 which does not convert back to the same value; the rebuild was rolled back and \
                 nothing changed",
                ty.name(),
                class.unwrap_or_default().to_ascii_uppercase(),
                shorten(value.unwrap_or_default()),
                shorten(became.unwrap_or_default()),
            ),
        });
    }
    if ty == SqlType::Text {
        check_utf8(c, table, &from, key, &x, name)?;
    }
    Ok(())
}

/// Bytes become text only when they are UTF-8 (the `String` field's reading).
fn check_utf8(
    c: &Connection,
    table: &str,
    from: &str,
    key: &str,
    x: &str,
    name: &str,
) -> Result<()> {
    let sql = format!(
        "SELECT {key}, {x}, {} FROM {from} WHERE typeof({x}) = 'blob'",
        example_sql(x)
    );
    let mut stmt = c.prepare(&sql).in_sql(Some(table), &sql)?;
    let mut rows = stmt.query([]).in_sql(Some(table), &sql)?;
    let encoding: String = c
        .query_row("PRAGMA encoding", [], |r| r.get(0))
        .in_sql(Some(table), "PRAGMA encoding")?;
    let mut invalid = 0usize;
    let mut example: Option<(String, String)> = None;
    while let Some(r) = rows.next().in_sql(Some(table), &sql)? {
        let bytes = r.get_ref(1).in_sql(Some(table), &sql)?;
        let valid = encoding == "UTF-8"
            && bytes
                .as_blob()
                .is_ok_and(|b| std::str::from_utf8(b).is_ok());
        if !valid {
            invalid += 1;
            if example.is_none() {
                example = Some((
                    r.get(0).in_sql(Some(table), &sql)?,
                    r.get(2).in_sql(Some(table), &sql)?,
                ));
            }
        }
    }
    match example {
        None => Ok(()),
        Some((row, value)) => Err(Error::Conversion {
            table: table.to_owned(),
            column: name.to_owned(),
            row: Some(row),
            detail: format!(
                "{invalid} stored BLOB values are not UTF-8 text (in this {encoding} database), \
                 e.g. {}; the rebuild was rolled back and nothing changed",
                shorten(value)
            ),
        }),
    }
}

/// Every row of the rebuilt table reads back through the struct.
fn read_every_row(c: &Connection, meta: &TableMeta, check: RowCheck<Sqlite>) -> Result<()> {
    let mut sql = String::from("SELECT ");
    push_ident_list(&mut sql, meta.columns.iter().map(|c| c.name));
    sql.push_str(" FROM main.");
    push_ident(&mut sql, meta.name);
    let mut stmt = c.prepare(&sql).in_sql(Some(meta.name), &sql)?;
    let mut rows = stmt.query([]).in_sql(Some(meta.name), &sql)?;
    while let Some(row) = rows.next().in_sql(Some(meta.name), &sql)? {
        if let Err(e) = check(row) {
            return Err(match e {
                Error::Conversion {
                    table,
                    column,
                    row,
                    detail,
                } => Error::Conversion {
                    table,
                    column,
                    row,
                    detail: format!(
                        "{detail}; after the rebuild this row would not read back, so the \
                         rebuild was rolled back and nothing changed"
                    ),
                },
                other => other,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_skip_strings_and_comments_and_unquote_names() {
        let t = tokens(
            "CREATE VIEW \"a\"\"b\" AS SELECT 'authors' -- authors\n, [x y], `z` /* authors */ FROM Authors",
        );
        let names: Vec<&str> = t
            .iter()
            .filter_map(|t| match t {
                Token::Word(w) | Token::Quoted(w) => Some(w.as_str()),
                Token::Punct(_) => None,
            })
            .collect();
        assert_eq!(
            names,
            [
                "CREATE", "VIEW", "a\"b", "AS", "SELECT", "x y", "z", "FROM", "Authors"
            ]
        );
        assert!(t.iter().any(|t| t.names_any(&["authors".to_owned()])));
    }

    #[test]
    fn trigger_events_are_found_after_the_name() {
        for (sql, event) in [
            (
                "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END",
                Event::Insert,
            ),
            (
                "CREATE TRIGGER \"delete\" UPDATE OF a ON x BEGIN SELECT 1; END",
                Event::Update,
            ),
            (
                "CREATE TRIGGER IF NOT EXISTS main.t INSTEAD OF DELETE ON v BEGIN SELECT 1; END",
                Event::Delete,
            ),
            (
                "create trigger t before update on x begin select 1; end",
                Event::Update,
            ),
        ] {
            assert_eq!(trigger_event(&tokens(sql)), Some(event), "{sql}");
        }
    }
}
