//! The PostgreSQL backend (feature `postgres`), over the `postgres` crate.
//!
//! Everything that knows it is talking to PostgreSQL is here: the value
//! encoding (each parameter encoded for the type the server inferred for it),
//! the raw column reader, the dialect (`$N` placeholders, identity keys,
//! `ON CONFLICT`, `RETURNING "key"` for the assigned key), the connection
//! strategies ([`Persistent`], [`PerQuery`], [`Pool`], [`External`]), the
//! errors (SQLSTATE, constraint kinds, serialization failures, a lost
//! connection) and schema reflection from the system catalogs.
//!
//! ```no_run
//! use doctable::DocTable;
//! use doctable::postgres::Persistent;
//!
//! #[derive(DocTable, Debug, PartialEq)]
//! struct Note { #[doctable(primary_key)] id: Option<i64>, text: String }
//!
//! let db = Persistent::connect("host=127.0.0.1 user=root dbname=test")?;
//! Note::create_table(&db)?;
//! let id = Note::insert(&db, &Note { id: None, text: "hello".into() })?;
//! assert_eq!(Note::get(&db, id)?.map(|n| n.text), Some("hello".to_string()));
//! # Ok::<(), doctable::Error>(())
//! ```

/// Runs `$body` with `$c` bound to the session's client or transaction (both
/// `postgres::GenericClient`).
macro_rules! on_client {
    ($session:expr, $c:ident => $body:expr) => {
        match $session.get() {
            ClientRef::Client($c) => $body,
            ClientRef::Transaction($c) => $body,
        }
    };
}

mod codec;
mod external;
mod per_query;
mod persistent;
mod pool;
mod reentry;
mod reflect;

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::ptr::NonNull;

use ::postgres::{Client, Config, NoTls, Row, Statement, Transaction};

pub use external::External;
pub use per_query::PerQuery;
pub use persistent::Persistent;
pub use pool::Pool;

use crate::backend::{Backend, Conflict, Dialect, RowCheck, sealed};
use crate::catalog::{RebuildReport, TableSchema};
use crate::dialect::push_ident;
use crate::error::{ConstraintKind, Error, Result};
use crate::meta::{ColumnMeta, TableMeta};
use crate::value::{SqlType, ToValue, Value, ValueRef};

use ::postgres::types::IsNull;
use bytes::BytesMut;
use codec::{Encoded, Param, RawValue};

/// How large a binder's buffer of encoded values may grow before the first
/// bind after a run drops the bytes no parameter points at any more (a
/// statement run again and again, each time bound afresh, would otherwise
/// keep every run's).
const COMPACT_AT: usize = 64 * 1024;

/// The `postgres` crate this backend is built on, for [`External`] and
/// [`PgConnection::with_client`].
pub use ::postgres as driver;

/// The PostgreSQL backend: what [`Persistent`], [`PerQuery`], [`Pool`] and
/// [`External`] run on, and their [`Tx`](crate::Tx) (`Tx<'_, Postgres>`).
#[derive(Debug, Clone, Copy)]
pub enum Postgres {}

impl sealed::Sealed for Postgres {}

/// One PostgreSQL session as the crate uses it: the client, its prepared
/// statement cache (keyed by SQL text), the key the last insert returned and
/// how deep the transactions the crate opened on it are.
///
/// Reached only through `&`: the client sits in a `RefCell`, so a second
/// statement started while one is still streaming rows (a query inside a
/// `for_each` callback on the same connection) is a [`Error::Usage`], not a panic.
pub struct PgConnection {
    client: RefCell<Session>,
    cache: RefCell<HashMap<String, Statement, BuildHasherDefault<SqlHasher>>>,
    last_id: Cell<i64>,
    depth: Cell<usize>,
    /// Whether a statement failed on the server inside the open transaction:
    /// PostgreSQL then ignores every statement until a rollback (25P02).
    aborted: Cell<bool>,
    /// The last statement's buffers of encoded values, emptied, for the next
    /// one: binding allocates nothing once they are large enough.
    spare: Cell<Spare>,
}

/// The statement cache's hasher: FxHash (rustc's) over the SQL text, about
/// three instructions per 8 bytes where std's SipHash spends dozens (a cache
/// lookup per statement run). The keys are the program's own SQL, not input
/// an attacker picks to collide, and a collision costs only a longer probe.
#[derive(Default, Clone, Copy)]
struct SqlHasher(u64);

impl std::hash::Hasher for SqlHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            // Cannot panic: `chunks_exact(8)` gives 8-byte words only.
            w.copy_from_slice(word);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in words.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A binder's buffer of encoded values and its parameter slots.
type Spare = (BytesMut, Vec<Option<(usize, usize)>>);

/// What a [`PgConnection`] runs its statements on.
///
/// The two borrowed forms are made only by [`External::new`] and
/// [`External::in_transaction`] from a `&'a mut` borrow, and their
/// `PgConnection` lives only inside that `External<'a>` (a private field,
/// never moved out or handed out by value; `with_connection` lends it by `&`
/// for the length of one call). So while the pointer exists the caller
/// cannot reach the client or the transaction (the `External<'a>` holds the
/// exclusive borrow through its `PhantomData`), and every dereference
/// ([`Session::get`]) happens while the `External<'a>` is alive, within `'a`,
/// through the `RefCell`'s one `&mut` at a time: the same access a
/// `&'a mut Client` field would give, which the backend's lifetime-free
/// connection type cannot hold.
// The owned client is the common case (every strategy but External): kept
// inline rather than boxed, so a statement reaches it without a pointer hop.
#[allow(clippy::large_enum_variant)]
enum Session {
    /// A client the crate connected and owns (Persistent, PerQuery, Pool).
    Owned(Client),
    /// The caller's client, lent by [`External::new`].
    Client(NonNull<Client>),
    /// The caller's transaction, lent by [`External::in_transaction`]. Its
    /// lifetime is erased: the crate only calls its `&mut self` methods,
    /// never moves a value into or out of it.
    Transaction(NonNull<Transaction<'static>>),
}

// SAFETY: an owned `Client` is `Send`. A borrowed form is an exclusive borrow
// of a `Client` or a `Transaction` (both `Send`, checked below), held for the
// life of its `External<'a>` (see `Session`): sending it is sending a
// `&'a mut Client` / `&'a mut Transaction`, which is `Send`. `PgConnection`
// stays `!Sync` (its `RefCell`s).
#[allow(unsafe_code)]
unsafe impl Send for PgConnection {}

/// `Client` and `Transaction` are `Send`: what the `Send` impl above relies on.
const _: fn() = || {
    fn is_send<T: Send>() {}
    is_send::<Client>();
    is_send::<Transaction<'static>>();
};

/// The client of a [`Session`], borrowed for as long as the session is.
enum ClientRef<'s> {
    Client(&'s mut Client),
    Transaction(&'s mut Transaction<'static>),
}

impl Session {
    #[allow(unsafe_code)]
    fn get(&mut self) -> ClientRef<'_> {
        match self {
            Session::Owned(client) => ClientRef::Client(client),
            // SAFETY: see `Session`: the pointer came from a `&'a mut Client`
            // whose `External<'a>` is still alive (it owns this session), and
            // the returned borrow is tied to `&mut self`, so it is the only one.
            Session::Client(client) => ClientRef::Client(unsafe { client.as_mut() }),
            // SAFETY: as above, from a `&'a mut Transaction<'_>`.
            Session::Transaction(txn) => ClientRef::Transaction(unsafe { txn.as_mut() }),
        }
    }

