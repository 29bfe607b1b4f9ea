//! The virtio devices' part of the state file: for each device its place,
//! its host end (a disk's path, a net card's backend), the core's status,
//! features and queues, and its transport's registers (MSI-X included).
//! Every count, tag and flag is checked on reading, so a corrupt file is a
//! [`StateError`], never a device half set up.
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::state::{Reader, StateError, Writer};
use crate::devices::virtio::backend::NetArgs;
use crate::devices::virtio::layout::MAX_DEVICES;
use crate::devices::virtio::msix::VECTORS;
use crate::devices::virtio::queue::QueueState;
use crate::devices::virtio::state::{CoreState, DeviceKind, DeviceState, MsixState, PciState, TransportState};

/// More queues than any device here has is a corrupt file.
const MAX_QUEUES: usize = 8;
/// PATH_MAX.
const MAX_PATH: usize = 4096;
const MAX_NET_SPEC: usize = 128;

const BLK: u8 = 1;
const NET: u8 = 2;
const BALLOON: u8 = 3;
const MMIO: u8 = 1;
const PCI: u8 = 2;

pub(super) fn encode(w: &mut Writer, devices: &[DeviceState]) {
    w.u32(devices.len() as u32);
    for d in devices {
        w.u64(d.base);
        match &d.kind {
            DeviceKind::Blk { path, read_only, sectors } => {
                w.0.push(BLK);
                bytes(w, path.as_os_str().as_bytes());
                w.0.push(u8::from(*read_only));
                w.u64(*sectors);
            }
            DeviceKind::Net { backend, mac } => {
                w.0.push(NET);
                bytes(w, backend.to_string().as_bytes());
                w.0.extend_from_slice(mac);
            }
            DeviceKind::Balloon { actual } => {
                w.0.push(BALLOON);
                w.u32(*actual);
            }
        }
        let c = &d.core;
        w.u32(c.status);
        w.u64(c.driver_features);
        w.0.push(u8::from(c.failed));
        w.u32(c.queues.len() as u32);
        for q in &c.queues {
            w.u32(q.size);
            for r in q.rings {
                w.u64(r);
            }
            w.0.push(u8::from(q.ready));
            w.0.extend_from_slice(&q.next_avail.to_le_bytes());
            w.0.extend_from_slice(&q.next_used.to_le_bytes());
        }
        match &d.transport {
            TransportState::Mmio { features_sel, driver_features_sel, queue_sel, interrupt_status } => {
                w.0.push(MMIO);
                for v in [features_sel, driver_features_sel, queue_sel, interrupt_status] {
                    w.u32(*v);
                }
            }
            TransportState::Pci(p) => {
                w.0.push(PCI);
                w.0.extend_from_slice(&p.command.to_le_bytes());
                w.0.extend_from_slice(&[u8::from(p.sizing[0]), u8::from(p.sizing[1]), p.interrupt_line]);
                w.u32(p.features_sel);
                w.u32(p.driver_features_sel);
                w.0.extend_from_slice(&p.queue_sel.to_le_bytes());
                let m = &p.msix;
                for v in m.table.iter().flatten() {
                    w.u32(*v);
                }
                w.0.extend_from_slice(&[u8::from(m.enabled), u8::from(m.function_masked)]);
                w.0.extend_from_slice(&m.config_vector.to_le_bytes());
                w.u32(m.queue_vectors.len() as u32);
                for v in &m.queue_vectors {
                    w.0.extend_from_slice(&v.to_le_bytes());
                }
                w.u32(m.pending);
                w.u32(m.isr);
            }
        }
    }
}

fn bytes(w: &mut Writer, b: &[u8]) {
    w.u32(b.len() as u32);
    w.0.extend_from_slice(b);
}

pub(super) fn decode(r: &mut Reader) -> Result<Vec<DeviceState>, StateError> {
    let n = r.u32()? as usize;
    if n > MAX_DEVICES {
        return Err(StateError::Bad("virtio device count"));
    }
    let mut devices = Vec::with_capacity(n);
    for _ in 0..n {
        let base = r.u64()?;
        let kind = match r.u8()? {
            BLK => {
                let path = PathBuf::from(OsStr::from_bytes(sized(r, MAX_PATH, "disk path")?));
                DeviceKind::Blk { path, read_only: flag(r)?, sectors: r.u64()? }
            }
            NET => {
                let spec = std::str::from_utf8(sized(r, MAX_NET_SPEC, "net backend")?)
                    .map_err(|_| StateError::Bad("net backend"))?;
                let backend = NetArgs::parse(spec).ok_or(StateError::Bad("net backend"))?;
                let mut mac = [0u8; 6];
                mac.copy_from_slice(r.take(6)?);
                DeviceKind::Net { backend, mac }
            }
            BALLOON => DeviceKind::Balloon { actual: r.u32()? },
            _ => return Err(StateError::Bad("virtio device type")),
        };
        let (status, driver_features, failed) = (r.u32()?, r.u64()?, flag(r)?);
        let nq = r.u32()? as usize;
        if nq > MAX_QUEUES {
            return Err(StateError::Bad("virtqueue count"));
        }
        let mut queues = Vec::with_capacity(nq);
        for _ in 0..nq {
            let size = r.u32()?;
            let rings = [r.u64()?, r.u64()?, r.u64()?];
            queues.push(QueueState { size, rings, ready: flag(r)?, next_avail: u16(r)?, next_used: u16(r)? });
        }
        let core = CoreState { status, driver_features, failed, queues };
        let transport = match r.u8()? {
            MMIO => TransportState::Mmio {
                features_sel: r.u32()?,
                driver_features_sel: r.u32()?,
                queue_sel: r.u32()?,
                interrupt_status: r.u32()?,
            },
            PCI => TransportState::Pci(pci(r)?),
            _ => return Err(StateError::Bad("virtio transport")),
        };
        devices.push(DeviceState { base, kind, core, transport });
    }
    Ok(devices)
}

