// An update setting an integer column to text, run on a PostgreSQL connection.
use doctable::DocTable;
use doctable::postgres::Persistent;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    year: i64,
}

fn main() {
    let db = Persistent::connect("host=127.0.0.1 user=root dbname=test").unwrap();
    let _ = Doc::update().set(Doc::year, "2020").all_rows().run(&db);
}