    fn is_closed(&mut self) -> bool {
        match self.get() {
            ClientRef::Client(client) => client.is_closed(),
            // A `Transaction` does not say; its next statement will.
            ClientRef::Transaction(_) => false,
        }
    }
}

impl std::fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConnection")
            .field("cached_statements", &self.cache.borrow().len())
            .field("transaction_depth", &self.depth.get())
            .field("transaction_aborted", &self.aborted.get())
            .finish_non_exhaustive()
    }
}

impl PgConnection {
    fn new(client: Client) -> Self {
        Self::over(Session::Owned(client))
    }

    fn over(session: Session) -> Self {
        PgConnection {
            client: RefCell::new(session),
            cache: RefCell::new(HashMap::default()),
            last_id: Cell::new(0),
            depth: Cell::new(0),
            aborted: Cell::new(false),
            spare: Cell::default(),
        }
    }

    /// Connects with `config`; `described` names the server in an error.
    fn connect(config: &Config, described: &str) -> Result<Self> {
        config
            .connect(NoTls)
            .map(PgConnection::new)
            .map_err(|e| connect_error(e, described))
    }

    /// Runs `f` with the `postgres::Client`, for work the crate does not
    /// cover. Statements run this way do not go through the crate's cache,
    /// and a transaction opened here is the caller's to end.
    ///
    /// On an [`External`] lent a `postgres::Transaction` there is no client
    /// to give: that is an [`Error::Usage`] (use
    /// [`batch_execute`](PgConnection::batch_execute) or
    /// [`query`](PgConnection::query), which run on every connection).
    pub fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> R) -> Result<R> {
        match self.client_mut()?.get() {
            ClientRef::Client(client) => Ok(f(client)),
            ClientRef::Transaction(_) => Err(Error::Usage(
                "this PostgreSQL connection is the caller's own `postgres::Transaction` \
                 (External::in_transaction), which has no `Client` to lend: use \
                 `PgConnection::batch_execute` or `PgConnection::query`"
                    .into(),
            )),
        }
    }

    /// Runs one or more SQL statements without parameters on this
    /// connection (inside its open transaction, if any), past the
    /// statement cache.
    pub fn batch_execute(&self, sql: &str) -> Result<()> {
        let result = on_client!(self.client_mut()?, c => c.batch_execute(sql));
        self.note(result.map_err(|e| pg_error(e, None, sql)))
    }

    /// Runs `sql` with `params` on this connection (inside its open
    /// transaction, if any), past the statement cache, and returns its rows.
    pub fn query(
        &self,
        sql: &str,
        params: &[&(dyn ::postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        let result = on_client!(self.client_mut()?, c => c.query(sql, params));
        self.note(result.map_err(|e| pg_error(e, None, sql)))
    }

    /// Whether a statement run by the crate failed on the server inside the
    /// open transaction: PostgreSQL aborts the whole transaction then (unlike
    /// SQLite, where only the statement fails), and every later statement
    /// fails with SQLSTATE `25P02` until the transaction, or the savepoint
    /// the failure happened in, is rolled back. The crate's own transactions
    /// do that when their closure returns; a committing closure that
    /// swallowed the error gets an `Error::Postgres` with code `25P02` from
    /// the commit, and nothing is committed.
    pub fn transaction_aborted(&self) -> bool {
        self.aborted.get()
    }

    /// Notes a failed statement: a server error inside a transaction aborts it.
    fn note<R>(&self, result: Result<R>) -> Result<R> {
        if let Err(e) = &result
            && self.depth.get() > 0
            && server_error(e)
        {
            self.aborted.set(true);
        }
        result
    }

    /// Whether the connection to the server is gone.
    pub fn is_closed(&self) -> bool {
        self.client
            .try_borrow_mut()
            .is_ok_and(|mut c| c.is_closed())
    }

    fn client_mut(&self) -> Result<RefMut<'_, Session>> {
        self.client.try_borrow_mut().map_err(|_| {
            Error::Usage(
                "this PostgreSQL connection is busy streaming rows (a query inside a \
                 `for_each` or `chunks` callback on the same connection): collect the rows \
                 first, or use another connection"
                    .into(),
            )
        })
    }
}

/// A statement being bound: the client, the prepared statement and the values.
///
/// Each value is encoded once, at bind, for its parameter's type (which is
/// also the check that it fits), into one buffer; the statement then sends
/// those bytes as they are: no owned copy of borrowed text, no second encoding.
pub struct PgBinder<'s> {
    conn: &'s PgConnection,
    client: RefMut<'s, Session>,
    stmt: Statement,
    /// The encoded values, parameter after parameter.
    encoded: BytesMut,
    /// Parameter `i`'s bytes in `encoded` (`None`: NULL, or not bound).
    slots: Vec<Option<(usize, usize)>>,
    /// The values themselves, kept when `keep_values` (a replace reads them
    /// back to cut at repeated keys, then binds them to another statement);
    /// when not empty, they are what the statement sends.
    params: Vec<Value>,
    keep_values: bool,
    /// Whether the statement ran since the buffer was last compacted.
    ran: bool,
    /// Added to every parameter number bound: a multi-row insert binds row
    /// `k` (numbered from 1 by the derive) at `k * columns`.
    offset: usize,
    /// The parameter dropped (an absent identity key the statement leaves
    /// out), later ones numbered one lower; 0: none.
    skip: usize,
}

impl std::fmt::Debug for PgBinder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBinder")
            .field("params", &self.params.len())
            .finish_non_exhaustive()
    }
}

/// Keeps only the bytes of the values bound now (`slots`), in a fresh buffer.
fn compact(encoded: &mut BytesMut, slots: &mut [Option<(usize, usize)>]) {
    let mut fresh = BytesMut::new();
    for slot in slots.iter_mut().flatten() {
        let start = fresh.len();
        if let Some(bytes) = encoded.get(slot.0..slot.1) {
            fresh.extend_from_slice(bytes);
        }
        *slot = (start, fresh.len());
    }
    *encoded = fresh;
}

