//! `-L` / `--url`: `mqtt://[user[:pass]@]host[:port]/topic` and `mqtts://…`, split the way
//! mosquitto 2.0 splits it, plus `ws://` and `wss://` as mosquitto's develop branch (2.1)
//! splits them.
//!
//! The scheme is matched case-insensitively. The topic is everything after the first `/`
//! (it may be empty). Before that, the part up to the first `@` is the user information
//! (split at its first `:` into user and password); after it comes the host, and a `:` in
//! the host starts the port, read like C `atoi` and not range-checked here. No percent
//! decoding, no IPv6 brackets.
//!
//! `ws://` and `wss://` (mosquitto develop's `client_shared.c`): the same split, the same
//! default ports as `mqtt://`/`mqtts://` (1883 and 8883; develop's man page says 80 and 443,
//! its code says 1883 and 8883, and the code is what runs), and MQTT over WebSockets. The
//! part after the host is the MQTT topic there too, not the HTTP path: the HTTP path is
//! always `/mqtt`.

/// The pieces of a `-L` URL. Values are raw bytes, as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `mqtts://` or `wss://`: TLS with the OS trust store.
    pub tls: bool,
    /// `ws://` or `wss://`: MQTT over WebSockets.
    pub websockets: bool,
    pub username: Option<Vec<u8>>,
    pub password: Option<Vec<u8>>,
    pub host: Vec<u8>,
    /// 1883 / 8883 by scheme, or the explicit `:port` (atoi, may be out of range).
    pub port: i32,
    pub topic: Vec<u8>,
}

/// Why a URL was refused; `message()` is mosquitto's exact text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlError {
    UnsupportedScheme,
    TopicMissing,
}

impl UrlError {
    /// The stderr text, with mosquitto's trailing newlines.
    pub fn message(self) -> &'static str {
        match self {
            UrlError::UnsupportedScheme => "Error: unsupported URL scheme.\n\n",
            UrlError::TopicMissing => {
                "Error: Invalid URL for -L argument specified - topic missing.\n"
            }
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &str) -> Option<&'a [u8]> {
    let p = prefix.as_bytes();
    if s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p) {
        Some(&s[p.len()..])
    } else {
        None
    }
}

/// Split a `-L` argument.
pub fn parse(url: &[u8]) -> Result<Url, UrlError> {
    let (tls, websockets, rest, mut port) = if let Some(r) = strip_prefix_ci(url, "mqtt://") {
        (false, false, r, 1883)
    } else if let Some(r) = strip_prefix_ci(url, "mqtts://") {
        (true, false, r, 8883)
    } else if let Some(r) = strip_prefix_ci(url, "ws://") {
        (false, true, r, 1883)
    } else if let Some(r) = strip_prefix_ci(url, "wss://") {
        (true, true, r, 8883)
    } else {
        return Err(UrlError::UnsupportedScheme);
    };
    let slash = rest
        .iter()
        .position(|&b| b == b'/')
        .ok_or(UrlError::TopicMissing)?;
    let topic = rest[slash + 1..].to_vec();
    let mut authority = &rest[..slash];
    let mut username = None;
    let mut password = None;
    if let Some(at) = authority.iter().position(|&b| b == b'@') {
        let userinfo = &authority[..at];
        match userinfo.iter().position(|&b| b == b':') {
            Some(c) => {
                username = Some(userinfo[..c].to_vec());
                password = Some(userinfo[c + 1..].to_vec());
            }
            None => username = Some(userinfo.to_vec()),
        }
        authority = &authority[at + 1..];
    }
    let host = match authority.iter().position(|&b| b == b':') {
        Some(c) => {
            port = crate::options::atoi(&authority[c + 1..]);
            authority[..c].to_vec()
        }
        None => authority.to_vec(),
    };
    Ok(Url {
        tls,
        websockets,
        username,
        password,
        host,
        port,
        topic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full() {
        let u = parse(b"MQTTS://us:p:w@host:1234/a/b").unwrap();
        assert!(u.tls && !u.websockets);
        assert_eq!(u.username.as_deref(), Some(&b"us"[..]));
        assert_eq!(u.password.as_deref(), Some(&b"p:w"[..]));
        assert_eq!(u.host, b"host");
        assert_eq!(u.port, 1234);
        assert_eq!(u.topic, b"a/b");
    }

    #[test]
    fn defaults_and_errors() {
        let u = parse(b"mqtt://h/").unwrap();
        assert_eq!((u.port, u.topic.len(), u.username), (1883, 0, None));
        assert_eq!(parse(b"mqtts://h/t").unwrap().port, 8883);
        assert_eq!(parse(b"mqtt://h:x/t").unwrap().port, 0);
        let ws = parse(b"WS://h/t").unwrap();
        assert_eq!((ws.websockets, ws.tls, ws.port), (true, false, 1883));
        let wss = parse(b"wss://h:9001/t").unwrap();
        assert_eq!((wss.websockets, wss.tls, wss.port), (true, true, 9001));
        assert_eq!(parse(b"http://h/t"), Err(UrlError::UnsupportedScheme));
        assert_eq!(parse(b"mqtt://h"), Err(UrlError::TopicMissing));
        assert_eq!(parse(b"mqtt:/"), Err(UrlError::UnsupportedScheme));
    }

    #[test]
    fn websockets() {
        let u = parse(b"WS://u:p@host/a/b").unwrap();
        assert!(u.websockets && !u.tls);
        assert_eq!(
            (u.port, &u.host[..], &u.topic[..]),
            (1883, &b"host"[..], &b"a/b"[..])
        );
        assert_eq!(u.password.as_deref(), Some(&b"p"[..]));
        let u = parse(b"wss://host:443/t").unwrap();
        assert!(u.websockets && u.tls);
        assert_eq!((u.port, &u.topic[..]), (443, &b"t"[..]));
        assert_eq!(parse(b"wss://h/").unwrap().port, 8883);
        assert_eq!(parse(b"ws://h"), Err(UrlError::TopicMissing));
        assert_eq!(parse(b"wss:/h/t"), Err(UrlError::UnsupportedScheme));
    }
}
