//! A TCP relay a test can cut and heal: the network partition of the fault-injection
//! tests, on addresses inside the test only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Relays `127.0.0.1:<port>` to a target until dropped. While cut, every open
/// connection is closed and new ones are closed as soon as they are accepted.
pub struct Relay {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    target: Arc<Mutex<Vec<SocketAddr>>>,
    stall: Arc<AtomicBool>,
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Relay {
    pub fn start(target: SocketAddr) -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("address"), target)
    }

    /// A relay listening on `bind` (another loopback address with a chosen port, say).
    pub fn start_on(bind: SocketAddr, target: SocketAddr) -> Self {
        Self::start_to(bind, Arc::new(Mutex::new(vec![target])))
    }

    /// Each new connection goes to the next target in turn, as a Kubernetes Service
    /// spreads them over its pods.
    pub fn round_robin(targets: Vec<SocketAddr>) -> Self {
        let bind = "127.0.0.1:0".parse().expect("address");
        Self::start_to(bind, Arc::new(Mutex::new(targets)))
    }

    /// Replaces the round-robin targets (pods added and removed).
    pub fn set_targets(&self, targets: Vec<SocketAddr>) {
        *self.target.lock().expect("relay target") = targets;
    }

    /// Points the relay somewhere else (for a target known only after the relay's port
    /// was handed out).
    pub fn set_target(&self, target: SocketAddr) {
        *self.target.lock().expect("relay target") = vec![target];
    }

    fn start_to(bind: SocketAddr, target: Arc<Mutex<Vec<SocketAddr>>>) -> Self {
        let listener = TcpListener::bind(bind).expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        listener.set_nonblocking(true).expect("nonblocking");
        let (cut, open, stop) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(Mutex::new(Vec::<TcpStream>::new())),
            Arc::new(AtomicBool::new(false)),
        );
        let stall = Arc::new(AtomicBool::new(false));
        let (c, o, s, t, st) = (
            cut.clone(),
            open.clone(),
            stop.clone(),
            target.clone(),
            stall.clone(),
        );
        std::thread::Builder::new()
            .name("relay".into())
            .spawn(move || {
                let mut next = 0usize;
                while !s.load(Ordering::Relaxed) {
                    let client = match listener.accept() {
                        Ok((client, _)) => client,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(10));
                            continue;
                        }
                    };
                    let _ = client.set_nonblocking(false);
                    if c.load(Ordering::Relaxed) {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    if st.load(Ordering::Relaxed) {
                        // Accepted and never answered: a peer that hangs.
                        o.lock().expect("relay list").push(client);
                        continue;
                    }
                    let to = {
                        let targets = t.lock().expect("relay target");
                        let to = targets[next % targets.len()];
                        next += 1;
                        to
                    };
                    let Ok(server) = TcpStream::connect(to) else {
                        continue;
                    };
                    if let (Ok(a), Ok(b)) = (client.try_clone(), server.try_clone()) {
                        let mut list = o.lock().expect("relay list");
                        list.push(a);
                        list.push(b);
                    }
                    let (c2, s2) = (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    );
                    std::thread::spawn(move || pipe(client, server));
                    std::thread::spawn(move || pipe(s2, c2));
                }
            })
            .expect("spawn relay");
        Self {
            addr,
            cut,
            open,
            stop,
            target,
            stall,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The partition: closes every relayed connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::Relaxed);
        for s in self.open.lock().expect("relay list").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn heal(&self) {
        self.cut.store(false, Ordering::Relaxed);
        self.stall.store(false, Ordering::Relaxed);
    }

    /// New connections are accepted and then never answered (open ones keep working):
    /// a database that hangs.
    pub fn stall(&self) {
        self.stall.store(true, Ordering::Relaxed);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.cut();
    }
}