/// How [`PgBinder::run`] reads the statement's result.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Row by row as the server sends them (`query_raw`): memory stays flat,
    /// one wait on the connection per row.
    Stream,
    /// The whole result in one wait (`query`), then row by row from memory.
    Collect,
    /// No rows are read: only how many the statement changed (`execute`).
    Count,
}

/// The most parameters passed from the stack (beyond, the slice the driver
/// takes is allocated).
const INLINE_PARAMS: usize = 16;

/// Runs `f` with the bound values as the driver's parameter slice: the
/// values kept (`params`, when not empty), else the bytes encoded at bind.
fn with_params<R>(
    encoded: &BytesMut,
    slots: &[Option<(usize, usize)>],
    params: &[Value],
    f: impl FnOnce(&[&(dyn ::postgres::types::ToSql + Sync)]) -> R,
) -> R {
    type Dyn<'p> = &'p (dyn ::postgres::types::ToSql + Sync);
    if !params.is_empty() {
        let values: Vec<Param<'_>> = params.iter().map(|v| Param::new(v.as_ref())).collect();
        let refs: Vec<Dyn<'_>> = values.iter().map(|v| v as Dyn<'_>).collect();
        return f(&refs);
    }
    let bytes = slots
        .iter()
        .map(|slot| Encoded(slot.and_then(|(start, end)| encoded.get(start..end))));
    if slots.len() <= INLINE_PARAMS {
        let mut values = [Encoded(None); INLINE_PARAMS];
        for (value, b) in values.iter_mut().zip(bytes) {
            *value = b;
        }
        let refs = values.each_ref().map(|v| v as Dyn<'_>);
        f(refs.get(..slots.len()).unwrap_or_default())
    } else {
        let values: Vec<Encoded<'_>> = bytes.collect();
        let refs: Vec<Dyn<'_>> = values.iter().map(|v| v as Dyn<'_>).collect();
        f(&refs)
    }
}

impl PgBinder<'_> {
    /// Runs the statement, reading its result as `read` says and calling
    /// `each` per row until it returns `false`; the number of rows the
    /// statement changed (or returned).
    fn run(
        &mut self,
        table: Option<&str>,
        sql: &str,
        read: Read,
        mut each: impl FnMut(&Row, usize) -> Result<bool>,
    ) -> Result<usize> {
        use ::postgres::fallible_iterator::FallibleIterator;
        self.ran = true;
        let (stmt, encoded, slots, params) =
            (&self.stmt, &self.encoded, &*self.slots, &*self.params);
        let client = &mut self.client;
        let result = (|| -> std::result::Result<Result<usize>, ::postgres::Error> {
            match read {
                // A large statement (a multi-row insert) streams its values to
                // the driver instead of building a slice of thousands of them.
                Read::Count if slots.len() <= INLINE_PARAMS && params.is_empty() => with_params(
                    encoded,
                    slots,
                    params,
                    |p| on_client!(client, c => c.execute(stmt, p)),
                )
                .map(|n| Ok(usize::try_from(n).unwrap_or(usize::MAX))),
                Read::Collect => {
                    let rows = with_params(
                        encoded,
                        slots,
                        params,
                        |p| on_client!(client, c => c.query(stmt, p)),
                    )?;
                    let total = rows.len();
                    for (seen, row) in rows.iter().enumerate() {
                        match each(row, total) {
                            Ok(true) => {}
                            Ok(false) => return Ok(Ok(seen + 1)),
                            Err(e) => return Ok(Err(e)),
                        }
                    }
                    Ok(Ok(rows.len()))
                }
                Read::Stream | Read::Count => {
                    let values = params.iter().map(|v| Param::new(v.as_ref()));
                    let bytes = slots
                        .iter()
                        .map(|slot| Encoded(slot.and_then(|(start, end)| encoded.get(start..end))));
                    let mut rows = if params.is_empty() {
                        on_client!(client, c => c.query_raw(stmt, bytes))?
                    } else {
                        on_client!(client, c => c.query_raw(stmt, values))?
                    };
                    let mut seen = 0usize;
                    while let Some(row) = rows.next()? {
                        seen += 1;
                        match each(&row, 0) {
                            Ok(true) => {}
                            Ok(false) => return Ok(Ok(seen)),
                            Err(e) => return Ok(Err(e)),
                        }
                    }
                    let changed = rows.rows_affected().map_or(seen, |n| n as usize);
                    Ok(Ok(changed))
                }
            }
        })();
        match result {
            Ok(inner) => inner,
            Err(e) => {
                if e.code() == Some(&::postgres::error::SqlState::FEATURE_NOT_SUPPORTED) {
                    // A cached plan the schema changed under: prepare afresh next time.
                    self.conn.cache.borrow_mut().remove(sql);
                }
                self.conn.note(Err(pg_error(e, table, sql)))
            }
        }
    }
}

impl Backend for Postgres {
    type Connection = PgConnection;
    type Binder<'s> = PgBinder<'s>;
    type Row<'r> = Row;
    type Dialect = PgDialect;
    const SLOT: usize = 1;
    /// A value the parameter's type cannot take (NUL in text, an integer out
    /// of an `integer`'s range) is refused at bind.
    const BIND_CAN_REFUSE: bool = true;

    fn bind(
        binder: &mut PgBinder<'_>,
        index: usize,
        value: ToValue<'_>,
        table: &str,
    ) -> Result<()> {
        let index = match binder.skip {
            0 => index + binder.offset,
            skip if index == skip => return Ok(()),
            skip if index > skip => index - 1 + binder.offset,
            _ => index + binder.offset,
        };
        let Some(ty) = index
            .checked_sub(1)
            .and_then(|i| binder.stmt.params().get(i))
        else {
            return Err(Error::Usage(format!(
                "table `{table}`: parameter {index} is beyond the statement's {} parameter(s)",
                binder.stmt.params().len()
            )));
        };
        // Once per run at most (never while one statement's values are
        // being bound, which may rightly be larger).
        if binder.ran && binder.encoded.len() > COMPACT_AT {
            binder.ran = false;
            compact(&mut binder.encoded, &mut binder.slots);
        }
        let start = binder.encoded.len();
        let encoded = match codec::encode(value.as_ref(), ty, &mut binder.encoded) {
            Ok(IsNull::No) => Some((start, binder.encoded.len())),
            Ok(IsNull::Yes) => None,
            Err(detail) => {
                binder.encoded.truncate(start);
                let at = format!("(parameter {index})");
                return Err(Error::conversion(table, &at, detail));
            }
        };
        if binder.slots.len() < index {
            binder.slots.resize(index, None);
        }
        if let Some(slot) = binder.slots.get_mut(index - 1) {
            *slot = encoded;
        }
        if binder.keep_values {
            if binder.params.len() < index {
                binder.params.resize(index, Value::Null);
            }
            if let Some(slot) = binder.params.get_mut(index - 1) {
                *slot = value.into_owned();
            }
        }
        Ok(())
    }

