//! Reading a table's schema back from PostgreSQL's catalogs (`pg_catalog`),
//! in the schema first on the `search_path` (`current_schema()`).

use postgres::GenericClient;

use super::pg_error;
use crate::error::Result;
use crate::schema::{ColumnInfo, ForeignKeyInfo, IndexInfo, TableSchema};
use crate::table::TableMeta;

const LIST: &str = "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1";

/// The tables of the current schema, sorted.
pub(super) fn list(client: &mut impl GenericClient) -> Result<Vec<String>> {
    let rows = client
        .query(LIST, &[])
        .map_err(|e| pg_error(e, None, LIST))?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(|e| pg_error(e, None, LIST)))
        .collect()
}

const TABLE: &str = "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = $1";

const COLUMNS: &str = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
     pg_get_expr(d.adbin, d.adrelid), \
     COALESCE((SELECT k.ord FROM pg_index ix, unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(n, ord) \
               WHERE ix.indrelid = a.attrelid AND ix.indisprimary AND k.n = a.attnum), 0)::int4 \
     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

const INDEXES: &str = "SELECT i.relname::text, ix.indisunique, \
     CASE WHEN ix.indisprimary THEN 'pk' \
          WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid AND k.contype = 'u') THEN 'u' \
          ELSE 'c' END, \
     ARRAY(SELECT COALESCE(a.attname::text, '(expression)') FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
           LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.ord) \
     FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indrelid = $1 ORDER BY 1";

const FOREIGN_KEYS: &str = "SELECT a.attname::text, rt.relname::text, ra.attname::text, \
     con.confupdtype::text, con.confdeltype::text \
     FROM pg_constraint con JOIN pg_class rt ON rt.oid = con.confrelid \
     CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(col, rcol) \
     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col \
     JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.rcol \
     WHERE con.contype = 'f' AND con.conrelid = $1 ORDER BY con.conname, a.attnum";

const CHECKS: &str = "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
     WHERE contype = 'c' AND conrelid = $1 ORDER BY conname";

