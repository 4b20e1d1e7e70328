//! A small web service over a corpus table, on doctable's async handle
//! (README "Async web service"): post a document, search by filters,
//! aggregates per year. The routes are in `app.rs`.
//!
//! ```text
//! cargo run --example service --features service -- [--port N] [--db PATH]
//! curl -X POST localhost:3000/documents -H 'content-type: application/json' \
//!      -d '{"title":"On tables","author":"Ada","year":1843,"body":"rows and columns"}'
//! curl 'localhost:3000/documents?author=Ada&from=1800&to=1900&title=tables'
//! curl localhost:3000/years
//! ```
//!
//! The port is `--port` or `DOCTABLE_SERVICE_PORT` (default 3000; 0 = any
//! free port); the file is `--db` or `DOCTABLE_SERVICE_DB` (default
//! `service.db`). It listens on 127.0.0.1 and prints `listening on
//! http://ADDR` on stdout once bound.

mod app;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The value of `--name VALUE`, else of the environment variable, else `default`.
fn setting(args: &[String], name: &str, env: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = setting(&args, "--port", "DOCTABLE_SERVICE_PORT", "3000")
        .parse()
        .map_err(|e| format!("--port: {e}"))?;
    let path = setting(&args, "--db", "DOCTABLE_SERVICE_DB", "service.db");

    let db = app::open(std::path::Path::new(&path)).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app::serve(listener, db).await?;
    Ok(())
}
