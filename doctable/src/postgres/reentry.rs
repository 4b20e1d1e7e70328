//! A `PerQuery` or `Pool` used (instead of the `tx`) inside a transaction it
//! opened itself, on the same thread: the call would run on another session,
//! outside the transaction, and a write there to a row the transaction has
//! written would wait for the transaction, which waits for the call: a hang
//! nothing times out. Such a call is refused at once, as a `Persistent` does.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use super::{PgConnection, Postgres};
use crate::backend::Backend;
use crate::error::{Error, Result};

/// A connection that can say whether the crate has a transaction open on it.
pub(super) trait InTransaction {
    fn in_transaction(&self) -> bool;
}

impl InTransaction for PgConnection {
    fn in_transaction(&self) -> bool {
        !Postgres::is_autocommit(self)
    }
}

/// The connection of a handle's call now running on this thread, by the
/// handle's key.
type Running = (usize, Weak<dyn InTransaction>);

thread_local! {
    static RUNNING: RefCell<Vec<Running>> = const { RefCell::new(Vec::new()) };
}

/// Refuses a call through the handle `key` (`what` names it) while one of
/// its calls on this thread has a transaction open.
pub(super) fn refuse_inside_own_transaction(key: usize, what: &str) -> Result<()> {
    let inside = RUNNING
        .try_with(|running| {
            running.try_borrow().is_ok_and(|running| {
                running.iter().any(|(k, conn)| {
                    *k == key && conn.upgrade().is_some_and(|c| c.in_transaction())
                })
            })
        })
        .unwrap_or(false);
    if inside {
        return Err(Error::Usage(format!(
            "this PostgreSQL {what} is used inside its own transaction on this thread: the \
             call would run on another connection, outside the transaction (and a write to a \
             row the transaction holds would wait for it forever): pass the transaction's \
             `tx` to table operations instead"
        )));
    }
    Ok(())
}

/// Marks `conn` as the connection of a call through the handle `key` while
/// the returned value lives.
pub(super) fn enter<T: InTransaction + 'static>(key: usize, conn: &Rc<T>) -> Entered {
    let weak: Weak<T> = Rc::downgrade(conn);
    let weak: Weak<dyn InTransaction> = weak;
    let _ = RUNNING.try_with(|running| {
        if let Ok(mut running) = running.try_borrow_mut() {
            running.push((key, weak));
        }
    });
    Entered { key }
}

/// Removes its mark when dropped.
pub(super) struct Entered {
    key: usize,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = RUNNING.try_with(|running| {
            if let Ok(mut running) = running.try_borrow_mut()
                && let Some(i) = running.iter().rposition(|(k, _)| *k == self.key)
            {
                running.remove(i);
            }
        });
    }
}