    #[cold]
    fn column_name(row: &Row, index: usize) -> Option<String> {
        row.columns().get(index).map(|c| c.name().to_owned())
    }

    // Inline: the derive's `__read` calls it once per column, and inlined
    // there the dispatch on the column's type meets the field's conversion.
    #[inline]
    fn value_at<'r>(row: &'r Row, index: usize, table: &str) -> Result<ValueRef<'r>> {
        match row.try_get::<_, RawValue<'r>>(index) {
            Ok(v) => Ok(v.0),
            Err(e) => Err(value_error(row, index, table, e)),
        }
    }

    fn with_statement<R>(
        conn: &PgConnection,
        table: Option<&str>,
        sql: &str,
        f: impl FnOnce(&mut PgBinder<'_>) -> Result<R>,
    ) -> Result<R> {
        if conn.aborted.get() {
            return Err(aborted_error(table, sql));
        }
        let mut client = conn.client_mut()?;
        let cached = conn.cache.borrow().get(sql).cloned();
        let stmt = match cached {
            Some(stmt) => stmt,
            None => {
                let stmt = on_client!(client, c => c.prepare(sql))
                    .map_err(|e| pg_error(e, table, sql))
                    .or_else(|e| conn.note(Err(e)))?;
                conn.cache.borrow_mut().insert(sql.to_owned(), stmt.clone());
                stmt
            }
        };
        let (mut encoded, mut slots) = conn.spare.take();
        encoded.clear();
        slots.clear();
        slots.reserve(stmt.params().len());
        let mut binder = PgBinder {
            conn,
            client,
            stmt,
            encoded,
            slots,
            params: Vec::new(),
            keep_values: false,
            ran: false,
            offset: 0,
            skip: 0,
        };
        let result = f(&mut binder);
        // Kept for the next statement unless a large one (a multi-row insert) grew them.
        if binder.encoded.capacity() <= COMPACT_AT {
            conn.spare.set((binder.encoded, binder.slots));
        }
        result
    }

    fn parameter_count(binder: &PgBinder<'_>) -> usize {
        binder.stmt.params().len()
    }

    fn execute(binder: &mut PgBinder<'_>, table: Option<&str>, sql: &str) -> Result<usize> {
        if binder.stmt.columns().is_empty() {
            // No key is read back (a table without one integer key): no
            // earlier insert's key may stand in for this one's.
            binder.conn.last_id.set(0);
            return binder.run(table, sql, Read::Count, |_, _| Ok(true));
        }
        // `INSERT ... RETURNING "key"`: keep the assigned key.
        let mut key = 0;
        let mut first = true;
        let changed = binder.run(table, sql, Read::Collect, |row, _| {
            if std::mem::take(&mut first)
                && let Ok(RawValue(ValueRef::Integer(k))) = row.try_get::<_, RawValue<'_>>(0)
            {
                key = k;
            }
            Ok(true)
        })?;
        binder.conn.last_id.set(key);
        Ok(changed)
    }

    fn each_row(
        binder: &mut PgBinder<'_>,
        table: Option<&str>,
        sql: &str,
        mut each: impl FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        binder
            .run(table, sql, Read::Stream, |row, _| each(row))
            .map(|_| ())
    }

    /// The whole result in one wait on the connection (the driver's
    /// `query`), then each row from memory: one `block_on` per statement
    /// instead of one per row.
    fn all_rows(
        binder: &mut PgBinder<'_>,
        table: Option<&str>,
        sql: &str,
        each: impl FnMut(&Row, usize) -> Result<bool>,
    ) -> Result<()> {
        binder.run(table, sql, Read::Collect, each).map(|_| ())
    }

    fn execute_batch(conn: &PgConnection, table: Option<&str>, sql: &str) -> Result<()> {
        let rolls_back = matches!(sql, PgDialect::ROLLBACK | PgDialect::ROLLBACK_TO);
        if conn.aborted.get() && !rolls_back {
            // PostgreSQL would run a COMMIT of an aborted transaction as a
            // ROLLBACK and report success: say so instead (the caller's
            // rollback guard then rolls back), and name the cause for the rest.
            return Err(aborted_error(table, sql));
        }
        let mut client = conn.client_mut()?;
        let result = on_client!(client, c => c.batch_execute(sql));
        // The depth of the transactions the crate opened: COMMIT and ROLLBACK
        // end the transaction on the server even when they fail.
        match sql {
            PgDialect::BEGIN_WRITE | PgDialect::SAVEPOINT if result.is_ok() => {
                conn.depth.set(conn.depth.get() + 1)
            }
            PgDialect::COMMIT | PgDialect::ROLLBACK => {
                conn.depth.set(0);
                conn.aborted.set(false);
            }
            PgDialect::RELEASE | PgDialect::ROLLBACK_TO if result.is_ok() => {
                conn.depth.set(conn.depth.get().saturating_sub(1));
                // Rolling back to the innermost savepoint undoes the failure in it.
                if rolls_back {
                    conn.aborted.set(false);
                }
            }
            _ => {}
        }
        drop(client);
        conn.note(result.map_err(|e| pg_error(e, table, sql)))
    }

    fn last_insert_id(conn: &PgConnection) -> i64 {
        conn.last_id.get()
    }

    fn is_autocommit(conn: &PgConnection) -> bool {
        conn.depth.get() == 0
    }

    /// PostgreSQL aborts the transaction after an error, but a savepoint the
    /// crate rolls back to makes it usable again, so the error does not end
    /// it here; a statement run while it is aborted fails with the server's
    /// own 25P02 error, which names the cause.
    fn ended_by_error(_conn: &PgConnection, _error: &crate::Error) -> bool {
        false
    }

    fn reflect(conn: &PgConnection, table: &str) -> Result<Option<TableSchema>> {
        conn.note(on_client!(conn.client_mut()?, c => reflect::reflect(c, table)))
    }

    /// PostgreSQL keeps a check only as its parse tree: the declared checks
    /// are parsed on a throwaway temporary table (rolled back), and each
    /// stored check whose text the server prints the same is given the
    /// declared text.
    fn canonical_checks(
        conn: &PgConnection,
        meta: &TableMeta,
        schema: &mut TableSchema,
    ) -> Result<()> {
        let outside = conn.depth.get() == 0;
        let result = on_client!(conn.client_mut()?, c => {
            reflect::canonical_checks(c, meta, schema, outside)
        });
        conn.note(result)
    }

    fn list_tables(conn: &PgConnection) -> Result<Vec<String>> {
        conn.note(on_client!(conn.client_mut()?, c => reflect::list(c)))
    }

    fn index_owner(conn: &PgConnection, table: &str, index: &str) -> Result<Option<String>> {
        conn.note(on_client!(conn.client_mut()?, c => reflect::index_owner(c, table, index)))
    }

    /// A transaction-scoped advisory lock keyed on the schema and the table's
    /// name: `BEGIN` alone takes no lock, so two sessions migrating one table
    /// at once would both see a column missing and both add it (the second
    /// failing with 42701). The second now waits, then finds nothing to do.
    fn lock_table_schema(conn: &PgConnection, table: &str) -> Result<()> {
        const SQL: &str = "SELECT pg_advisory_xact_lock(hashtextextended(\
                           coalesce(current_schema(), '') || '.' || $1, 0))";
        let result = on_client!(conn.client_mut()?, c => c.execute(SQL, &[&table]))
            .map(drop)
            .map_err(|e| pg_error(e, Some(table), SQL));
        conn.note(result)
    }

    /// PostgreSQL changes tables in place with `ALTER TABLE`; the crate's
    /// rebuild (copy into a new table, swap) is SQLite's way and is not done here.
    const BULK_INSERT: bool = true;

    /// Multi-row `INSERT ... VALUES (..), (..)` statements, each within
    /// PostgreSQL's 65,535 parameters: full chunks of one cached statement
    /// and at most one shorter remainder, all in one transaction. A replace
    /// is cut where a key repeats (see `replace_rows`).
    fn insert_rows<'r, T: crate::record::Record + 'r>(
        conn: &PgConnection,
        rows: impl IntoIterator<Item = &'r T>,
        conflict: Conflict,
    ) -> Result<usize> {
        let meta = T::__META;
        let columns = meta.columns.len();
        if columns == 0 {
            return crate::rows::insert_each::<Self, T>(conn, rows, conflict);
        }
        let per_chunk = (MAX_PARAMETERS / columns).clamp(1, MAX_ROWS_PER_INSERT);
        if conflict == Conflict::Replace {
            let rows: Vec<&T> = rows.into_iter().collect();
            return replace_rows(conn, &rows, per_chunk);
        }
        crate::rows::insert_chunked::<Self, T>(conn, rows, conflict, per_chunk, 0)
    }

    fn set_bind_offset(binder: &mut PgBinder<'_>, offset: usize) {
        binder.offset = offset;
    }

    fn set_bind_skip(binder: &mut PgBinder<'_>, skipped: usize) {
        binder.skip = skipped;
    }

    fn rebuild_table(
        _conn: &PgConnection,
        meta: &'static TableMeta,
        _check: RowCheck<Self>,
    ) -> Result<RebuildReport> {
        Err(Error::Usage(format!(
            "table `{}`: rebuild_table is SQLite's copy-and-swap rebuild and is not available on \
             PostgreSQL, which changes a table in place: use ALTER TABLE (ALTER COLUMN ... TYPE, \
             SET/DROP NOT NULL, SET/DROP DEFAULT, ADD/DROP CONSTRAINT) through \
             `PgConnection::with_client`; create_table already adds new nullable or defaulted \
             columns and indexes",
            meta.name
        )))
    }
}

