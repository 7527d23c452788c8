//! The orchestrator's dashboard page in headless Chromium, during a cutover held paused: it
//! shows each proxy paused with its pause-ack on the timeline and the source of truth, never
//! the token it was given, a screenshot is kept as a test artifact, and without the token
//! it says it is not authorised.

use molt_lms_api::cutover::{CutoverStatus, ProxyPhase};
use molt_lms_integration::browser;
use molt_lms_integration::cutover_env::{CutoverEnv, EnvSpec};
use molt_lms_integration::{wait_until, TEST_CONTROL_TOKEN};
use std::time::Duration;

/// Every opening tag `<tag …>` in `dom`.
fn open_tags<'a>(dom: &'a str, tag: &str) -> Vec<&'a str> {
    let start = format!("<{tag} ");
    dom.match_indices(&start)
        .filter_map(|(i, _)| dom[i..].find('>').map(|end| &dom[i..=i + end]))
        .collect()
}

/// The value of `name="…"` in an opening tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let from = tag.find(&key)? + key.len();
    tag[from..].find('"').map(|end| &tag[from..from + end])
}

/// The opening tags of `tag` elements whose attributes have these values.
fn elements<'a>(dom: &'a str, tag: &str, want: &[(&str, &str)]) -> Vec<&'a str> {
    open_tags(dom, tag)
        .into_iter()
        .filter(|t| want.iter().all(|(k, v)| attr(t, k) == Some(v)))
        .collect()
}

/// An element from its opening tag to the first `</tag>` after it (no nesting of `tag`).
fn row_html<'a>(dom: &'a str, open: &str) -> &'a str {
    let at = dom.find(open).expect("an opening tag of this page");
    let name = &open[1..open.find(' ').expect("a tag with attributes")];
    let end = dom[at..]
        .find(&format!("</{name}>"))
        .expect("a closing tag");
    &dom[at..at + end]
}

