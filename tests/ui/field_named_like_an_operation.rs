use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    count: i64,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    // `Token::count` is the column: the row count is `<Token as DocTable>::count()`,
    // which the warning at the field says.
    let _rows = Token::count().get(&db)?;
    let _also = <Token as DocTable>::count().get(&db)?;
    Ok(())
}