/// The error for column `index` of `row` that did not read as a value.
#[cold]
fn value_error(row: &Row, index: usize, table: &str, e: postgres::Error) -> Error {
    let column = row
        .columns()
        .get(index)
        .map_or_else(|| format!("(column {index})"), |c| c.name().to_owned());
    Error::conversion(table, &column, e)
}

/// PostgreSQL's spelling of SQL.
#[derive(Debug, Clone, Copy)]
pub enum PgDialect {}

impl Dialect for PgDialect {
    const INSERT_RETURNS_KEY: bool = true;

    #[inline]
    fn push_placeholder(out: &mut String, n: usize) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(out, "${n}");
    }

    /// An identity key bound as NULL (a new row's `None`) takes the next value
    /// of its sequence, `COALESCE($n, nextval(..))`: PostgreSQL stores an
    /// explicit NULL as given, where SQLite assigns a rowid.
    fn push_row_value(out: &mut String, meta: &TableMeta, index: usize, n: usize) {
        push_value(out, meta, index, n);
    }

    /// `ON CONFLICT DO NOTHING`, or for a replace `ON CONFLICT ("key") DO
    /// UPDATE SET` every other column `= excluded.` itself: the conflicting
    /// row is updated in place (SQLite's `INSERT OR REPLACE` deletes it and
    /// inserts, which fires delete actions of foreign keys). The conflict
    /// target is the primary key, else the first unique column; a conflict on
    /// another unique column is an error.
    fn push_insert_suffix(out: &mut String, meta: &TableMeta, conflict: Conflict) {
        match conflict {
            Conflict::Fail => {}
            Conflict::Ignore => out.push_str(" ON CONFLICT DO NOTHING"),
            Conflict::Replace => {
                // The primary key (every column of a composite key), else
                // the first unique column.
                let mut target: Vec<&ColumnMeta> = meta.key_columns().collect();
                if target.is_empty() {
                    target.extend(meta.columns.iter().find(|c| c.unique));
                }
                if target.is_empty() {
                    return;
                }
                out.push_str(" ON CONFLICT (");
                crate::dialect::push_ident_list(out, target.iter().map(|c| c.name));
                out.push_str(") DO UPDATE SET ");
                let mut first = true;
                for column in meta
                    .columns
                    .iter()
                    .filter(|c| !target.iter().any(|t| t.name == c.name))
                {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    push_ident(out, column.name);
                    out.push_str(" = excluded.");
                    push_ident(out, column.name);
                }
                if first && let Some(key) = target.first() {
                    // Only the key: "update" it to itself, so the row counts as written.
                    push_ident(out, key.name);
                    out.push_str(" = excluded.");
                    push_ident(out, key.name);
                }
            }
        }
    }

    /// ` LIMIT n OFFSET m` as far as each is given. PostgreSQL reads both as
    /// `bigint`: a limit beyond `i64::MAX` is no limit (`LIMIT ALL`), an
    /// offset beyond it is `i64::MAX` (no table holds more rows).
    fn push_limit_offset(out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        use std::fmt::Write;
        match limit.map(i64::try_from) {
            Some(Ok(limit)) => {
                let _ = write!(out, " LIMIT {limit}");
            }
            Some(Err(_)) => out.push_str(" LIMIT ALL"),
            None => {}
        }
        if let Some(offset) = offset {
            let _ = write!(out, " OFFSET {}", i64::try_from(offset).unwrap_or(i64::MAX));
        }
    }

    fn type_name(ty: SqlType) -> &'static str {
        match ty {
            SqlType::Integer => "BIGINT",
            SqlType::Real => "DOUBLE PRECISION",
            SqlType::Bool => "BOOLEAN",
            SqlType::Text => "TEXT",
            SqlType::Blob => "BYTEA",
            SqlType::Json => "JSONB",
            SqlType::Timestamp => "TIMESTAMPTZ",
            SqlType::DateTime => "TIMESTAMP",
            SqlType::Date => "DATE",
            SqlType::Uuid => "UUID",
        }
    }

    /// `BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY` for an integer key.
    fn push_type_and_key(out: &mut String, column: &ColumnMeta) {
        out.push_str(Self::type_name(column.sql_type));
        if column.primary_key {
            if identity_key(column) {
                out.push_str(" GENERATED BY DEFAULT AS IDENTITY");
            }
            out.push_str(" PRIMARY KEY");
        }
    }

    /// Compared by the type names the catalog reports (`bigint`, `double
    /// precision`, ...), with the integer and text families accepted.
    fn same_type(declared: &str, ty: SqlType) -> bool {
        let declared = declared.trim().to_ascii_lowercase();
        match ty {
            SqlType::Integer => matches!(declared.as_str(), "bigint" | "integer" | "smallint"),
            SqlType::Real => matches!(declared.as_str(), "double precision" | "real"),
            SqlType::Bool => declared == "boolean",
            SqlType::Text => {
                declared == "text"
                    || declared.starts_with("character varying")
                    || declared.starts_with("character")
            }
            SqlType::Blob => declared == "bytea",
            SqlType::Json => declared == "jsonb" || declared == "json",
            SqlType::Timestamp => matches!(
                declared.as_str(),
                "timestamp with time zone" | "timestamptz"
            ),
            SqlType::DateTime => matches!(
                declared.as_str(),
                "timestamp without time zone" | "timestamp"
            ),
            SqlType::Date => declared == "date",
            SqlType::Uuid => declared == "uuid",
        }
    }
}