/// The text right after the opening tag of the element with this id (up to the next tag).
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let key = format!(" id=\"{id}\"");
    let at = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{dom}"));
    let rest = &dom[at..];
    let from = rest.find('>').expect("an opening tag") + 1;
    let to = rest[from..].find('<').unwrap_or(rest.len() - from);
    &rest[from..from + to]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_a_paused_cutover_and_refuses_without_the_token() {
    // Before anything starts: without the browser this test cannot look.
    browser::chromium();
    let env = CutoverEnv::start_spec(
        2,
        &[],
        EnvSpec {
            replication_gate: true,
            ..EnvSpec::default()
        },
    )
    .0;
    // A finished verification with one differing row, for the page to show.
    for (c, rows) in [(&env.clusters.source, 3), (&env.clusters.target, 2)] {
        c.psql(
            &env.db,
            &format!("CREATE TABLE checked (id INT PRIMARY KEY); INSERT INTO checked SELECT generate_series(1, {rows})"),
        );
    }
    let verify = env.orch.cli(&["verify"]);
    assert_eq!(verify.status.code(), Some(1), "{verify:?}");
    // One idle client session on each proxy, held by the pause.
    let _clients = (env.client(0).await, env.client(1).await);
    let attempt = env.pause();
    let addresses: Vec<String> = attempt
        .proxies
        .iter()
        .map(|p| p.lms_address.clone())
        .collect();
    assert_eq!(addresses.len(), 2, "{attempt:#?}");
    // The page shows each proxy's phase from its last report: wait until both said paused.
    let all_paused = wait_until(Duration::from_secs(10), || {
        env.status().proxies.iter().all(|p| {
            p.report
                .as_ref()
                .is_some_and(|r| r.phase == ProxyPhase::Paused && r.connections == 1)
        })
    });
    assert!(all_paused, "{:#?}", env.status());

    let url = format!("{}/#token={TEST_CONTROL_TOKEN}", env.orch.url());
    let dom = browser::dump_dom(&url);
    let body = open_tags(&dom, "body");
    assert_eq!(attr(body[0], "data-auth"), Some("ok"), "{dom}");
    assert_eq!(attr(body[0], "data-connection"), Some("ok"), "{dom}");
    for addr in &addresses {
        let rows = elements(&dom, "tr", &[("data-proxy", addr)]);
        assert_eq!(rows.len(), 1, "one row for {addr}:\n{dom}");
        assert_eq!(
            attr(rows[0], "data-phase"),
            Some("paused"),
            "{addr}:\n{dom}"
        );
        assert!(
            row_html(&dom, rows[0]).contains(r#"data-field="connections">1<"#),
            "{addr}: one connection:\n{dom}"
        );
        let acks = elements(
            &dom,
            "li",
            &[
                ("data-event", "pause-ack"),
                ("data-proxy", addr),
                ("data-state", "done"),
            ],
        );
        assert_eq!(acks.len(), 1, "the pause-ack of {addr}:\n{dom}");
    }
    assert_eq!(
        elements(&dom, "li", &[("data-event", "begin")]).len(),
        1,
        "{dom}"
    );
    assert_eq!(text_of(&dom, "source-of-truth"), "source", "{dom}");
    assert_eq!(text_of(&dom, "connection-total"), "2", "{dom}");
    let sessions = open_tags(&dom, "tr")
        .into_iter()
        .filter(|t| attr(t, "data-connection").is_some())
        .count();
    assert_eq!(sessions, 2, "a row for each client session:\n{dom}");
    assert_eq!(
        text_of(&dom, "transitioning"),
        format!("attempt {} in progress", attempt.id),
        "{dom}"
    );
    assert!(
        text_of(&dom, "attempt-summary").starts_with("status TrafficPaused"),
        "{dom}"
    );
    let summary = elements(&dom, "p", &[("data-verify", "differences")]);
    assert_eq!(summary.len(), 1, "the verification's outcome:\n{dom}");
    assert!(
        text_of(&dom, "verify-summary").starts_with("run 1: differences"),
        "{dom}"
    );
    let table = elements(
        &dom,
        "tr",
        &[
            ("data-table", "public.checked"),
            ("data-status", "differences"),
        ],
    );
    assert_eq!(table.len(), 1, "the differing table:\n{dom}");
    assert!(
        row_html(&dom, table[0]).contains(">1<"),
        "one row missing on the target:\n{dom}"
    );
    assert!(!dom.contains("not authorised"), "{dom}");
    assert!(
        !dom.contains(TEST_CONTROL_TOKEN),
        "the page shows the token it was given:\n{dom}"
    );

    let png = browser::artifact_dir().join("dashboard.png");
    browser::screenshot(&url, &png, (1400, 1000));
    let size = std::fs::metadata(&png).expect("the screenshot").len();
    println!("dashboard screenshot: {} ({size} bytes)", png.display());
    assert!(size > 20_000, "a nearly empty screenshot: {size} bytes");

    // Without a token the API answers 401 and the page says what it needs.
    let dom = browser::dump_dom(&format!("{}/", env.orch.url()));
    let body = open_tags(&dom, "body");
    assert_eq!(attr(body[0], "data-auth"), Some("refused"), "{dom}");
    assert!(
        text_of(&dom, "auth-message").starts_with("not authorised: give the control-plane token"),
        "{dom}"
    );
    for addr in &addresses {
        assert!(
            !dom.contains(addr.as_str()),
            "data shown without a token:\n{dom}"
        );
    }
    // A wrong token the same, and it is not echoed either.
    let wrong = "not-the-control-token-0123456789";
    let dom = browser::dump_dom(&format!("{}/#token={wrong}", env.orch.url()));
    assert!(
        text_of(&dom, "auth-message")
            .starts_with("not authorised: the token this tab holds was refused"),
        "{dom}"
    );
    assert!(!dom.contains(wrong), "{dom}");

    // The token travels in the fragment, which the browser never sends: no log has it.
    assert!(
        !env.orch.full_log().contains(TEST_CONTROL_TOKEN),
        "the orchestrator logged the token"
    );

    let done = env.abort().expect("abort");
    assert_eq!(done.status, CutoverStatus::AbortCompleted, "{done:#?}");
    // A page opened after the attempt ended (a fresh browser profile) still finds it.
    let dom = browser::dump_dom(&url);
    assert!(
        text_of(&dom, "attempt-summary").starts_with("status AbortCompleted"),
        "{dom}"
    );
}
