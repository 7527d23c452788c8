use super::*;

#[test]
fn refusals_map_to_the_statuses_clients_rely_on() {
    for (code, want) in [
        ("partial_cutover", 409),
        ("proxy_unreachable", 409),
        ("stale_state", 409),
        ("address_taken", 409),
        ("unknown_proxy", 400),
        ("wrong_proxy_key", 403),
        ("not_registered", 404),
        ("not_found", 404),
        ("loading", 503),
        ("store_unavailable", 503),
    ] {
        assert_eq!(refusal_status(code).as_u16(), want, "{code}");
    }
}

#[test]
fn registrations_need_an_admin_url_the_orchestrator_can_call() {
    for ok in [
        "http://10.0.0.5:9045",
        "https://proxy-0.proxies.default.svc:9045",
        "http://[::1]:9045",
    ] {
        assert!(proxies::callable(ok), "{ok}");
    }
    for bad in [
        "",
        "10.0.0.5:9045",
        "http://",
        "ftp://10.0.0.5",
        "unix:/tmp/s",
    ] {
        assert!(!proxies::callable(bad), "{bad}");
    }
}
