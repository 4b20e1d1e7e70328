use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    year: i64,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    // avg() is an Option<f64>: NULL over no rows, and a fraction over integers.
    let mean: Vec<i64> = Doc::select_cols(Doc::year.avg()).all(&db)?;
    let _ = mean;
    Ok(())
}
