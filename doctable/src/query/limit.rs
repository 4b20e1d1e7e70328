//! What `limit` and `offset` take: a count of rows in any unsigned integer
//! type (`usize` from `len()`, say), or an integer literal.

mod sealed {
    pub trait Sealed {}
}

/// A number of rows for [`Select::limit`](crate::Select::limit) and
/// [`Select::offset`](crate::Select::offset): `u8`–`u64` and `usize` as they
/// are, and `i32`, the type of an integer literal, where a negative count
/// means none (0 rows read, or 0 skipped).
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
/// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
/// let page: usize = 20;
/// let first = Doc::select().limit(page).offset(2 * page).all(&db)?;
/// let ten = Doc::select().limit(10).all(&db)?;
/// # Ok::<(), doctable::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a number of rows",
    label = "expected an unsigned integer (`u64`, `usize`, ...) or an integer literal",
    note = "convert a signed count first, where that can fail: `u64::try_from(n)?`"
)]
pub trait RowCount: sealed::Sealed {
    /// The count as a `u64`.
    #[doc(hidden)]
    fn rows(self) -> u64;
}

macro_rules! unsigned {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        #[diagnostic::do_not_recommend]
        impl RowCount for $ty {
            #[inline]
            fn rows(self) -> u64 {
                // Lossless: every unsigned type here is at most 64 bits wide.
                u64::try_from(self).unwrap_or(u64::MAX)
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64, usize);

impl sealed::Sealed for i32 {}
#[diagnostic::do_not_recommend]
impl RowCount for i32 {
    #[inline]
    fn rows(self) -> u64 {
        u64::try_from(self).unwrap_or(0)
    }
}
