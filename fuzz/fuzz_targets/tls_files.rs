//! The TLS file loaders through `tls::plan`: the input is cut into a CA file, a
//! certificate, a key, a PKCS#12 file and a password file (at `\xff\x00` separators),
//! written to a scratch directory and given as --cafile/--cert/--key/--pkcs12/
//! --key-password-file. A plan or a failure with a message; never a panic or a prompt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtts::options::{self, Client};
use std::path::PathBuf;
use std::sync::OnceLock;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mqtts-fuzz-tls-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fn parts(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(2).position(|w| w == [0xff, 0x00]) {
        out.push(&rest[..i]);
        rest = &rest[i + 2..];
    }
    out.push(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let p = parts(data);
    let get = |i: usize| p.get(i).copied();
    let dir = scratch();
    let put = |name: &str, d: Option<&[u8]>, on: bool| -> Option<String> {
        let d = d.filter(|_| on)?;
        let path = dir.join(name);
        std::fs::write(&path, d).ok()?;
        Some(path.display().to_string())
    };
    let mut opts = options::defaults(Client::Pub);
    opts.port = Some(8883);
    opts.tls.cafile = put("ca.pem", get(0), sel & 1 != 0);
    opts.tls.cert = put("cert.pem", get(1), sel & 2 != 0);
    opts.tls.key = put("key.pem", get(2), sel & 4 != 0);
    opts.tls.pkcs12 = put("c.p12", get(3), sel & 8 != 0);
    opts.tls.key_password_file = put("pw", Some(get(4).unwrap_or(b"")), true);
    match mqtts::tls::plan(&opts, 8883) {
        Ok(Some(plan)) => {
            let _ = plan.ssl_options();
        }
        Ok(None) => panic!("port 8883 must mean TLS"),
        Err(f) => assert!(f.lines.iter().any(|l| !l.is_empty()), "{f:?}"),
    }
});