fn pci(r: &mut Reader) -> Result<PciState, StateError> {
    let command = u16(r)?;
    let sizing = [flag(r)?, flag(r)?];
    let interrupt_line = r.u8()?;
    let (features_sel, driver_features_sel, queue_sel) = (r.u32()?, r.u32()?, u16(r)?);
    let mut table = [[0u32; 4]; VECTORS];
    for v in table.iter_mut().flatten() {
        *v = r.u32()?;
    }
    let (enabled, function_masked, config_vector) = (flag(r)?, flag(r)?, u16(r)?);
    let nv = r.u32()? as usize;
    if nv > MAX_QUEUES {
        return Err(StateError::Bad("MSI-X queue vector count"));
    }
    let queue_vectors = (0..nv).map(|_| u16(r)).collect::<Result<_, _>>()?;
    let msix =
        MsixState { table, enabled, function_masked, config_vector, queue_vectors, pending: r.u32()?, isr: r.u32()? };
    Ok(PciState { command, sizing, interrupt_line, features_sel, driver_features_sel, queue_sel, msix })
}

fn sized<'a>(r: &'a mut Reader, max: usize, what: &'static str) -> Result<&'a [u8], StateError> {
    let n = r.u32()? as usize;
    if n > max {
        return Err(StateError::Bad(what));
    }
    r.take(n)
}

fn flag(r: &mut Reader) -> Result<bool, StateError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(StateError::Bad("a flag that is neither 0 nor 1")),
    }
}

fn u16(r: &mut Reader) -> Result<u16, StateError> {
    let b = r.take(2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// One device of each kind, on both transports.
    pub fn sample() -> Vec<DeviceState> {
        let q = QueueState { size: 256, rings: [0x1000, 0x2000, 0x3000], ready: true, next_avail: 7, next_used: 5 };
        let core = CoreState { status: 0xf, driver_features: 1 << 32 | 1 << 5, failed: false, queues: vec![q] };
        let mmio = TransportState::Mmio { features_sel: 1, driver_features_sel: 0, queue_sel: 0, interrupt_status: 1 };
        let mut msix =
            MsixState { enabled: true, config_vector: 0, queue_vectors: vec![1, 2], isr: 1, ..Default::default() };
        msix.table[1] = [0xfee0_0000, 0, 0x41, 0];
        let pci = TransportState::Pci(PciState { command: 6, queue_sel: 1, msix, ..Default::default() });
        vec![
            DeviceState {
                base: 0xc000_1000,
                kind: DeviceKind::Blk { path: "/tmp/disk.img".into(), read_only: true, sectors: 131_072 },
                core: core.clone(),
                transport: mmio,
            },
            DeviceState {
                base: 0xc100_8000,
                kind: DeviceKind::Net { backend: NetArgs::Tap("tap0".into()), mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56] },
                core: CoreState { failed: true, ..core.clone() },
                transport: pci.clone(),
            },
            DeviceState { base: 0xc101_0000, kind: DeviceKind::Balloon { actual: 3 }, core, transport: pci },
        ]
    }

    fn enc(d: &[DeviceState]) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        encode(&mut w, d);
        w.0
    }

    fn dec(b: &[u8]) -> Result<Vec<DeviceState>, StateError> {
        decode(&mut Reader { b, at: 0 })
    }

    #[test]
    fn devices_round_trip() {
        let s = sample();
        assert_eq!(dec(&enc(&s)).unwrap(), s);
        assert_eq!(dec(&enc(&[])).unwrap(), vec![]);
    }

    #[test]
    fn corrupt_device_state_is_refused() {
        let good = enc(&sample());
        for cut in [0, 3, 20, good.len() / 2, good.len() - 1] {
            assert!(matches!(dec(&good[..cut]), Err(StateError::Truncated(_))), "cut at {cut}");
        }
        let patch = |at: usize, b: &[u8]| {
            let mut v = good.clone();
            v[at..at + b.len()].copy_from_slice(b);
            dec(&v).unwrap_err()
        };
        assert_eq!(patch(0, &99u32.to_le_bytes()), StateError::Bad("virtio device count"));
        // The first device: count, base, then its type tag.
        assert_eq!(patch(12, &[9]), StateError::Bad("virtio device type"));
        assert_eq!(patch(13, &u32::MAX.to_le_bytes()), StateError::Bad("disk path"));
        let path_end = 17 + "/tmp/disk.img".len();
        assert_eq!(patch(path_end, &[2]), StateError::Bad("a flag that is neither 0 nor 1"));
        // status, features, failed, then the queue count.
        let queues = path_end + 1 + 8 + 4 + 8 + 1;
        assert_eq!(patch(queues, &100u32.to_le_bytes()), StateError::Bad("virtqueue count"));
        let transport = queues + 4 + 4 + 24 + 1 + 4;
        assert_eq!(patch(transport, &[7]), StateError::Bad("virtio transport"));
        // The net card's backend.
        let net = transport + 1 + 16 + 8;
        assert_eq!(good[net], NET);
        assert_eq!(patch(net + 5, b"xap="), StateError::Bad("net backend"));
    }
}
