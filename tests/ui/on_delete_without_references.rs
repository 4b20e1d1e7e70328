use doctable::DocTable;

#[derive(DocTable)]
struct Book {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(on_delete = "cascade")]
    author_id: i64,
}

fn main() {
    let _ = Book::author_id.eq(1);
}
