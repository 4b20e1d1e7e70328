//! The per-query strategy: a new connection for every call.

use postgres::Config;

use super::{PgConnection, Postgres, parse_params};
use crate::conn::{Conn, Sealed, Tx};
use crate::error::Result;

/// Keeps only the connection parameters and connects for each call,
/// disconnecting afterwards: no server connection is held between calls, at
/// the cost of a connect (and fresh statement preparation) per call.
///
/// Used (instead of the `tx`) inside its own transaction, on the same
/// thread, a call is an [`Error::Usage`](crate::Error::Usage): it would run
/// on another connection, outside the transaction.
pub struct PerQuery {
    config: Config,
    described: String,
    files: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for PerQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerQuery")
            .field("server", &self.described)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for PerQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgreSQL per-query connections to {}", self.described)
    }
}

impl PerQuery {
    /// Sets the folder that holds the files of `#[doctable(file)]` columns
    /// (one subfolder per table; README "File-backed columns"). A PostgreSQL
    /// database has no file to put them beside, so file columns need this.
    pub fn with_files_folder(mut self, folder: impl AsRef<std::path::Path>) -> Self {
        self.files = Some(folder.as_ref().to_path_buf());
        self
    }
    /// Keeps `params` (checked to parse) without connecting.
    pub fn new(params: &str) -> Result<Self> {
        let (config, described) = parse_params(params)?;
        Ok(PerQuery {
            config,
            described,
            files: None,
        })
    }

    /// Like [`PerQuery::new`], and checks that it can connect once.
    pub fn connect(params: &str) -> Result<Self> {
        let this = Self::new(params)?;
        drop(PgConnection::connect(&this.config, &this.described)?);
        Ok(this)
    }

    /// Runs `f` inside one transaction on one connection (see
    /// [`Persistent::transaction`](super::Persistent::transaction)).
    pub fn transaction<R>(&self, f: impl FnOnce(&Tx<'_, Postgres>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }

    /// `transaction` with an error type of the caller's own: `f` returns
    /// `Result<R, E>` for any `E: From<doctable::Error>`, and `Err(e)` rolls
    /// back and is returned as it is (see [`Conn::try_atomic`](crate::Conn::try_atomic)).
    pub fn try_transaction<R, E: From<crate::Error>>(
        &self,
        f: impl FnOnce(&Tx<'_, Postgres>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.try_atomic(f)
    }

    /// Like [`transaction`](PerQuery::transaction), rerun on
    /// [`Error::Serialization`](crate::Error::Serialization) with backoff.
    pub fn transaction_retry<R>(&self, f: impl FnMut(&Tx<'_, Postgres>) -> Result<R>) -> Result<R> {
        super::retry(self, f)
    }
}

impl Sealed for PerQuery {}
impl Conn for PerQuery {
    type Backend = Postgres;
    fn with_connection<R>(&self, f: impl FnOnce(&PgConnection) -> Result<R>) -> Result<R> {
        let key = std::ptr::from_ref(self) as usize;
        super::reentry::refuse_inside_own_transaction(key, "PerQuery")?;
        let conn = std::rc::Rc::new(PgConnection::connect(&self.config, &self.described)?);
        let _running = super::reentry::enter(key, &conn);
        f(&conn)
    }

    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        self.files.as_deref()
    }
}
