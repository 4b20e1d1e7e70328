//! The service's code: a corpus of documents behind three HTTP routes, on
//! doctable's async handle. `main.rs` binds it to a port; `tests/service.rs`
//! includes this file and drives it over HTTP.
//!
//! - `POST /documents` with `{"title", "author", "year", "body"}`: stores the
//!   document (its word count computed here) and answers `201 {"id": N}`.
//! - `GET /documents/{id}`: the document, or 404.
//! - `GET /documents?author=A&from=Y1&to=Y2&title=WORD&limit=N`: the
//!   documents matching every filter given (title: contains, years
//!   inclusive), in id order, at most `limit` (default and cap 1,000).
//! - `GET /years`: per year, the number of documents and of words.
//!
//! Every handler is one `db.run(..)`: the whole query runs on a worker thread
//! that owns a connection, with the sync API's builders; the runtime's threads
//! never wait on SQLite.

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use doctable::tokio::Db;
use doctable::{DocTable, Persistent};
use serde::{Deserialize, Serialize};

/// A stored document.
#[derive(DocTable, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[doctable(table = "documents")]
pub struct Document {
    #[doctable(primary_key)]
    pub id: Option<i64>,
    pub title: String,
    #[doctable(index)]
    pub author: String,
    #[doctable(index)]
    pub year: i64,
    pub body: String,
    /// Words in `body` (split on whitespace), computed when it is posted.
    pub words: i64,
}

/// The body of `POST /documents`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewDocument {
    pub title: String,
    pub author: String,
    pub year: i64,
    pub body: String,
}

/// The answer to `POST /documents`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub id: i64,
}

/// The filters of `GET /documents`; every one is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Search {
    pub author: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub title: Option<String>,
    pub limit: Option<u32>,
}

/// One line of `GET /years`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearStats {
    pub year: i64,
    pub documents: i64,
    pub words: i64,
}

/// The most documents one search returns.
pub const MAX_LIMIT: u32 = 1_000;

/// An error answer: a status and `{"error": "..."}`.
pub struct ApiError(StatusCode, String);

impl From<doctable::Error> for ApiError {
    fn from(e: doctable::Error) -> Self {
        // The message names the table, column and SQL; SQLite has no password
        // to leak. A service on PostgreSQL would log it and answer less.
        eprintln!("service: {e}");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(message: &str) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.to_owned())
}

/// Opens (or creates) the corpus file with its table.
pub async fn open(path: &std::path::Path) -> doctable::Result<Db<Persistent>> {
    let db = Db::sqlite(path).await?;
    db.run(Document::create_table).await?;
    Ok(db)
}

/// The routes, over `db`.
pub fn router(db: Db<Persistent>) -> Router {
    Router::new()
        .route("/documents", get(search).post(post_document))
        .route("/documents/{id}", get(get_document))
        .route("/years", get(years))
        .with_state(db)
}

/// Serves `router(db)` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, db: Db<Persistent>) -> std::io::Result<()> {
    axum::serve(listener, router(db)).await
}

async fn post_document(
    State(db): State<Db<Persistent>>,
    Json(new): Json<NewDocument>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    if new.title.trim().is_empty() {
        return Err(bad_request("title is empty"));
    }
    if !(0..=9999).contains(&new.year) {
        return Err(bad_request("year is not between 0 and 9999"));
    }
    let doc = Document {
        id: None,
        words: new.body.split_whitespace().count() as i64,
        title: new.title,
        author: new.author,
        year: new.year,
        body: new.body,
    };
    let id = db.run(move |c| Document::insert(c, &doc)).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

async fn get_document(
    State(db): State<Db<Persistent>>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<Document>, ApiError> {
    match db.run(move |c| Document::get(c, id)).await? {
        Some(doc) => Ok(Json(doc)),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no document {id}"))),
    }
}

async fn search(
    State(db): State<Db<Persistent>>,
    Query(search): Query<Search>,
) -> Result<Json<Vec<Document>>, ApiError> {
    let limit = search.limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
    let docs = db
        .run(move |c| {
            let mut select = Document::select();
            if let Some(author) = &search.author {
                select = select.filter(Document::author.eq(author.as_str()));
            }
            if let Some(from) = search.from {
                select = select.filter(Document::year.ge(from));
            }
            if let Some(to) = search.to {
                select = select.filter(Document::year.le(to));
            }
            if let Some(part) = &search.title {
                select = select.filter(Document::title.contains(part));
            }
            select.order_by(Document::id).limit(limit).all(c)
        })
        .await?;
    Ok(Json(docs))
}

async fn years(State(db): State<Db<Persistent>>) -> Result<Json<Vec<YearStats>>, ApiError> {
    let rows = db
        .run(|c| {
            Document::select_cols((Document::year, Document::id.count(), Document::words.sum()))
                .group_by(Document::year)
                .order_by(Document::year)
                .all(c)
        })
        .await?;
    let stats = rows
        .into_iter()
        .map(|(year, documents, words)| YearStats {
            year,
            documents,
            words: words.unwrap_or(0),
        })
        .collect();
    Ok(Json(stats))
}
