//! Where a virtio-net card's frames go: `--net tap=NAME` (a host tap
//! device, root or CAP_NET_ADMIN), `--net udp=HOST:PORT[,local=HOST:PORT]`
//! (one Ethernet frame per UDP datagram, what QEMU's
//! `-netdev socket,udp=...,localaddr=...` speaks, so the tests' frame peer
//! can play the network without root), or `--net loopback` (every frame
//! the guest sends comes straight back). All non-blocking, one frame per
//! read or write.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;

/// `--net ...` as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetArgs {
    Tap(String),
    Udp { remote: SocketAddr, local: SocketAddr },
    Loopback,
}

impl NetArgs {
    pub fn parse(v: &str) -> Option<NetArgs> {
        if v == "loopback" {
            return Some(NetArgs::Loopback);
        }
        if let Some(name) = v.strip_prefix("tap=") {
            // IFNAMSIZ is 16 with the NUL.
            return (!name.is_empty() && name.len() < 16 && !name.contains('\0')).then(|| NetArgs::Tap(name.into()));
        }
        let rest = v.strip_prefix("udp=")?;
        let (remote, local) = match rest.split_once(",local=") {
            Some((r, l)) => (r.parse().ok()?, l.parse().ok()?),
            None => (rest.parse().ok()?, "127.0.0.1:0".parse().ok()?),
        };
        Some(NetArgs::Udp { remote, local })
    }
}

impl std::fmt::Display for NetArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetArgs::Tap(name) => write!(f, "tap={name}"),
            NetArgs::Udp { remote, local } => write!(f, "udp={remote},local={local}"),
            NetArgs::Loopback => write!(f, "loopback"),
        }
    }
}

pub enum Backend {
    Tap(File),
    Udp(UdpSocket),
    /// What the guest sends is written to `.0` and read back from `.1`.
    Loopback(UnixDatagram, UnixDatagram),
}

impl Backend {
    pub fn open(args: &NetArgs) -> io::Result<Backend> {
        match args {
            NetArgs::Tap(name) => open_tap(name).map(Backend::Tap),
            NetArgs::Udp { remote, local } => {
                let s = UdpSocket::bind(local)?;
                s.connect(remote)?;
                s.set_nonblocking(true)?;
                Ok(Backend::Udp(s))
            }
            NetArgs::Loopback => {
                let (a, b) = UnixDatagram::pair()?;
                a.set_nonblocking(true)?;
                b.set_nonblocking(true)?;
                Ok(Backend::Loopback(a, b))
            }
        }
    }

    /// Send one frame. A frame that cannot go now (a full tap queue, no UDP
    /// peer yet) is dropped, as a wire would.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        match self {
            Backend::Tap(f) => (&*f).write(frame).map(drop),
            Backend::Udp(s) => s.send(frame).map(drop),
            Backend::Loopback(a, _) => a.send(frame).map(drop),
        }
    }

    /// One frame into `buf`, or `None` if none is waiting. A frame longer
    /// than `buf` is cut (the caller drops frames that fill `buf`).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let r = match self {
            Backend::Tap(f) => (&*f).read(buf),
            Backend::Udp(s) => s.recv(buf),
            Backend::Loopback(_, b) => b.recv(buf),
        };
        match r {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            // A UDP peer that is not there yet (ICMP port unreachable).
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The descriptor that becomes readable when a frame waits.
    pub fn fd(&self) -> RawFd {
        match self {
            Backend::Tap(f) => f.as_raw_fd(),
            Backend::Udp(s) => s.as_raw_fd(),
            Backend::Loopback(_, b) => b.as_raw_fd(),
        }
    }
}

/// struct ifreq with the flags member (linux/if.h), 40 bytes.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: libc::c_short,
    _pad: [u8; 22],
}

fn open_tap(name: &str) -> io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).custom_flags(libc::O_NONBLOCK).open("/dev/net/tun")?;
    let mut req = IfReq { name: [0; 16], flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short, _pad: [0; 22] };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // The fd is the tun device opened above.
    // SAFETY: TUNSETIFF reads and writes a struct ifreq (40 bytes), which `req` is.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF as _, &mut req) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_args() {
        assert_eq!(NetArgs::parse("loopback"), Some(NetArgs::Loopback));
        assert_eq!(NetArgs::parse("tap=tap0"), Some(NetArgs::Tap("tap0".into())));
        assert_eq!(NetArgs::parse("tap="), None);
        assert_eq!(NetArgs::parse("tap=0123456789abcdef"), None);
        assert_eq!(
            NetArgs::parse("udp=127.0.0.1:5000,local=127.0.0.1:5001"),
            Some(NetArgs::Udp { remote: "127.0.0.1:5000".parse().unwrap(), local: "127.0.0.1:5001".parse().unwrap() })
        );
        assert!(matches!(NetArgs::parse("udp=127.0.0.1:5000"), Some(NetArgs::Udp { .. })));
        assert_eq!(NetArgs::parse("udp=nowhere"), None);
        assert_eq!(NetArgs::parse("user"), None);
        let u = NetArgs::parse("udp=127.0.0.1:5000").unwrap();
        assert_eq!(u.to_string(), "udp=127.0.0.1:5000,local=127.0.0.1:0");
        assert_eq!(NetArgs::parse(&u.to_string()), Some(u));
    }

    #[test]
    fn loopback_returns_frames_and_udp_reaches_a_peer() {
        let b = Backend::open(&NetArgs::Loopback).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        b.send(b"frame").unwrap();
        assert_eq!(b.recv(&mut buf).unwrap(), Some(5));
        assert_eq!(&buf[..5], b"frame");

        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b =
            Backend::open(&NetArgs::Udp { remote: peer.local_addr().unwrap(), local: "127.0.0.1:0".parse().unwrap() })
                .unwrap();
        b.send(b"to peer").unwrap();
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to peer");
        peer.send_to(b"back", from).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(b.recv(&mut buf).unwrap(), Some(4));
    }
}
