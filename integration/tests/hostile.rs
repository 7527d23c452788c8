//! Hostile clients against a real proxy and PostgreSQL: each bad client gets the
//! documented answer, the others keep being served, and the proxy's memory stays bounded.
//! Each test prints the proxy's peak resident memory before and after (run with
//! `--nocapture` to see the figures).

use molt_lms_integration::fixture::{ProxyEnv, Via};
use molt_lms_integration::raw::RawConn;
use molt_lms_integration::wait_until;
use molt_lms_wire::pg::backend::error_fields;
use molt_lms_wire::pg::codec::put_message;
use molt_lms_wire::pg::frontend::startup_message;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn with_args(args: &[&str]) -> ProxyEnv {
    ProxyEnv::start_with(|mut c| {
        c.extra_args.extend(args.iter().map(|a| a.to_string()));
        c
    })
}

fn login(env: &ProxyEnv) -> RawConn {
    RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, &env.db).expect("login")
}

/// The value of a metric series (exact name with labels).
fn metric(env: &ProxyEnv, series: &str) -> i64 {
    let (_, text) = env.admin_get("/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
}

/// The FATAL error the connection ends with: `(SQLSTATE, message)`.
fn fatal(c: &mut RawConn) -> (String, String) {
    loop {
        match c.read_message() {
            Some((b'E', body)) => {
                let e = error_fields(&body);
                assert!(c.read_message().is_none(), "open after {e:?}");
                return e;
            }
            Some(_) => continue,
            None => panic!("closed without an ErrorResponse"),
        }
    }
}

fn assert_served(env: &ProxyEnv) {
    assert_eq!(env.psql(Via::Proxy, "SELECT 'served'"), "served");
}

/// A Parse message whose body is `size` bytes: a named `SELECT 1` padded by a comment.
fn parse_of(size: usize) -> Vec<u8> {
    let mut body = b"big\0SELECT 1 --".to_vec();
    body.resize(size - 3, b'x');
    body.extend_from_slice(b"\0\0\0");
    let mut m = Vec::new();
    put_message(&mut m, b'P', |o| o.extend_from_slice(&body));
    m
}

#[test]
fn a_huge_query_streams_through_without_growing_the_proxy() {
    let env = ProxyEnv::start();
    let (_, before) = env.proxy.memory_mib();
    let mut c = login(&env);
    // Declared at 512 MiB; 100 MiB of it sent. The server holds what it received, the
    // proxy only the first 64 KiB it reads for `last_query`.
    let mut head = vec![b'Q'];
    head.extend_from_slice(&((512 * MIB + 4) as u32).to_be_bytes());
    head.extend_from_slice(b"SELECT 1 -- ");
    c.send(&head);
    let chunk = vec![b'x'; MIB];
    for _ in 0..100 {
        c.send(&chunk);
    }
    let (rss, peak) = env.proxy.memory_mib();
    println!("512 MiB Query, 100 MiB sent: proxy peak RSS {before} MiB before, {peak} MiB after ({rss} MiB now)");
    assert!(
        peak < before + 40,
        "the proxy grew from {before} to {peak} MiB"
    );
    assert_served(&env);
    drop(c);
}

#[test]
fn a_parse_past_the_limit_is_refused_from_its_header() {
    let env = with_args(&["--max-buffered-message", "1MiB"]);
    let mut c = login(&env);
    let msg = parse_of(2 * MIB);
    // The header and a few bytes: the refusal needs no more.
    c.send(&msg[..64]);
    let (code, text) = fatal(&mut c);
    assert_eq!(code, "54000", "{text}");
    assert!(text.contains("--max-buffered-message"), "{text}");
    // Under the limit, a large Parse works.
    let mut c = login(&env);
    c.send(&parse_of(900 * 1024));
    let mut sync = Vec::new();
    put_message(&mut sync, b'S', |_| {});
    c.send(&sync);
    let answer = c.until_ready().expect("a 900 KiB Parse");
    assert_eq!(answer.first().map(|m| m.0), Some(b'1'), "ParseComplete");
    assert_eq!(
        metric(
            &env,
            "lms_client_errors_total{kind=\"message_too_large\",protocol=\"postgresql\"}"
        ),
        1
    );
    assert_served(&env);
}

#[test]
fn the_buffer_budget_closes_the_connection_that_would_pass_it() {
    let env = with_args(&["--max-buffered-message", "1MiB", "--buffer-budget", "1MiB"]);
    let (_, before) = env.proxy.memory_mib();
    let held = "lms_client_buffered_bytes{protocol=\"postgresql\"}";
    let msg = parse_of(900 * 1024);
    let mut first = login(&env);
    first.send(&msg[..700 * 1024]);
    assert!(
        wait_until(Duration::from_secs(10), || metric(&env, held) > 500 * 1024),
        "the first connection's share is charged"
    );
    let mut second = login(&env);
    second.send(&msg[..700 * 1024]);
    let (code, text) = fatal(&mut second);
    assert_eq!(code, "53200", "{text}");
    assert!(text.contains("--buffer-budget"), "{text}");
    // The first finishes its message, and its share is given back.
    first.send(&msg[700 * 1024..]);
    let mut sync = Vec::new();
    put_message(&mut sync, b'S', |_| {});
    first.send(&sync);
    let answer = first.until_ready().expect("the first Parse completes");
    assert_eq!(answer.first().map(|m| m.0), Some(b'1'), "ParseComplete");
    assert!(wait_until(Duration::from_secs(10), || metric(&env, held) == 0));
    let (rss, peak) = env.proxy.memory_mib();
    println!("buffer budget 1 MiB, two 900 KiB Parses: proxy peak RSS {before} MiB before, {peak} MiB after ({rss} MiB now)");
    assert_served(&env);
}

#[test]
fn a_slowloris_client_is_closed_at_the_login_timeout() {
    let env = with_args(&["--client-login-timeout", "2s"]);
    let (_, before) = env.proxy.memory_mib();
    let startup = startup_message(&[("user".into(), env.user.clone())]);
    let mut s = std::net::TcpStream::connect(env.proxy.sql_addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(250)))
        .expect("timeout");
    let started = Instant::now();
    let mut sent = 0;
    let closed_after = loop {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still open after {sent} bytes"
        );
        if sent < startup.len() - 1 {
            let _ = s.write_all(&startup[sent..=sent]);
            sent += 1;
        }
        let mut b = [0u8; 64];
        match s.read(&mut b) {
            Ok(0) => break started.elapsed(),
            Ok(_) => panic!("an answer to a start-up that never finished"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break started.elapsed(),
        }
        assert_served_quickly(&env, sent);
    };
    assert!(
        closed_after >= Duration::from_millis(1500),
        "{closed_after:?}"
    );
    assert_eq!(
        metric(
            &env,
            "lms_client_login_timeouts_total{protocol=\"postgresql\"}"
        ),
        1
    );
    let (rss, peak) = env.proxy.memory_mib();
    println!("slowloris: closed after {closed_after:?} and {sent} bytes; proxy peak RSS {before} MiB before, {peak} MiB after ({rss} MiB now)");
}

