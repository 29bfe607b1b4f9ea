//! The network (issue 12, first layer; docs/network.md): the first
//! virtio-net card, driven by `vireo_virtio::net`, under a smoltcp
//! interface addressed by DHCP (default) or statically, on a thread of its
//! own. Nothing here delays the server's `ready` line: before it, [`claim`]
//! only finds and opens the card (two system calls); after it, [`start`]
//! starts the thread, which brings the card and the interface up.
//!
//! The stack state is a [`NetStack`] owned by that thread; other threads of
//! the server reach it through a [`NetHandle`] ([`handle`]): commands
//! (closures run on the stack) pushed on a queue, and a wake-up.
mod dns;
mod options;
mod phy;
mod ping;
mod probe;
pub mod sock;
mod stack;
mod thread;

pub use dns::serve_resolve;
pub use ping::{PingError, MAX_PAYLOAD as MAX_PING_PAYLOAD};
pub use stack::NetStack;
pub use thread::NetHandle;

use options::{Addressing, Options};
use phy::VirtioPhy;
use vireo_rt::device::{DeviceInfo, KIND_PCI};
use vireo_rt::sync::Mutex;
use vireo_rt::thread::JoinHandle;
use vireo_rt::{println, sys};
use vireo_virtio::net::{Net, NetMem, BUF_STRIDE, RX_BUFS, TX_BUFS, VIRTIO_NET};
use vireo_virtio::{queue, sys as vsys, Error};

static HANDLE: Mutex<Option<NetHandle>> = Mutex::new(None);
static PROBE: Mutex<Option<JoinHandle>> = Mutex::new(None);
/// How long the shutdown waits for `net.probe` to finish.
const PROBE_WAIT_NS: u64 = 120_000_000_000;

/// The way to the stack, once [`start`] found a card.
pub fn handle() -> Option<NetHandle> {
    HANDLE.lock().clone()
}

/// The first virtio-net card, opened but not yet touched, and the options.
pub struct Card {
    handle: u64,
    info: DeviceInfo,
    name: &'static str,
    opts: Options,
}

/// Finds and opens the first virtio-net card, before the disk is mounted:
/// on microvm the card's registers share a page with the disk's, and the
/// kernel maps that page for a process only once it has opened every
/// device on it. Only `DeviceOpen` here (no mapping, no waiting): the card
/// is brought up by [`start`]. None without a card, or with `ip=off`.
pub fn claim(right: u64, args: &[&str]) -> Option<Card> {
    let (opts, bad) = options::parse(args.iter().copied());
    for m in bad {
        println!("io: net: {m}");
    }
    if opts.addressing == Addressing::Off {
        return None;
    }
    let (index, info) = vsys::find(right, VIRTIO_NET)?;
    let name = if info.kind == KIND_PCI { "virtio-net (PCI)" } else { "virtio-net (MMIO)" };
    match vireo_rt::device::open(right, index) {
        Ok(handle) => Some(Card { handle, info, name, opts }),
        Err(e) => {
            println!("io: net: {name}: cannot open: {}", e.name());
            None
        }
    }
}

/// Starts the net thread on `card`: it brings the card up and addresses
/// the interface as the options say (the `ready` line is already out).
pub fn start(card: Card) {
    let name = card.name;
    let (handle, wake_r) = match thread::channel() {
        Ok(c) => c,
        Err(e) => return println!("io: net: cannot make the wake pipe: {}", e.name()),
    };
    let (net, probe, lease) = (handle.clone(), card.opts.probe, card.opts.max_lease_s);
    dns::configure(&card.opts.dns_servers);
    let resolve = card.opts.resolve.clone();
    let started = vireo_rt::thread::spawn(move || match open(&card) {
        Ok((stack, irq)) => thread::run(stack, net, irq, wake_r),
        Err(e) => {
            println!("io: net: {name}: cannot start: {e:?}");
            thread::close(&net);
        }
    });
    if let Err(e) = started {
        return println!("io: net: cannot start the net thread: {}", e.name());
    }
    *HANDLE.lock() = Some(handle.clone());
    dns::start_debug(handle.clone(), resolve);
    if probe {
        match vireo_rt::thread::spawn(move || probe::run(handle, lease)) {
            Ok(j) => *PROBE.lock() = Some(j),
            Err(e) => println!("io: net: cannot start the probe: {}", e.name()),
        }
    }
}

/// At shutdown: lets a running `net.probe` and `net.resolve=` finish
/// (bounded), so their findings reach the console before the system
/// powers off.
pub fn finish_probe() {
    dns::finish_debug(PROBE_WAIT_NS);
    if let Some(j) = PROBE.lock().take() {
        if sys::wait(j.raw(), PROBE_WAIT_NS).is_err() {
            println!("io: net: probe: still running at shutdown");
        }
    }
}

/// Maps the card, gives it its rings and buffers, and builds the stack on
/// it; returns the stack and the card's interrupt.
fn open(card: &Card) -> Result<(NetStack, u64), Error> {
    let opened = vsys::attach(card.handle, &card.info)?;
    let h = opened.handle;
    let ring = queue::layout(queue::MAX_SIZE).2;
    let mem = (|| -> Result<NetMem, Error> {
        Ok(NetMem {
            rx_queue: vsys::dma(h, ring)?,
            tx_queue: vsys::dma(h, ring)?,
            rx_bufs: vsys::dma(h, u64::from(RX_BUFS) * BUF_STRIDE)?,
            tx_bufs: vsys::dma(h, u64::from(TX_BUFS) * BUF_STRIDE)?,
        })
    })();
    let net = match mem.and_then(|m| Net::new(opened.transport, m)) {
        Ok(n) => n,
        Err(e) => {
            // Closing the handle resets the card and frees its memory.
            let _ = sys::close(h);
            return Err(e);
        }
    };
    let mac = net.mac().unwrap_or_else(|| local_mac(stack::seed(&[0; 6])));
    let stack = NetStack::new(VirtioPhy::new(net), mac, &card.opts, card.name, sys::now_ns());
    Ok((stack, opened.irq.0))
}

/// A locally administered unicast MAC for a card that offers none.
fn local_mac(seed: u64) -> [u8; 6] {
    let b = seed.to_le_bytes();
    [0x02, b[0], b[1], b[2], b[3], b[4]]
}
