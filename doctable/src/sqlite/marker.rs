//! The SQLite backend's type, in a file of its own that imports nothing, so
//! that shared code can name it (as `Tx`'s default backend) without depending
//! on the rest of the SQLite backend.

/// The SQLite backend: what [`Persistent`](crate::Persistent),
/// [`PerQuery`](crate::PerQuery), a caller's `rusqlite::Connection`,
/// `Transaction` or `Savepoint`, and their [`Tx`](crate::Tx), run on.
#[derive(Debug, Clone, Copy)]
pub enum Sqlite {}