/// `insert_many_or_replace`: multi-row `INSERT .. ON CONFLICT (key) DO
/// UPDATE` statements, in one transaction, meaning what the per-row path
/// means. One such statement cannot touch a row twice ("ON CONFLICT DO
/// UPDATE command cannot affect row a second time"), so a chunk is cut
/// before a row whose conflict key (the primary key, else the first unique
/// column) is already in it: the statements then run in row order, and a
/// later row with a key wins, as row by row. (A unique index is checked row
/// by row inside a statement too, so another unique column's conflict fails
/// the same way.)
///
/// Each chunk's rows are bound first through the single-row replace
/// statement (cached, what type-checks each value for its column), the
/// values kept; each piece then runs on the statement for its size: a full
/// chunk, or a shorter piece as powers of two (512, 256, ...), so at most a
/// dozen statements per table are ever prepared and cached, whatever the
/// cuts.
fn replace_rows<T: crate::record::Record>(
    conn: &PgConnection,
    rows: &[&T],
    per_chunk: usize,
) -> Result<usize> {
    let meta = T::__META;
    let columns = meta.columns.len();
    let table = Some(meta.name);
    // The conflict target of `push_insert_suffix`: every column of the
    // primary key, else the first unique column.
    let mut target: Vec<usize> = meta
        .primary_key
        .iter()
        .copied()
        .filter(|&k| k < columns)
        .collect();
    if target.is_empty() {
        target.extend(meta.columns.iter().position(|c| c.unique));
    }
    let single = T::__sql().insert::<Postgres>(meta, crate::statements::InsertKind::OrReplace);
    let write = crate::stamp::Write::insert(meta);
    let mut statements: HashMap<usize, String> = HashMap::new();
    crate::conn::atomically::<Postgres, _>(conn, table, |c| {
        let mut total = 0;
        for chunk in rows.chunks(per_chunk) {
            // Every value of the chunk, row after row, bound and checked.
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * columns);
            crate::exec::Stmt::write(meta, single).bind_only::<Postgres>(c, |s| {
                s.keep_values = true;
                for row in chunk {
                    row.__bind::<Postgres>(s, write)?;
                    // One value per column, in column order (a column the
                    // row did not bind is NULL, as in its own statement).
                    s.params.resize(columns, Value::Null);
                    values.append(&mut s.params);
                }
                Ok(())
            })?;
            // Cut before a repeated key (NULL never conflicts).
            let mut pieces: Vec<usize> = Vec::new();
            let mut seen: std::collections::HashSet<Vec<KeyOf<'_>>> =
                std::collections::HashSet::new();
            let mut start = 0;
            for k in 0..chunk.len() {
                // The row's key, every part of it (none if a part is NULL).
                let key: Option<Vec<KeyOf<'_>>> = if target.is_empty() {
                    None
                } else {
                    target
                        .iter()
                        .map(|&t| values.get(k * columns + t).and_then(KeyOf::of))
                        .collect()
                };
                if let Some(key) = key {
                    if seen.contains(&key) {
                        pieces.push(k - start);
                        start = k;
                        seen.clear();
                    }
                    seen.insert(key);
                }
            }
            pieces.push(chunk.len() - start);
            drop(seen);
            let mut values = values.into_iter();
            for piece in pieces {
                for size in piece_sizes(piece, per_chunk) {
                    let sql = statements.entry(size).or_insert_with(|| {
                        crate::statements::multi_row_insert::<Postgres>(
                            meta,
                            Conflict::Replace,
                            size,
                        )
                    });
                    let bound: Vec<Value> = values.by_ref().take(size * columns).collect();
                    total += crate::exec::Stmt::write(meta, sql)
                        .execute::<Postgres>(c, |s| {
                            s.params = bound;
                            Ok(())
                        })
                        .map_err(|e| crate::rows::shorten_sql(e, size))?;
                }
            }
        }
        Ok(total)
    })
}

/// The statement sizes a piece of `rows` rows runs as: one full chunk, or
/// else its binary digits, largest first (1000 is 512 + 256 + 128 + 64 + 32 + 8).
fn piece_sizes(rows: usize, per_chunk: usize) -> impl Iterator<Item = usize> {
    let full = (rows == per_chunk).then_some(rows);
    let bits = if full.is_some() { 0 } else { rows };
    full.into_iter().chain(
        (0..usize::BITS)
            .rev()
            .map(|b| 1usize << b)
            .filter(move |size| bits & size != 0),
    )
}

/// A conflict key's value, compared as PostgreSQL's equality on the key's
/// type does (integers by value, text and bytes by their bytes).
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
enum KeyOf<'v> {
    Integer(i64),
    Bool(bool),
    Bytes(&'v [u8]),
    Real(u64),
}

