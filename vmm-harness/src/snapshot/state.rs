//! The snapshot's state file (`DIR/state`): what a restored VM needs besides
//! its memory, in one versioned binary file. KVM's state structures are
//! written as their raw bytes (zerocopy views), so the file is meant for the
//! same vmm-harness build on a host with the same KVM, which the version and
//! the structure sizes in the header check; anything else is refused with
//! the reason, never half-restored.
//!
//! Layout: magic, version, the sizes of the KVM structures, then the VM
//! (RAM size, vCPU count, clock, irqchips, COM1), each vCPU, and the virtio
//! devices ([`super::devices`]).
use kvm_bindings::{
    kvm_clock_data, kvm_debugregs, kvm_irqchip, kvm_lapic_state, kvm_mp_state, kvm_msr_entry, kvm_regs, kvm_sregs,
    kvm_vcpu_events, kvm_xcrs, kvm_xsave,
};
use vm_superio::serial::SerialState;
use zerocopy::{FromBytes, IntoBytes};

use crate::devices::virtio::state::DeviceState;

const MAGIC: &[u8; 8] = b"VIREOSNP";
/// 2: the virtio devices' state at the end.
const VERSION: u32 = 2;
/// More is a corrupt file (KVM has a few hundred MSRs at most).
const MAX_MSRS: usize = 4096;
/// The 16550's FIFO.
const MAX_SERIAL_FIFO: usize = 64;

/// One vCPU, as KVM gives it.
#[derive(Debug, Default)]
pub struct VcpuState {
    pub regs: kvm_regs,
    pub sregs: kvm_sregs,
    pub xsave: kvm_xsave,
    pub xcrs: kvm_xcrs,
    pub lapic: kvm_lapic_state,
    pub mp_state: kvm_mp_state,
    pub events: kvm_vcpu_events,
    pub debugregs: kvm_debugregs,
    pub msrs: Vec<kvm_msr_entry>,
}

// kvm_xsave is neither Clone nor PartialEq in kvm-bindings.
impl Clone for VcpuState {
    fn clone(&self) -> Self {
        VcpuState {
            xsave: kvm_xsave::read_from_bytes(self.xsave.as_bytes()).unwrap_or_default(),
            msrs: self.msrs.clone(),
            ..*self
        }
    }
}

/// The whole VM but its memory.
#[derive(Debug)]
pub struct VmState {
    pub mem_mib: u64,
    pub clock: kvm_clock_data,
    /// PIC master, PIC slave, IOAPIC.
    pub irqchips: [kvm_irqchip; 3],
    pub serial: SerialState,
    pub vcpus: Vec<VcpuState>,
    pub devices: Vec<DeviceState>,
}

