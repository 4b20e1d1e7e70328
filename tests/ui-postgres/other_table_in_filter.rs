// A filter on another table's column, run on a PostgreSQL connection.
use doctable::DocTable;
use doctable::postgres::Persistent;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    year: i64,
}

#[derive(DocTable)]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    born: i64,
}

fn main() {
    let db = Persistent::connect("host=127.0.0.1 user=root dbname=test").unwrap();
    let _ = Doc::select().filter(Author::born.gt(1900)).all(&db);
}
