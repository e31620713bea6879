//! A TCP relay the test controls: a free loopback port whose connections are forwarded to
//! a real broker's port, and cut on demand (reset both ways, as a middlebox or a dying
//! NAT does). New connections are forwarded as before after a cut.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Relay {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    /// Both ends of every forwarded connection (clones of the copying threads' streams).
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    /// Forward 127.0.0.1:`port()` to 127.0.0.1:`target`.
    pub fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (s, a, o) = (stop.clone(), accepted.clone(), open.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                a.fetch_add(1, Ordering::SeqCst);
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                {
                    let mut g = o.lock().unwrap();
                    g.push(client.try_clone().unwrap());
                    g.push(upstream.try_clone().unwrap());
                }
                pump(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pump(upstream, client);
            }
        });
        Relay {
            port,
            stop,
            accepted,
            open,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections forwarded so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Reset every open connection: both peers get an RST (linger 0, then closed), nothing
    /// in flight is delivered.
    pub fn reset_all(&self) {
        let streams: Vec<TcpStream> = self.open.lock().unwrap().drain(..).collect();
        for s in &streams {
            let l = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: setsockopt on a live socket with a valid linger struct.
            unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&l as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            // Wakes the copying threads without sending a FIN; they drop their clones.
            let _ = s.shutdown(Shutdown::Read);
        }
        // The last descriptor of each socket closes here or in its thread: RST.
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.reset_all();
    }
}

/// Copy `from` → `to` until either side ends; then stop reading `to`'s peer as well.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(n) if n > 0 => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        let _ = to.shutdown(Shutdown::Read);
        let _ = from.shutdown(Shutdown::Read);
    });
}
