//! The SOCKS5 exchange against a scripted peer, for the answers microsocks never gives
//! (the integration tests in tests/socks.rs run the real proxy).

use super::failure::Stage;
use super::wire::connect_request;
use super::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

fn route(user: Option<(&str, &str)>, broker: &str) -> Route {
    Route {
        proxy: ProxyArgs {
            host: "proxy.example".into(),
            port: 1080,
            username: user.map(|(u, _)| u.to_string()),
            password: user.map(|(_, p)| p.into()),
        },
        proxy_c: CString::new("proxy.example").unwrap(),
        broker: broker.into(),
        broker_lookup: broker.into(),
        broker_ip: broker.parse().ok(),
        broker_port: 8883,
        timeout: Duration::from_secs(5),
        proxy_addrs: Mutex::new(Vec::new()),
    }
}

/// Runs the handshake for `r` against a peer that reads what is sent and answers `script`
/// (pairs of: bytes to expect, bytes to answer); returns the result and what was sent.
fn against(r: &Route, script: Vec<(usize, Vec<u8>)>) -> (Result<(), SocksError>, Vec<u8>) {
    let (mut ours, mut peer) = UnixStream::pair().unwrap();
    ours.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let server = std::thread::spawn(move || {
        let mut got = Vec::new();
        for (n, answer) in script {
            let mut buf = vec![0u8; n];
            if peer.read_exact(&mut buf).is_err() {
                break;
            }
            got.extend(buf);
            peer.write_all(&answer).unwrap();
        }
        got
    });
    let result = handshake(&mut ours, r);
    drop(ours);
    (result, server.join().unwrap())
}

#[test]
fn addresses_the_broker_as_libmosquitto_does() {
    assert_eq!(
        connect_request("10.1.2.3", 1883).unwrap(),
        [5, 1, 0, 1, 10, 1, 2, 3, 0x07, 0x5b]
    );
    let v6 = connect_request("::1", 8883).unwrap();
    assert_eq!(v6[..4], [5, 1, 0, 4]);
    assert_eq!(v6[4..20], Ipv6Addr::LOCALHOST.octets());
    assert_eq!(v6[20..], [0x22, 0xb3]);
    assert_eq!(
        connect_request("localhost", 1).unwrap(),
        [[5, 1, 0, 3, 9].as_slice(), b"localhost", &[0, 1]].concat()
    );
    assert!(connect_request(&"h".repeat(256), 1).is_none());
}

#[test]
fn no_authentication_then_connect() {
    let r = route(None, "broker.example");
    let (res, sent) = against(
        &r,
        vec![
            (3, vec![5, 0]),
            (7 + 14, vec![5, 0, 0, 3, 4, b'h', b'o', b's', b't', 0, 1]),
        ],
    );
    res.unwrap();
    assert_eq!(sent[..3], [5, 1, 0]);
    assert_eq!(
        sent[3..],
        connect_request("broker.example", 8883).unwrap()[..]
    );
}

#[test]
fn user_name_and_password() {
    let r = route(Some(("alice", "pw")), "10.0.0.1");
    let (res, sent) = against(
        &r,
        vec![
            (4, vec![5, 2]),
            (3 + 5 + 2, vec![1, 0]),
            (10, vec![5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        ],
    );
    res.unwrap();
    assert_eq!(sent[..4], [5, 2, 0, 2]);
    assert_eq!(sent[4..14], *b"\x01\x05alice\x02pw");
    let (res, _) = against(&r, vec![(4, vec![5, 2]), (10, vec![1, 1])]);
    assert!(matches!(res, Err(SocksError::AuthRejected(1))));
    let f = res
        .unwrap_err()
        .failure(&r, "192.0.2.1:1080".parse().unwrap());
    assert_eq!(f.code, AUTH);
    assert!(f.lines[0].contains("user alice"), "{:?}", f.lines);
    assert!(!f.lines.join("\n").contains("pw"), "{:?}", f.lines);
}

#[test]
fn methods_the_proxy_wants() {
    let none = route(None, "b");
    let creds = route(Some(("u", "p")), "b");
    for (r, answer, want) in [
        (&none, 2, "requires a user name and password"),
        (&none, 0xff, "requires a user name and password"),
        (&creds, 0xff, "accepts none of the authentication methods"),
        (&creds, 1, "chose authentication method 0x01 (GSSAPI)"),
    ] {
        let (res, _) = against(r, vec![(3, vec![5, answer])]);
        let f = res
            .unwrap_err()
            .failure(r, "192.0.2.1:1080".parse().unwrap());
        assert_eq!(f.code, AUTH);
        assert!(f.lines[0].contains(want), "{:?}", f.lines);
        assert!(f.lines[0].contains("proxy.example port 1080 (192.0.2.1)"));
    }
}

#[test]
fn reply_codes_in_words_with_mosquittos_exit_codes() {
    let r = route(None, "broker.example");
    for (code, exit, words) in [
        (1, PROXY, "general failure"),
        (2, AUTH, "not allowed"),
        (3, NO_CONN, "network unreachable"),
        (4, NO_CONN, "host unreachable"),
        (5, NO_CONN, "connection refused"),
        (6, PROXY, "TTL expired"),
        (7, PROXY, "command not supported"),
        (8, PROXY, "address type not supported"),
        (9, UNKNOWN_REPLY, "unknown reply 0x09"),
    ] {
        let (res, _) = against(&r, vec![(3, vec![5, 0]), (21, vec![5, code, 0, 1])]);
        let f = res
            .unwrap_err()
            .failure(&r, "192.0.2.1:1080".parse().unwrap());
        assert_eq!(f.code, exit, "reply {code}");
        assert!(f.lines[0].contains(words), "{:?}", f.lines);
        assert!(
            f.lines[0].contains("the broker broker.example port 8883"),
            "{:?}",
            f.lines
        );
    }
}

#[test]
fn not_a_socks5_answer_or_closed() {
    let r = route(None, "b");
    // An HTTP proxy's answer.
    let (res, _) = against(&r, vec![(3, b"HT".to_vec())]);
    assert!(matches!(
        res,
        Err(SocksError::NotSocks5(Stage::Greeting, b'H'))
    ));
    // Closed before answering.
    let (res, _) = against(&r, vec![(3, vec![])]);
    let e = res.unwrap_err();
    assert!(matches!(e, SocksError::Closed(Stage::Greeting)), "{e:?}");
    assert_eq!(e.failure(&r, "192.0.2.1:1".parse().unwrap()).code, PROXY);
    // An address type SOCKS5 does not define in the CONNECT reply.
    let (res, _) = against(&r, vec![(3, vec![5, 0]), (8, vec![5, 0, 0, 9])]);
    assert!(matches!(res, Err(SocksError::BadAddressType(9))));
}

#[test]
fn a_silent_proxy_times_out() {
    let r = route(None, "b");
    let (ours, _peer) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let mut wire = Wire {
        fd: std::os::fd::AsRawFd::as_raw_fd(&ours),
        deadline: Instant::now() + Duration::from_millis(100),
    };
    let e = handshake(&mut wire, &r).unwrap_err();
    assert!(matches!(e, SocksError::Timeout(Stage::Greeting)), "{e:?}");
    let f = e.failure(&r, "192.0.2.1:1080".parse().unwrap());
    assert_eq!(f.code, PROXY);
    assert!(f.lines[0].contains("did not answer the SOCKS5 greeting within 5 s"));
}