/// A foreign key action as `pg_constraint` spells it.
fn action(code: &str) -> String {
    match code {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_owned()
}

/// A default as the catalog prints it, without the cast PostgreSQL adds to
/// a literal (`'en'::text` is `'en'`), so it compares with the declared one.
fn plain_default(expr: String) -> String {
    if expr.starts_with('\'')
        && let Some(end) = expr.rfind("'::")
        && !expr[end + 3..].contains(['\'', '(', ')'])
    {
        return expr[..end + 1].to_owned();
    }
    expr
}

/// The table named `table` in the current schema, or `None`.
pub(super) fn reflect(client: &mut impl GenericClient, table: &str) -> Result<Option<TableSchema>> {
    let t = Some(table);
    let err = |sql: &'static str| move |e| pg_error(e, t, sql);
    let Some(row) = client.query_opt(TABLE, &[&table]).map_err(err(TABLE))? else {
        return Ok(None);
    };
    let oid: postgres::types::Oid = row.try_get(0).map_err(err(TABLE))?;

    let mut columns = Vec::new();
    for r in client.query(COLUMNS, &[&oid]).map_err(err(COLUMNS))? {
        let default: Option<String> = r.try_get(3).map_err(err(COLUMNS))?;
        columns.push(ColumnInfo {
            name: r.try_get(0).map_err(err(COLUMNS))?,
            declared_type: r.try_get(1).map_err(err(COLUMNS))?,
            not_null: r.try_get(2).map_err(err(COLUMNS))?,
            default: default.map(plain_default),
            primary_key: u32::try_from(r.try_get::<_, i32>(4).map_err(err(COLUMNS))?).unwrap_or(0),
        });
    }

    let mut indexes = Vec::new();
    for r in client.query(INDEXES, &[&oid]).map_err(err(INDEXES))? {
        indexes.push(IndexInfo {
            name: r.try_get(0).map_err(err(INDEXES))?,
            unique: r.try_get(1).map_err(err(INDEXES))?,
            origin: r.try_get(2).map_err(err(INDEXES))?,
            columns: r.try_get(3).map_err(err(INDEXES))?,
        });
    }

    let mut foreign_keys = Vec::new();
    for r in client
        .query(FOREIGN_KEYS, &[&oid])
        .map_err(err(FOREIGN_KEYS))?
    {
        foreign_keys.push(ForeignKeyInfo {
            from: r.try_get(0).map_err(err(FOREIGN_KEYS))?,
            table: r.try_get(1).map_err(err(FOREIGN_KEYS))?,
            to: Some(r.try_get(2).map_err(err(FOREIGN_KEYS))?),
            on_update: action(r.try_get(3).map_err(err(FOREIGN_KEYS))?),
            on_delete: action(r.try_get(4).map_err(err(FOREIGN_KEYS))?),
        });
    }

    let checks = client
        .query(CHECKS, &[&oid])
        .map_err(err(CHECKS))?
        .iter()
        .map(|r| r.try_get::<_, String>(0).map_err(err(CHECKS)))
        .collect::<Result<Vec<_>>>()?;
    let sql = checks_ddl(table, &checks);

    Ok(Some(TableSchema {
        name: table.to_owned(),
        columns,
        indexes,
        foreign_keys,
        sql,
    }))
}

/// The checks as a CREATE TABLE, which the schema diff reads CHECK clauses from.
fn checks_ddl(table: &str, checks: &[String]) -> String {
    let mut sql = String::from("CREATE TABLE ");
    crate::dialect::push_ident(&mut sql, table);
    sql.push_str(" (");
    sql.push_str(&checks.join(", "));
    sql.push(')');
    sql
}

const PROBE: &str = "doctable_check_probe";
const PROBE_CHECKS: &str = "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
     WHERE contype = 'c' AND conrelid = to_regclass('pg_temp.doctable_check_probe')";

/// See `Postgres::canonical_checks`. `outside` says no transaction is open.
pub(super) fn canonical_checks(
    client: &mut impl GenericClient,
    meta: &TableMeta,
    schema: &mut TableSchema,
    outside: bool,
) -> Result<()> {
    use crate::backend::Dialect;
    let declared: Vec<&str> = meta
        .columns
        .iter()
        .filter_map(|c| c.check)
        .chain(meta.checks.iter().copied())
        .collect();
    if declared.is_empty() {
        return Ok(());
    }
    let mut ddl = format!("CREATE TEMP TABLE {PROBE} (");
    for (i, c) in meta.columns.iter().enumerate() {
        if i > 0 {
            ddl.push_str(", ");
        }
        crate::dialect::push_ident(&mut ddl, c.name);
        ddl.push(' ');
        ddl.push_str(super::PgDialect::type_name(c.sql_type));
    }
    for (i, check) in declared.iter().enumerate() {
        ddl.push_str(&format!(", CONSTRAINT c{i} CHECK ({check})"));
    }
    ddl.push(')');
    let (open, close) = if outside {
        ("BEGIN", "ROLLBACK")
    } else {
        (
            "SAVEPOINT doctable_probe",
            "ROLLBACK TO SAVEPOINT doctable_probe; RELEASE SAVEPOINT doctable_probe",
        )
    };
    let t = Some(meta.name);
    client
        .batch_execute(open)
        .map_err(|e| pg_error(e, t, open))?;
    let probed = client
        .batch_execute(&ddl)
        .and_then(|()| client.query(PROBE_CHECKS, &[]));
    client
        .batch_execute(close)
        .map_err(|e| pg_error(e, t, close))?;
    // A declared check the server cannot parse stays a mismatch (and
    // create_table reports the server's error if it gets to run it).
    let Ok(rows) = probed else {
        return Ok(());
    };
    let mut spelled: Vec<(usize, String)> = Vec::new();
    for r in rows {
        let name: String = r.try_get(0).map_err(|e| pg_error(e, t, PROBE_CHECKS))?;
        let def: String = r.try_get(1).map_err(|e| pg_error(e, t, PROBE_CHECKS))?;
        if let Some(i) = name.strip_prefix('c').and_then(|n| n.parse().ok()) {
            spelled.push((i, def));
        }
    }
    let Some(row) = client
        .query_opt(TABLE, &[&meta.name])
        .map_err(|e| pg_error(e, t, TABLE))?
    else {
        return Ok(());
    };
    let oid: postgres::types::Oid = row.try_get(0).map_err(|e| pg_error(e, t, TABLE))?;
    let mut stored = client
        .query(CHECKS, &[&oid])
        .map_err(|e| pg_error(e, t, CHECKS))?
        .iter()
        .map(|r| {
            r.try_get::<_, String>(0)
                .map_err(|e| pg_error(e, t, CHECKS))
        })
        .collect::<Result<Vec<_>>>()?;
    for (i, def) in spelled {
        if let (Some(slot), Some(check)) = (stored.iter_mut().find(|s| **s == def), declared.get(i))
        {
            *slot = format!("CHECK ({check})");
        }
    }
    schema.sql = checks_ddl(meta.name, &stored);
    Ok(())
}

const INDEX_OWNER: &str = "SELECT t.relname::text FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
     JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = i.relnamespace \
     WHERE n.nspname = current_schema() AND i.relname = $1";

/// The table owning the index `index` in the current schema.
pub(super) fn index_owner(
    client: &mut impl GenericClient,
    table: &str,
    index: &str,
) -> Result<Option<String>> {
    let err = |e| pg_error(e, Some(table), INDEX_OWNER);
    match client.query_opt(INDEX_OWNER, &[&index]).map_err(err)? {
        Some(row) => row.try_get(0).map(Some).map_err(err),
        None => Ok(None),
    }
}
