//! MSI-X for virtio-pci: the vector table and pending bits the guest
//! programs through BAR 0, the vectors the driver gives the config change
//! and each queue, and delivery with KVM_SIGNAL_MSI.
//!
//! A vector that is masked (its entry, or the whole function) or while
//! MSI-X is off is remembered as pending and sent when unmasked, as PCI
//! requires. A vector the driver names that the table does not have, or
//! NO_VECTOR, sends nothing.

use std::sync::Arc;

use kvm_bindings::kvm_msi;
use kvm_ioctls::VmFd;

use super::state::MsixState;

/// "No vector" for msix_config and queue_msix_vector.
pub const NO_VECTOR: u16 = 0xffff;
/// Table size: one for the config change and one per queue is the most a
/// device here uses.
pub const VECTORS: usize = 4;
const ENTRY: u64 = 16;
const MASKED: u32 = 1;

pub struct Msix {
    vm: Option<Arc<VmFd>>,
    /// Per entry: address low, address high, data, vector control.
    table: [[u32; 4]; VECTORS],
    pub enabled: bool,
    pub function_masked: bool,
    pub config_vector: u16,
    pub queue_vectors: Vec<u16>,
    pending: u32,
    /// The ISR status register (read clears it).
    pub isr: u32,
    /// Messages sent (address, data), for tests.
    #[cfg(test)]
    pub sent: Vec<(u64, u32)>,
}

impl Msix {
    /// `vm` is `None` in unit tests (messages are only recorded).
    pub fn new(vm: Option<Arc<VmFd>>, queues: usize) -> Self {
        Msix {
            vm,
            table: [[0, 0, 0, MASKED]; VECTORS],
            enabled: false,
            function_masked: false,
            config_vector: NO_VECTOR,
            queue_vectors: vec![NO_VECTOR; queues],
            pending: 0,
            isr: 0,
            #[cfg(test)]
            sent: Vec::new(),
        }
    }

    pub fn queue_vector(&self, q: u16) -> u16 {
        self.queue_vectors.get(usize::from(q)).copied().unwrap_or(NO_VECTOR)
    }

    /// Device reset: vectors back to NO_VECTOR, ISR clear (the table is the
    /// function's, not the device's, and stays).
    pub fn reset(&mut self) {
        self.isr = 0;
        self.config_vector = NO_VECTOR;
        self.queue_vectors.fill(NO_VECTOR);
    }

    pub fn raise(&mut self, isr_bits: u32, vector: u16) {
        self.isr |= isr_bits;
        self.signal(vector);
    }

    fn signal(&mut self, vector: u16) {
        let v = usize::from(vector);
        let Some(entry) = self.table.get(v).copied() else { return };
        if !self.enabled || self.function_masked || entry[3] & MASKED != 0 {
            self.pending |= 1 << v;
            return;
        }
        self.pending &= !(1 << v);
        self.send(u64::from(entry[1]) << 32 | u64::from(entry[0]), entry[2]);
    }

    fn send(&mut self, address: u64, data: u32) {
        #[cfg(test)]
        self.sent.push((address, data));
        if let Some(vm) = &self.vm {
            let msi =
                kvm_msi { address_lo: address as u32, address_hi: (address >> 32) as u32, data, ..Default::default() };
            // Fails only for a message KVM cannot route; the guest then
            // misses this interrupt, which its own bad address caused.
            let _ = vm.signal_msi(msi);
        }
    }

    /// Send what became deliverable (after an unmask or enable).
    pub fn flush_pending(&mut self) {
        for v in 0..VECTORS {
            if self.pending & (1 << v) != 0 {
                self.signal(v as u16);
            }
        }
    }

    pub fn state(&self) -> MsixState {
        MsixState {
            table: self.table,
            enabled: self.enabled,
            function_masked: self.function_masked,
            config_vector: self.config_vector,
            queue_vectors: self.queue_vectors.clone(),
            pending: self.pending,
            isr: self.isr,
        }
    }