/// Every fourth byte of the slow client, another client logs in and queries.
fn assert_served_quickly(env: &ProxyEnv, sent: usize) {
    if sent.is_multiple_of(4) {
        let t = Instant::now();
        assert_served(env);
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }
}

#[test]
fn ten_thousand_connections_opened_and_dropped_leave_nothing_behind() {
    let env = ProxyEnv::start();
    let (_, before) = env.proxy.memory_mib();
    let open = "lms_connections_open{protocol=\"postgresql\"}";
    let started = Instant::now();
    for i in 0..10_000 {
        let mut s = std::net::TcpStream::connect(env.proxy.sql_addr()).expect("connect");
        if i % 2 == 0 {
            // Half send the start of a start-up packet before they go.
            let _ = s.write_all(&[0, 0, 0, 40, 0, 3]);
        }
    }
    let took = started.elapsed();
    assert!(
        wait_until(Duration::from_secs(60), || metric(&env, open) == 0),
        "connections left open: {}",
        metric(&env, open)
    );
    let (rss, peak) = env.proxy.memory_mib();
    println!("10,000 connections opened and dropped in {took:?}: proxy peak RSS {before} MiB before, {peak} MiB after ({rss} MiB now)");
    assert!(
        rss < before + 40,
        "resident {rss} MiB after, {before} MiB before"
    );
    assert_served(&env);
}

#[test]
fn a_password_brute_force_gets_28p01_each_time_and_the_right_password_still_works() {
    let env = ProxyEnv::start();
    let (_, before) = env.proxy.memory_mib();
    let started = Instant::now();
    for i in 0..100 {
        let guess = format!("guess-{i}");
        let e = RawConn::login(env.proxy.sql_addr(), &env.user, &guess, &env.db)
            .err()
            .expect("a wrong password is refused");
        assert_eq!(e.0, "28P01", "{e:?}");
    }
    let took = started.elapsed();
    let (rss, peak) = env.proxy.memory_mib();
    println!("100 wrong passwords in {took:?}: proxy peak RSS {before} MiB before, {peak} MiB after ({rss} MiB now)");
    assert_eq!(
        metric(
            &env,
            "lms_client_errors_total{kind=\"auth_failed\",protocol=\"postgresql\"}"
        ),
        100
    );
    login(&env);
    assert_served(&env);
}

#[test]
fn a_source_that_accepts_tcp_and_never_answers_fails_logins_within_the_timeout() {
    let stalled = molt_lms_integration::stalled_listener();
    let env = ProxyEnv::start_with(|mut c| {
        c.source_url =
            format!("postgresql://postgres@127.0.0.1:{stalled}/postgres?sslmode=disable");
        c.extra_args
            .extend(["--backend-login-timeout".into(), "1s".into()]);
        c
    });
    let started = Instant::now();
    let e = RawConn::login(env.proxy.sql_addr(), &env.user, &env.password, &env.db)
        .err()
        .expect("no login without the source");
    let took = started.elapsed();
    println!("stalled source: login refused after {took:?}: {e:?}");
    assert_eq!(e.0, "08006", "{e:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
