// A filter comparing an integer column with text, in code that runs the
// query on a PostgreSQL connection: rejected at compile time, as on SQLite.
use doctable::DocTable;
use doctable::postgres::Persistent;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    year: i64,
}

fn recent(db: &Persistent) -> doctable::Result<Vec<Doc>> {
    Doc::select().filter(Doc::year.gt("2020")).all(db)
}

fn main() {
    let db = Persistent::connect("host=127.0.0.1 user=root dbname=test").unwrap();
    let _ = recent(&db);
}
