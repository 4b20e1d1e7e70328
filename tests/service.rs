//! `examples/service` (issue 15): its code (`app.rs`, included here) served on
//! a loopback port and driven over HTTP by a real client (hyper's), with
//! requests in flight at once: every request is answered with the expected
//! status, searches and aggregates equal what the posted documents imply,
//! and the rows in the database file equal what was posted.
#![cfg(feature = "service")]

#[allow(dead_code)]
#[path = "../examples/service/app.rs"]
mod app;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use app::{Created, Document, NewDocument, YearStats};
use doctable::{DocTable, Persistent};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type HttpClient = Client<HttpConnector, Full<Bytes>>;
/// Which posted documents a search should return.
type Keep = Box<dyn Fn(&NewDocument) -> bool>;

/// Documents posted: as many as there are, in flight 50 at a time.
const DOCUMENTS: usize = 200;
const AUTHORS: [&str; 4] = ["Ada", "Bo", "Cy", "Dee"];

fn new_document(i: usize) -> NewDocument {
    NewDocument {
        title: format!("Note {i} on {}", ["tables", "rows", "keys"][i % 3]),
        author: AUTHORS[i % AUTHORS.len()].to_owned(),
        year: 1990 + (i % 7) as i64,
        // 1 to 5 words, and a Unicode one.
        body: [
            "mot",
            "two words",
            "three small words",
            "four little ünïcode words",
            "a b c d e",
        ][i % 5]
            .to_owned(),
    }
}

/// Sends one request; returns the status and the body.
async fn send(
    client: &HttpClient,
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<(StatusCode, Bytes), Box<dyn std::error::Error + Send + Sync>> {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let response = client.request(request).await?;
    let status = response.status();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &HttpClient,
    addr: SocketAddr,
    path: &str,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
    let (status, body) = send(client, addr, Method::GET, path, None).await?;
    assert_eq!(
        status,
        StatusCode::OK,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(serde_json::from_slice(&body)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_answered_and_the_rows_equal_what_was_posted() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("service.db");
    let db = app::open(&path).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(app::serve(listener, db));
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    // Post every document, 50 requests in flight at a time.
    let mut posted: BTreeMap<i64, NewDocument> = BTreeMap::new();
    let mut answered = 0;
    for batch in (0..DOCUMENTS).collect::<Vec<_>>().chunks(50) {
        let mut tasks = tokio::task::JoinSet::new();
        for &i in batch {
            let client = client.clone();
            tasks.spawn(async move {
                let doc = new_document(i);
                let body = serde_json::to_string(&doc)?;
                let (status, reply) =
                    send(&client, addr, Method::POST, "/documents", Some(body)).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, reply, doc))
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (status, reply, doc) = done??;
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{}",
                String::from_utf8_lossy(&reply)
            );
            let created: Created = serde_json::from_slice(&reply)?;
            assert!(
                posted.insert(created.id, doc).is_none(),
                "id {} twice",
                created.id
            );
            answered += 1;
        }
    }
    assert_eq!(answered, DOCUMENTS);

    // Bad requests are refused, each with its status, and store nothing.
    let bad = [
        ("{\"title\": ", StatusCode::BAD_REQUEST),
        ("{\"title\": \"t\"}", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "{\"title\": \" \", \"author\": \"Ada\", \"year\": 2000, \"body\": \"\"}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "{\"title\": \"t\", \"author\": \"Ada\", \"year\": 12000, \"body\": \"\"}",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, expected) in bad {
        let (status, reply) =
            send(&client, addr, Method::POST, "/documents", Some(body.into())).await?;
        assert_eq!(
            status,
            expected,
            "{body}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    let missing = posted.keys().max().copied().unwrap_or(0) + 1;
    let (status, _) = send(
        &client,
        addr,
        Method::GET,
        &format!("/documents/{missing}"),
        None,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // What a document should read back as.
    let stored = |id: i64, d: &NewDocument| Document {
        id: Some(id),
        title: d.title.clone(),
        author: d.author.clone(),
        year: d.year,
        body: d.body.clone(),
        words: d.body.split_whitespace().count() as i64,
    };

    // One document by key.
    let (&first, first_doc) = posted.iter().next().ok_or("nothing posted")?;
    let one: Document = get_json(&client, addr, &format!("/documents/{first}")).await?;
    assert_eq!(one, stored(first, first_doc));

    // Searches, against the same filters applied to what was posted.
    let searches: [(&str, Keep); 4] = [
        ("/documents?author=Bo", Box::new(|d| d.author == "Bo")),
        (
            "/documents?from=1992&to=1994",
            Box::new(|d| (1992..=1994).contains(&d.year)),
        ),
        (
            "/documents?author=Cy&from=1993&title=rows",
            Box::new(|d| d.author == "Cy" && d.year >= 1993 && d.title.contains("rows")),
        ),
        ("/documents?title=%25", Box::new(|d| d.title.contains('%'))),
    ];
    for (query, keep) in &searches {
        let found: Vec<Document> = get_json(&client, addr, query).await?;
        let expected: Vec<Document> = posted
            .iter()
            .filter(|(_, d)| keep(d))
            .map(|(&id, d)| stored(id, d))
            .collect();
        assert_eq!(found, expected, "{query}");
    }
    let limited: Vec<Document> = get_json(&client, addr, "/documents?limit=7").await?;
    assert_eq!(limited.len(), 7);

    // Aggregates per year.
    let mut per_year: BTreeMap<i64, YearStats> = BTreeMap::new();
    for d in posted.values() {
        let s = per_year.entry(d.year).or_insert(YearStats {
            year: d.year,
            documents: 0,
            words: 0,
        });
        s.documents += 1;
        s.words += d.body.split_whitespace().count() as i64;
    }
    let years: Vec<YearStats> = get_json(&client, addr, "/years").await?;
    assert_eq!(years, per_year.into_values().collect::<Vec<_>>());

    // The file itself, read by a separate sync connection: exactly the rows posted.
    server.abort();
    let file = Persistent::open(&path)?;
    let rows = Document::select().order_by(Document::id).all(&file)?;
    let expected: Vec<Document> = posted.iter().map(|(&id, d)| stored(id, d)).collect();
    assert_eq!(rows, expected);
    Ok(())
}