impl<'v> KeyOf<'v> {
    fn of(value: &'v Value) -> Option<Self> {
        Some(match value.as_ref() {
            ValueRef::Null => return None,
            ValueRef::Integer(i) => KeyOf::Integer(i),
            ValueRef::Bool(b) => KeyOf::Bool(b),
            ValueRef::Text(t) | ValueRef::Blob(t) => KeyOf::Bytes(t),
            // 0.0 and -0.0 are one key to PostgreSQL.
            ValueRef::Real(f) => KeyOf::Real(if f == 0.0 { 0 } else { f.to_bits() }),
        })
    }
}

/// The value of column `index` in an insert as parameter `n`: an identity
/// key bound as NULL (a new row's `None`) takes the next value of its
/// sequence, as PostgreSQL stores an explicit NULL as given.
fn push_value(out: &mut String, meta: &TableMeta, index: usize, n: usize) {
    match meta.columns.get(index) {
        Some(column) if identity_key(column) => {
            out.push_str("COALESCE(");
            PgDialect::push_placeholder(out, n);
            out.push_str(", nextval(pg_get_serial_sequence(");
            let mut table = String::new();
            push_ident(&mut table, meta.name);
            push_literal(out, &table);
            out.push_str(", ");
            push_literal(out, column.name);
            out.push_str(")))");
        }
        _ => PgDialect::push_placeholder(out, n),
    }
}

/// The most parameters one PostgreSQL statement takes (the wire protocol
/// counts them in 16 bits).
const MAX_PARAMETERS: usize = 65_535;

/// The most rows one multi-row insert writes.
const MAX_ROWS_PER_INSERT: usize = 1_000;

/// Whether the column is an integer primary key, made an identity column.
fn identity_key(column: &ColumnMeta) -> bool {
    column.primary_key && column.sql_type == SqlType::Integer
}

/// Appends `text` as an SQL string literal.
fn push_literal(out: &mut String, text: &str) {
    out.push('\'');
    out.push_str(&text.replace('\'', "''"));
    out.push('\'');
}

/// How many times `transaction_retry` runs its closure at most.
pub const RETRY_ATTEMPTS: u32 = 8;

/// Runs `f` in a transaction on `conn`, again on a serialization failure or
/// deadlock, pausing 5 ms, 10 ms, 20 ms, ... (at most 1 s, with jitter) between attempts.
fn retry<C: crate::Conn<Backend = Postgres>, R>(
    conn: &C,
    mut f: impl FnMut(&crate::Tx<'_, Postgres>) -> Result<R>,
) -> Result<R> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match conn.atomic(&mut f) {
            Err(Error::Serialization { .. }) if attempt < RETRY_ATTEMPTS => {
                let base = 5u64 << attempt.min(8);
                let jitter = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::from(d.subsec_nanos()) % (base / 2 + 1));
                std::thread::sleep(std::time::Duration::from_millis((base + jitter).min(1000)));
            }
            other => return other,
        }
    }
}

/// The SQLSTATE the crate gives a connection that failed or was lost.
pub(crate) const CONNECTION_LOST: &str = "08006";
/// The SQLSTATE the crate gives a connection that could not be made.
pub(crate) const CANNOT_CONNECT: &str = "08001";

/// A `postgres::Error` as the crate's: constraint violations and
/// serialization failures sorted out, the SQLSTATE and the SQL kept.
pub(crate) fn pg_error(e: ::postgres::Error, table: Option<&str>, sql: &str) -> Error {
    let db = e.as_db_error();
    let code = match e.code() {
        Some(code) => code.code().to_owned(),
        None if e.is_closed() => CONNECTION_LOST.to_owned(),
        // An I/O error on the socket: the connection is gone too.
        None if std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) => {
            CONNECTION_LOST.to_owned()
        }
        None => String::new(),
    };
    let message = match db {
        Some(_) if code == IN_FAILED_TRANSACTION => ABORTED.to_owned(),
        Some(db) => db.message().to_owned(),
        None if code == CONNECTION_LOST => {
            format!("the connection to the server was lost: {}", with_causes(&e))
        }
        None => with_causes(&e),
    };
    let kind = match code.as_str() {
        "23505"
            if db
                .and_then(|d| d.constraint())
                .is_some_and(|c| c.ends_with("_pkey")) =>
        {
            Some(ConstraintKind::PrimaryKey)
        }
        "23505" => Some(ConstraintKind::Unique),
        "23502" => Some(ConstraintKind::NotNull),
        "23503" => Some(ConstraintKind::ForeignKey),
        "23514" => Some(ConstraintKind::Check),
        c if c.starts_with("23") => Some(ConstraintKind::Other),
        _ => None,
    };
    // The server's DETAIL says which row or value failed ("Key (corpus_id)=(42)
    // is not present in table \"corpus\"."): kept with a constraint's message.
    let message = match (kind, db.and_then(|d| d.detail())) {
        (Some(_), Some(detail)) => format!("{message} ({detail})"),
        _ => message,
    };
    let db_table = db.and_then(|d| d.table()).map(str::to_owned);
    let table = table.map(str::to_owned).or(db_table);
    let sql = sql.to_owned();
    let source: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    if let Some(kind) = kind {
        return Error::Constraint {
            table: table.unwrap_or_default(),
            kind,
            message,
            sql,
            source,
        };
    }
    if code == "40001" || code == "40P01" {
        return Error::Serialization {
            table,
            sql,
            code,
            message,
            source,
        };
    }
    Error::Postgres {
        table,
        sql,
        code,
        message,
        source,
    }
}

/// Whether `e` came from the server about a statement (which aborts an open
/// transaction), not from the client or a lost connection.
fn server_error(e: &Error) -> bool {
    match e {
        Error::Constraint { .. } | Error::Serialization { .. } => true,
        Error::Postgres { code, .. } => !code.is_empty() && !code.starts_with("08"),
        _ => false,
    }
}

/// What a transaction aborted by an earlier failed statement says.
const ABORTED: &str = "the transaction was aborted by an earlier error in it: PostgreSQL runs \
                       no more statements in it and commits nothing until it is rolled back \
                       (SQLite would go on); run a statement that may fail inside \
                       `tx.transaction(..)` (a savepoint) to go on after its failure";

/// The error for `sql` on a transaction already aborted (SQLSTATE 25P02).
fn aborted_error(table: Option<&str>, sql: &str) -> Error {
    Error::Postgres {
        table: table.map(str::to_owned),
        sql: sql.to_owned(),
        code: IN_FAILED_TRANSACTION.to_owned(),
        message: ABORTED.to_owned(),
        source: ABORTED.into(),
    }
}

/// SQLSTATE `in_failed_sql_transaction`.
const IN_FAILED_TRANSACTION: &str = "25P02";

