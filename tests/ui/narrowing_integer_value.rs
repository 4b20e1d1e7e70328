use doctable::DocTable;

#[derive(DocTable)]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    position: usize,
}

fn main() {
    // An `i64` may not fit a `usize` column: the conversion must be written.
    let n: i64 = 7;
    let _ = Token::select().filter(Token::position.eq(n));
}
