//! [`NetStack`]: the smoltcp interface over the virtio-net card, its
//! sockets, and the addressing (DHCP or static). It belongs to the net
//! thread; other threads reach it only through `NetHandle::call`, so every
//! method here runs on that thread and nothing in it needs a lock.
//!
//! This is the boundary the socket protocol will build on: it will add
//! sockets with [`NetStack::add_socket`] (TCP ones tuned by [`tune_tcp`]),
//! use them through [`NetStack::socket`], and learn the name servers from
//! [`NetStack::dns_servers`].
use super::options::{Addressing, Options};
use super::phy::VirtioPhy;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::Ipv4Addr;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::{dhcpv4, tcp, AnySocket};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Cidr};
use vireo_rt::println;

/// What the interface has now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipv4Config {
    pub cidr: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
}

/// Counters of the net thread's work (`net.probe` prints them).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub polls: u64,
    /// TSC ticks spent in [`NetStack::poll`] (guest instructions under
    /// QEMU `-icount shift=0`).
    pub poll_tsc: u64,
    pub rx_frames: u64,
    pub tx_frames: u64,
}

/// What `/sys/net/eth0` shows (sysfiles.rs): a snapshot taken on the net thread.
#[derive(Clone, Debug)]
pub struct IfaceStatus {
    pub name: &'static str,
    pub mac: [u8; 6],
    pub link_up: bool,
    /// "dhcp" or "static".
    pub method: &'static str,
    pub config: Ipv4Config,
    pub counters: super::phy::Counters,
    pub device_error: Option<vireo_virtio::Error>,
}

pub struct NetStack {
    pub(super) iface: Interface,
    polls: u64,
    poll_tsc: u64,
    phy: VirtioPhy,
    pub(super) sockets: SocketSet<'static>,
    /// The socket layer's tables (`sock`).
    pub(super) layer: super::sock::Layer,
    dhcp: Option<SocketHandle>,
    config: Ipv4Config,
    /// `dns=` from the command line: overrides what a lease says.
    dns_override: Vec<Ipv4Addr>,
    /// "virtio-net (MMIO)" or "(PCI)", for messages.
    name: &'static str,
    mac: [u8; 6],
}

/// smoltcp's clock: the monotonic clock in microseconds.
pub fn instant(now_ns: u64) -> Instant {
    Instant::from_micros((now_ns / 1000) as i64)
}

impl NetStack {
    /// The interface on `phy`, addressed as `opts` say (a static address
    /// at once, DHCP from the first poll on).
    pub fn new(mut phy: VirtioPhy, mac: [u8; 6], opts: &Options, name: &'static str, now_ns: u64) -> Self {
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        cfg.random_seed = seed(&mac);
        let iface = Interface::new(cfg, &mut phy, instant(now_ns));
        let mut stack = NetStack {
            iface,
            polls: 0,
            poll_tsc: 0,
            phy,
            sockets: SocketSet::new(vec![]),
            layer: Default::default(),
            dhcp: None,
            config: Ipv4Config::default(),
            dns_override: opts.dns.clone(),
            name,
            mac,
        };
        match opts.addressing {
            Addressing::Dhcp => {
                let mut d = dhcpv4::Socket::new();
                d.set_max_lease_duration(opts.max_lease_s.map(Duration::from_secs));
                stack.dhcp = Some(stack.sockets.add(d));
            }
            Addressing::Static { cidr, gateway } => {
                let dns = stack.dns_override.clone();
                stack.set_config(Ipv4Config { cidr: Some(cidr), gateway, dns }, "static");
            }
            Addressing::Off => {}
        }
        stack
    }

