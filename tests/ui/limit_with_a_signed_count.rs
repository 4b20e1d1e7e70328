use doctable::DocTable;

#[derive(DocTable)]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    position: usize,
}

fn main() {
    let n: i64 = 10;
    let _ = Token::select().limit(n);
}
