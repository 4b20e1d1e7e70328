//! A `Pool` whose server has become unreachable fails a call within the
//! parameters' `connect_timeout`, not after r2d2's 30-second default: the
//! pool is made through a one-connection TCP relay to the real server, whose
//! port is closed once `Pool::connect`'s first connection went through it.
#![cfg(feature = "postgres")]

mod pg_backend_support;

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use doctable::postgres::Pool;
use doctable::postgres::driver::config::Host;
use doctable::{DocTable, Error};
use pg_backend_support::{base_params, schema};

#[derive(DocTable, Debug)]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
}

/// Relays one connection from `listener` to `server`, then closes the
/// listening port; returns when the relayed connection has ended.
fn relay_once(listener: TcpListener, server: (String, u16)) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let (client, _) = listener.accept().expect("accept");
        drop(listener);
        let upstream = TcpStream::connect((server.0.as_str(), server.1)).expect("reach the server");
        let (mut from_client, mut to_server) = (
            client.try_clone().expect("clone"),
            upstream.try_clone().expect("clone"),
        );
        let up = thread::spawn(move || {
            let _ = io::copy(&mut from_client, &mut to_server);
            let _ = to_server.shutdown(Shutdown::Write);
        });
        let (mut from_server, mut to_client) = (upstream, client);
        let _ = io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
        let _ = up.join();
    })
}

#[test]
fn pool_call_with_the_server_unreachable_fails_within_connect_timeout() {
    // Only to require (or skip without) the server, as every PostgreSQL test.
    let Some(_schema) = schema() else { return };
    let base: doctable::postgres::driver::Config = base_params().parse().expect("DOCTABLE_PG");
    let host = match base.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = base.get_ports().first().copied().unwrap_or(5432);
    let user = base.get_user().unwrap_or("root").to_owned();
    let dbname = base.get_dbname().unwrap_or("test").to_owned();

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let relay_port = listener.local_addr().expect("addr").port();
    let relay = relay_once(listener, (host, port));
    let params =
        format!("host=127.0.0.1 port={relay_port} user={user} dbname={dbname} connect_timeout=1");
    let pool = Pool::connect(&params, 2).expect("the first connection goes through the relay");
    relay.join().expect("relay");

    // The relay's port is closed now: every new connection is refused.
    let started = Instant::now();
    let error = Note::select()
        .all(&pool)
        .expect_err("no server behind the port");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "waited {waited:?} for a connection; connect_timeout=1 should bound it (r2d2's default is 30 s)"
    );
    assert!(
        waited >= Duration::from_millis(900),
        "gave up after {waited:?}, before the 1 s connect_timeout"
    );
    match &error {
        Error::Postgres { code, sql, .. } => {
            assert_eq!(code, "08001", "{error}");
            assert!(sql.contains("taking a pooled connection"), "{error}");
        }
        other => panic!("expected Error::Postgres, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains(&relay_port.to_string()),
        "names the server: {text}"
    );
}