    /// Back to a saved state; nothing is sent (what was pending stays
    /// pending until the guest unmasks it, as before the snapshot).
    pub fn restore(&mut self, s: &MsixState) -> Result<(), &'static str> {
        if s.queue_vectors.len() != self.queue_vectors.len() {
            return Err("MSI-X queue vector count");
        }
        let usable = |v: u16| v == NO_VECTOR || usize::from(v) < VECTORS;
        if !usable(s.config_vector) || !s.queue_vectors.iter().all(|&v| usable(v)) || s.pending >> VECTORS != 0 {
            return Err("MSI-X vector");
        }
        self.table = s.table;
        self.enabled = s.enabled;
        self.function_masked = s.function_masked;
        self.config_vector = s.config_vector;
        self.queue_vectors.clone_from(&s.queue_vectors);
        self.pending = s.pending;
        self.isr = s.isr;
        Ok(())
    }

    /// A 4-byte read of the table at `offset` (other widths read zero).
    pub fn read_table(&self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let (e, w) = ((offset / ENTRY) as usize, ((offset % ENTRY) / 4) as usize);
        if let (4, Some(entry)) = (data.len(), self.table.get(e)) {
            data.copy_from_slice(&entry[w].to_le_bytes());
        }
    }

    /// A 4-byte write of the table (a driver may write an entry's 8-byte
    /// address at once: split).
    pub fn write_table(&mut self, offset: u64, data: &[u8]) {
        for (i, chunk) in data.chunks_exact(4).enumerate() {
            let at = offset + 4 * i as u64;
            let (e, w) = ((at / ENTRY) as usize, ((at % ENTRY) / 4) as usize);
            if let Some(entry) = self.table.get_mut(e) {
                entry[w] = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            }
        }
        self.flush_pending();
    }

    /// The pending bit array.
    pub fn read_pba(&self, offset: u64, data: &mut [u8]) {
        let bits = u64::from(self.pending).to_le_bytes();
        for (i, d) in data.iter_mut().enumerate() {
            *d = usize::try_from(offset).ok().and_then(|o| bits.get(o + i)).copied().unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_vectors_wait_and_bad_vectors_send_nothing() {
        let mut m = Msix::new(None, 2);
        m.queue_vectors[1] = 1;
        m.write_table(16, &0xfee0_0000u64.to_le_bytes());
        m.write_table(24, &0x41u32.to_le_bytes());
        m.raise(1, m.queue_vector(1));
        assert!(m.sent.is_empty(), "MSI-X off: pending");
        let mut pba = [0u8; 8];
        m.read_pba(0, &mut pba);
        assert_eq!(pba[0], 2);
        m.enabled = true;
        m.flush_pending();
        assert!(m.sent.is_empty(), "entry still masked");
        m.write_table(28, &0u32.to_le_bytes());
        assert_eq!(m.sent, vec![(0xfee0_0000, 0x41)]);
        m.raise(1, NO_VECTOR);
        m.raise(1, 99);
        m.raise(1, m.queue_vector(0));
        assert_eq!(m.sent.len(), 1);
        assert_eq!(m.isr, 1);
        let mut b = [0u8; 4];
        m.read_table(24, &mut b);
        assert_eq!(u32::from_le_bytes(b), 0x41);
        m.reset();
        assert_eq!((m.isr, m.queue_vector(1), m.config_vector), (0, NO_VECTOR, NO_VECTOR));
    }

    #[test]
    fn state_round_trips_and_bad_vectors_are_refused() {
        let mut m = Msix::new(None, 2);
        m.queue_vectors[1] = 1;
        m.write_table(16, &0xfee0_0000u64.to_le_bytes());
        m.raise(1, 1);
        let s = m.state();
        let mut back = Msix::new(None, 2);
        back.restore(&s).unwrap();
        assert_eq!(back.state(), s);
        assert!(back.sent.is_empty(), "a restore sends nothing");
        let mut bad = s.clone();
        bad.queue_vectors.push(0);
        assert_eq!(Msix::new(None, 2).restore(&bad), Err("MSI-X queue vector count"));
        let mut bad = s;
        bad.config_vector = 9;
        assert_eq!(Msix::new(None, 2).restore(&bad), Err("MSI-X vector"));
    }
}