/// Why a state file cannot be restored.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("not a vmm-harness snapshot (bad magic)")]
    BadMagic,
    #[error("snapshot format version {0}, this vmm-harness reads version {VERSION}")]
    Version(u32),
    #[error("written with other KVM structure sizes ({0}): a different vmm-harness or host")]
    Layout(&'static str),
    #[error("truncated at byte {0}")]
    Truncated(usize),
    #[error("{0} trailing bytes")]
    Trailing(usize),
    #[error("bad value: {0}")]
    Bad(&'static str),
}

/// The structure sizes the file depends on, in header order.
fn sizes() -> [(&'static str, u32); 11] {
    fn s<T>() -> u32 {
        std::mem::size_of::<T>() as u32
    }
    [
        ("kvm_regs", s::<kvm_regs>()),
        ("kvm_sregs", s::<kvm_sregs>()),
        ("kvm_xsave", s::<kvm_xsave>()),
        ("kvm_xcrs", s::<kvm_xcrs>()),
        ("kvm_lapic_state", s::<kvm_lapic_state>()),
        ("kvm_mp_state", s::<kvm_mp_state>()),
        ("kvm_vcpu_events", s::<kvm_vcpu_events>()),
        ("kvm_debugregs", s::<kvm_debugregs>()),
        ("kvm_msr_entry", s::<kvm_msr_entry>()),
        ("kvm_clock_data", s::<kvm_clock_data>()),
        ("kvm_irqchip", s::<kvm_irqchip>()),
    ]
}

pub(super) struct Writer(pub(super) Vec<u8>);

impl Writer {
    fn raw<T: IntoBytes + zerocopy::Immutable>(&mut self, v: &T) {
        self.0.extend_from_slice(v.as_bytes());
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

pub(super) struct Reader<'a> {
    pub(super) b: &'a [u8],
    pub(super) at: usize,
}

impl Reader<'_> {
    pub(super) fn take(&mut self, n: usize) -> Result<&[u8], StateError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or(StateError::Truncated(self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn raw<T: FromBytes>(&mut self) -> Result<T, StateError> {
        let at = self.at;
        T::read_from_bytes(self.take(std::mem::size_of::<T>())?).map_err(|_| StateError::Truncated(at))
    }
    pub(super) fn u32(&mut self) -> Result<u32, StateError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| StateError::Truncated(self.at))?))
    }
    pub(super) fn u64(&mut self) -> Result<u64, StateError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| StateError::Truncated(self.at))?))
    }
    pub(super) fn u8(&mut self) -> Result<u8, StateError> {
        Ok(self.take(1)?[0])
    }
}

pub fn encode(s: &VmState) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(MAGIC);
    w.u32(VERSION);
    for (_, size) in sizes() {
        w.u32(size);
    }
    w.u64(s.mem_mib);
    w.u32(s.vcpus.len() as u32);
    w.raw(&s.clock);
    for c in &s.irqchips {
        w.raw(c);
    }
    let sr = &s.serial;
    for b in [
        sr.baud_divisor_low,
        sr.baud_divisor_high,
        sr.interrupt_enable,
        sr.interrupt_identification,
        sr.line_control,
        sr.line_status,
        sr.modem_control,
        sr.modem_status,
        sr.scratch,
    ] {
        w.0.push(b);
    }
    w.u32(sr.in_buffer.len() as u32);
    w.0.extend_from_slice(&sr.in_buffer);
    for v in &s.vcpus {
        w.raw(&v.regs);
        w.raw(&v.sregs);
        w.raw(&v.xsave);
        w.raw(&v.xcrs);
        w.raw(&v.lapic);
        w.raw(&v.mp_state);
        w.raw(&v.events);
        w.raw(&v.debugregs);
        w.u32(v.msrs.len() as u32);
        for m in &v.msrs {
            w.raw(m);
        }
    }
    super::devices::encode(&mut w, &s.devices);
    w.0
}