    /// Moves every frame the card has and every one the sockets want to
    /// send, then applies what DHCP learned and kicks the card once.
    /// Returns true when socket state may have changed.
    ///
    /// Ingress goes a frame at a time so that every `REFILL_EVERY` frames
    /// the socket layer can act on what the stack woke (listeners refill
    /// their backlog: a burst of SYNs larger than the Listen sockets would
    /// otherwise be reset).
    pub fn poll(&mut self, now_ns: u64) -> bool {
        let t0 = vireo_rt::rdtsc();
        self.phy.tx_blocked = false;
        let t = instant(now_ns);
        self.iface.poll_maintenance(t);
        let mut changed = false;
        let mut frames = 0u32;
        loop {
            match self.iface.poll_ingress_single(t, &mut self.phy, &mut self.sockets) {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => changed = true,
            }
            frames += 1;
            if frames.is_multiple_of(super::sock::REFILL_EVERY) {
                self.ready_drain();
            }
        }
        while self.iface.poll_egress(t, &mut self.phy, &mut self.sockets) == PollResult::SocketStateChanged {
            changed = true;
        }
        self.dhcp_events();
        self.phy.net.flush();
        self.polls += 1;
        self.poll_tsc += vireo_rt::rdtsc().wrapping_sub(t0);
        changed
    }

    pub fn stats(&self) -> Stats {
        Stats {
            polls: self.polls,
            poll_tsc: self.poll_tsc,
            rx_frames: self.phy.counters.rx_frames,
            tx_frames: self.phy.counters.tx_frames,
        }
    }

    pub fn status(&self) -> IfaceStatus {
        IfaceStatus {
            name: self.name,
            mac: self.mac,
            link_up: self.phy.net.link_up(),
            method: if self.dhcp.is_some() { "dhcp" } else { "static" },
            config: self.config.clone(),
            counters: self.phy.counters,
            device_error: self.device_error(),
        }
    }

    /// How long the thread may sleep before smoltcp has work (a timer:
    /// retransmission, DHCP renewal, delayed ACK); None: only a frame or a
    /// command can make work.
    pub fn poll_delay_ns(&mut self, now_ns: u64) -> Option<u64> {
        self.iface.poll_delay(instant(now_ns), &self.sockets).map(|d| d.total_micros().saturating_mul(1000))
    }

    /// The card said something: a used buffer or a config change (link).
    pub fn interrupt(&mut self) {
        match self.phy.net.ack_interrupt() {
            Ok(true) => {
                let up = self.phy.net.link_up();
                println!("io: net: link {}", if up { "up" } else { "down" });
                if let (true, Some(h)) = (up, self.dhcp) {
                    // Back from a cable pull: ask for a lease again.
                    self.sockets.get_mut::<dhcpv4::Socket>(h).reset();
                }
            }
            Ok(false) => {}
            Err(e) => {
                self.phy.counters.errors += 1;
                self.phy.error.get_or_insert(e);
            }
        }
    }

    /// The error that stopped the card, if it lied; it then gets no traffic.
    pub fn device_error(&self) -> Option<vireo_virtio::Error> {
        self.phy.error.or(self.phy.net.error())
    }

    /// The last poll could not send or receive for want of a transmit buffer.
    pub fn tx_blocked(&self) -> bool {
        self.phy.tx_blocked
    }

