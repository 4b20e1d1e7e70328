use doctable::{DocTable, Expr, Persistent};

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let title = String::from("x");
    let pasted: Expr<Doc, bool> = Expr::raw(format!("\"title\" = '{title}'"), ());
    let _ = Doc::select().filter(pasted).all(&db)?;
    let sql = format!("WHERE \"title\" = '{title}'");
    let _ = Doc::select_sql(&sql, (), &db)?;
    Ok(())
}