pub fn decode(b: &[u8]) -> Result<VmState, StateError> {
    let mut r = Reader { b, at: 0 };
    if r.take(MAGIC.len()).map_err(|_| StateError::BadMagic)? != MAGIC {
        return Err(StateError::BadMagic);
    }
    let version = r.u32()?;
    if version != VERSION {
        return Err(StateError::Version(version));
    }
    for (name, size) in sizes() {
        if r.u32()? != size {
            return Err(StateError::Layout(name));
        }
    }
    let mem_mib = r.u64()?;
    if !(crate::cli::MIN_MEM_MIB..=crate::cli::MAX_MEM_MIB).contains(&mem_mib) {
        return Err(StateError::Bad("RAM size"));
    }
    let cpus = r.u32()? as usize;
    if !(1..=crate::cli::MAX_CPUS as usize).contains(&cpus) {
        return Err(StateError::Bad("vCPU count"));
    }
    let clock = r.raw()?;
    let irqchips = [r.raw()?, r.raw()?, r.raw()?];
    let mut regs8 = [0u8; 9];
    for b in regs8.iter_mut() {
        *b = r.u8()?;
    }
    let fifo = r.u32()? as usize;
    if fifo > MAX_SERIAL_FIFO {
        return Err(StateError::Bad("serial FIFO length"));
    }
    let serial = SerialState {
        baud_divisor_low: regs8[0],
        baud_divisor_high: regs8[1],
        interrupt_enable: regs8[2],
        interrupt_identification: regs8[3],
        line_control: regs8[4],
        line_status: regs8[5],
        modem_control: regs8[6],
        modem_status: regs8[7],
        scratch: regs8[8],
        in_buffer: r.take(fifo)?.to_vec(),
    };
    let mut vcpus = Vec::with_capacity(cpus);
    for _ in 0..cpus {
        let mut v = VcpuState {
            regs: r.raw()?,
            sregs: r.raw()?,
            xsave: r.raw()?,
            xcrs: r.raw()?,
            lapic: r.raw()?,
            mp_state: r.raw()?,
            events: r.raw()?,
            debugregs: r.raw()?,
            msrs: Vec::new(),
        };
        let n = r.u32()? as usize;
        if n > MAX_MSRS {
            return Err(StateError::Bad("MSR count"));
        }
        for _ in 0..n {
            v.msrs.push(r.raw()?);
        }
        vcpus.push(v);
    }
    let devices = super::devices::decode(&mut r)?;
    if r.at != b.len() {
        return Err(StateError::Trailing(b.len() - r.at));
    }
    Ok(VmState { mem_mib, clock, irqchips, serial, vcpus, devices })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VmState {
        let mut v = VcpuState::default();
        v.regs.rip = 0xffff_ffff_8000_1234;
        v.sregs.cr3 = 0x16b000;
        v.lapic.regs[0x20] = 7;
        v.msrs = vec![kvm_msr_entry { index: 0x4b56_4d01, data: 0x1001, ..Default::default() }];
        let chip = kvm_irqchip { chip_id: 2, ..Default::default() };
        let clock = kvm_clock_data { clock: 123_456_789, flags: 6, ..Default::default() };
        let serial = SerialState { in_buffer: b"ab".to_vec(), ..Default::default() };
        VmState {
            mem_mib: 256,
            clock,
            irqchips: [Default::default(), Default::default(), chip],
            serial,
            vcpus: vec![v.clone(), v],
            devices: super::super::devices::tests::sample(),
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let bytes = encode(&s);
        let back = decode(&bytes).unwrap();
        assert_eq!(encode(&back), bytes);
        assert_eq!((back.vcpus[1].regs.rip, back.vcpus[0].sregs.cr3), (0xffff_ffff_8000_1234, 0x16b000));
        assert_eq!((back.vcpus[0].msrs[0].data, back.clock.clock, back.irqchips[2].chip_id), (0x1001, 123_456_789, 2));
        assert_eq!(back.serial.in_buffer, b"ab");
        assert_eq!(back.vcpus[1].clone().lapic.regs[0x20], 7);
        assert_eq!(back.devices, s.devices);
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let good = encode(&sample());
        assert_eq!(decode(b"ELF\x7f").unwrap_err(), StateError::BadMagic);
        let mut v = good.clone();
        v[8] = 9;
        assert_eq!(decode(&v).unwrap_err(), StateError::Version(9));
        let mut v = good.clone();
        v[12] ^= 1;
        assert_eq!(decode(&v).unwrap_err(), StateError::Layout("kvm_regs"));
        for cut in [20, good.len() / 2, good.len() - 1] {
            assert!(matches!(decode(&good[..cut]), Err(StateError::Truncated(_))), "cut at {cut}");
        }
        let mut v = good.clone();
        v.push(0);
        assert_eq!(decode(&v).unwrap_err(), StateError::Trailing(1));
        // The vCPU count right after the RAM size.
        let at = 12 + 4 * sizes().len() + 8;
        let mut v = good.clone();
        v[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(decode(&v).unwrap_err(), StateError::Bad("vCPU count"));
        let mut v = good;
        v[at - 8..at].copy_from_slice(&0u64.to_le_bytes());
        assert_eq!(decode(&v).unwrap_err(), StateError::Bad("RAM size"));
    }
}