/// A failed connect, naming the server (host and port, never the password)
/// and the cause: the server's refusal (a wrong password is SQLSTATE 28P01, a
/// server still starting up 57P03) or the socket's error under the client
/// library's ("error connecting to server: Connection refused").
pub(crate) fn connect_error(e: ::postgres::Error, described: &str) -> Error {
    let code = e
        .code()
        .map_or_else(|| CANNOT_CONNECT.to_owned(), |c| c.code().to_owned());
    let cause = match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => with_causes(&e),
    };
    let server = if described.contains("port=") {
        described.to_owned()
    } else {
        format!("{described} port=5432")
    };
    Error::Postgres {
        table: None,
        sql: format!("(connecting to {described})"),
        code,
        message: format!("cannot connect to {server}: {cause}"),
        source: Box::new(e),
    }
}

/// `e`'s text followed by each cause's in its source chain (`error
/// communicating with the server: Connection reset by peer`), a cause whose
/// text is already there left out.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let more = cause.to_string();
        if !more.is_empty() && !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = cause.source();
    }
    text
}

/// Parses connection parameters (`host=.. user=..` or a `postgres://` URL)
/// and describes them without the password, for messages and `Debug`.
pub(crate) fn parse_params(params: &str) -> Result<(Config, String)> {
    let config: Config = params
        .parse()
        .map_err(|e: ::postgres::Error| Error::Postgres {
            table: None,
            sql: format!("(parsing the connection parameters {})", redact(params)),
            code: CANNOT_CONNECT.to_owned(),
            message: e.to_string(),
            source: Box::new(e),
        })?;
    let described = describe(&config);
    Ok((config, described))
}

/// `host=.. port=.. user=.. dbname=..` of `config`: never its password.
fn describe(config: &Config) -> String {
    use ::postgres::config::Host;
    let mut parts = Vec::new();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if !hosts.is_empty() {
        parts.push(format!("host={}", hosts.join(",")));
    }
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    if !ports.is_empty() {
        parts.push(format!("port={}", ports.join(",")));
    }
    if let Some(user) = config.get_user() {
        parts.push(format!("user={user}"));
    }
    if let Some(db) = config.get_dbname() {
        parts.push(format!("dbname={db}"));
    }
    if config.get_password().is_some() {
        parts.push("password=<redacted>".to_owned());
    }
    parts.join(" ")
}

/// `params` with any password replaced, for a string that did not parse:
/// the `password=` value of key=value text and the `user:password@` of a URL.
pub(crate) fn redact(params: &str) -> String {
    let mut out = params.to_owned();
    if let Some(scheme) = out.find("://") {
        let start = scheme + 3;
        let end = out
            .get(start..)
            .and_then(|rest| rest.find(['/', '?']))
            .map_or(out.len(), |p| start + p);
        if let Some(at) = out.get(start..end).and_then(|auth| auth.rfind('@'))
            && let Some(colon) = out.get(start..start + at).and_then(|u| u.find(':'))
        {
            out.replace_range(start + colon + 1..start + at, "<redacted>");
        }
    }
    let lower = out.to_ascii_lowercase();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    while let Some(found) = lower.get(i..).and_then(|rest| rest.find("password")) {
        let key_end = i + found + "password".len();
        result.push_str(out.get(i..key_end).unwrap_or_default());
        let rest = out.get(key_end..).unwrap_or_default();
        let trimmed = rest.trim_start();
        let Some(after_eq) = trimmed.strip_prefix('=') else {
            i = key_end;
            continue;
        };
        let value = after_eq.trim_start();
        let skipped = rest.len() - value.len();
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            let mut len = 1;
            let mut chars = quoted.char_indices();
            while let Some((at, ch)) = chars.next() {
                len = at + ch.len_utf8() + 1;
                if ch == '\\' {
                    chars.next();
                } else if ch == '\'' {
                    break;
                }
                len = at + ch.len_utf8() + 1;
            }
            len.min(value.len())
        } else {
            value
                .find(|c: char| c.is_whitespace() || c == '&')
                .unwrap_or(value.len())
        };
        result.push_str(out.get(key_end..key_end + skipped).unwrap_or_default());
        result.push_str("<redacted>");
        i = key_end + skipped + value_len;
    }
    result.push_str(out.get(i..).unwrap_or_default());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_params() {
        assert_eq!(
            redact("host=h user=u password=s3cret dbname=d"),
            "host=h user=u password=<redacted> dbname=d"
        );
        assert_eq!(
            redact("host=h password = 'a b\\' c' dbname=d"),
            "host=h password = <redacted> dbname=d"
        );
        assert_eq!(
            redact("postgres://u:s3cret@h:5432/d?sslmode=disable&password=x"),
            "postgres://u:<redacted>@h:5432/d?sslmode=disable&password=<redacted>"
        );
        assert_eq!(redact("postgresql://u@h/d"), "postgresql://u@h/d");
        let (_, described) = parse_params("host=h user=u password=s3cret dbname=d").unwrap();
        assert_eq!(described, "host=h user=u dbname=d password=<redacted>");
        let (_, described) = parse_params("postgres://u:s3cret@h:5433/d").unwrap();
        assert!(!described.contains("s3cret"), "{described}");
        let err = parse_params("host=h password=s3cret port=notanumber").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
    }

    #[test]
    fn limits_beyond_bigint_are_no_limit() {
        let sql = |limit, offset| {
            let mut out = String::new();
            PgDialect::push_limit_offset(&mut out, limit, offset);
            out
        };
        assert_eq!(sql(Some(5), None), " LIMIT 5");
        assert_eq!(sql(Some(u64::MAX), None), " LIMIT ALL");
        assert_eq!(sql(None, Some(3)), " OFFSET 3");
        assert_eq!(
            sql(Some(1 << 63), Some(u64::MAX)),
            " LIMIT ALL OFFSET 9223372036854775807"
        );
        assert_eq!(sql(None, None), "");
    }

    #[test]
    fn replace_updates_every_column_from_excluded() {
        use crate::DocTable;
        use crate::record::Record;
        #[derive(crate::DocTable)]
        #[doctable(table = "t")]
        #[allow(dead_code)]
        struct T {
            #[doctable(primary_key)]
            id: Option<i64>,
            name: String,
            n: i64,
        }
        let sql = T::__sql().insert::<Postgres>(T::META, crate::statements::InsertKind::OrReplace);
        assert_eq!(
            sql,
            "INSERT INTO \"t\" (\"id\", \"name\", \"n\") VALUES (COALESCE($1, \
             nextval(pg_get_serial_sequence('\"t\"', 'id'))), $2, $3) ON CONFLICT (\"id\") DO \
             UPDATE SET \"name\" = excluded.\"name\", \"n\" = excluded.\"n\" RETURNING \"id\""
        );
    }
}