    pub fn config(&self) -> &Ipv4Config {
        &self.config
    }
    #[expect(dead_code, reason = "for the resolver (issue 12, next step)")]
    pub fn dns_servers(&self) -> &[Ipv4Addr] {
        &self.config.dns
    }
    #[expect(dead_code, reason = "for the socket protocol (issue 12, next step)")]
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Adds a socket (buffers are the caller's choice).
    pub fn add_socket<S: AnySocket<'static>>(&mut self, s: S) -> SocketHandle {
        self.sockets.add(s)
    }
    /// A socket by handle. smoltcp panics on a handle it never gave or of
    /// another type: callers keep handles they got from [`add_socket`].
    pub fn socket<S: AnySocket<'static>>(&mut self, h: SocketHandle) -> &mut S {
        self.sockets.get_mut(h)
    }
    pub fn remove_socket(&mut self, h: SocketHandle) {
        self.sockets.remove(h);
    }

    fn dhcp_events(&mut self) {
        let Some(h) = self.dhcp else { return };
        let event = self.sockets.get_mut::<dhcpv4::Socket>(h).poll();
        match event {
            Some(dhcpv4::Event::Configured(c)) => {
                let dns = if self.dns_override.is_empty() { c.dns_servers.to_vec() } else { self.dns_override.clone() };
                let next = Ipv4Config { cidr: Some(c.address), gateway: c.router, dns };
                self.set_config(next, "DHCP");
            }
            Some(dhcpv4::Event::Deconfigured) => {
                if self.config.cidr.is_some() {
                    println!("io: net: DHCP lease lost; no address");
                }
                self.set_config(Ipv4Config::default(), "");
            }
            None => {}
        }
    }

    /// Puts `next` on the interface (address, default route, name servers)
    /// and says so once per change.
    fn set_config(&mut self, next: Ipv4Config, origin: &str) {
        if next == self.config {
            return;
        }
        self.iface.update_ip_addrs(|addrs| {
            addrs.clear();
            if let Some(c) = next.cidr {
                // Room for one address is always there after a clear.
                let _ = addrs.push(IpCidr::Ipv4(c));
            }
        });
        let routes = self.iface.routes_mut();
        match next.gateway {
            // The table holds 2 routes; after removing ours there is room.
            Some(g) => {
                let _ = routes.add_default_ipv4_route(g);
            }
            None => {
                routes.remove_default_ipv4_route();
            }
        }
        self.config = next;
        if let Some(c) = self.config.cidr {
            println!("io: net: {} ({origin}, {} {})", describe(c, &self.config), self.name, mac_text(&self.mac));
        }
    }
}

/// `10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3` (absent parts left out).
fn describe(cidr: Ipv4Cidr, c: &Ipv4Config) -> alloc::string::String {
    let mut s = alloc::format!("{}/{}", cidr.address(), cidr.prefix_len());
    if let Some(g) = c.gateway {
        let _ = write!(s, " gw {g}");
    }
    for (i, d) in c.dns.iter().enumerate() {
        let _ = write!(s, "{}{d}", if i == 0 { " dns " } else { "," });
    }
    s
}

pub fn mac_text(m: &[u8; 6]) -> alloc::string::String {
    alloc::format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}

/// smoltcp's seed (TCP initial sequence numbers, ephemeral ports, DHCP
/// transaction ids): not a secret yet (raw-ABI programs get no kernel seed),
/// but different every boot: the TSC, the clock and the MAC, mixed.
pub fn seed(mac: &[u8; 6]) -> u64 {
    let mut x = vireo_rt::rdtsc() ^ vireo_rt::sys::now_ns().rotate_left(32);
    for &b in mac {
        x = (x ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    // splitmix64's finaliser.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The TCP settings a server wants, for sockets the socket layer makes:
/// Reno congestion control (smoltcp's default is none: a sender would
/// blast a whole window into a lossy path). Nagle stays on, as on Linux,
/// for `set_nodelay` to turn off; keep-alive stays off (smoltcp's and
/// Linux's default); the 10 ms delayed ACK stays (smoltcp
/// already acks at once after a full segment's worth and on window
/// updates).
pub fn tune_tcp(s: &mut tcp::Socket<'_>) {
    s.set_congestion_control(tcp::CongestionControl::Reno);
}

impl NetStack {
    /// Connects the TCP socket `h` to `remote` from `local_port` (smoltcp
    /// needs the interface for the source address). The resolver's TCP
    /// fallback uses it.
    pub fn tcp_connect(
        &mut self,
        h: SocketHandle,
        remote: IpEndpoint,
        local_port: u16,
    ) -> Result<(), tcp::ConnectError> {
        let cx = self.iface.context();
        self.sockets.get_mut::<tcp::Socket>(h).connect(cx, remote, local_port)
    }
}
