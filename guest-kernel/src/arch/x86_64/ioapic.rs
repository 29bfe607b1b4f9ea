//! IOAPIC: routes device interrupt lines (GSIs) to vectors on a CPU.
//! The kernel maps each IOAPIC's registers uncached and says where
//! ([`init`]); which GSI an ISA IRQ is and how it triggers is ACPI's
//! business, resolved by the caller.
use alloc::vec::Vec;
use spin::Once;

static IOAPICS: Once<Vec<IoApic>> = Once::new();

/// Takes the IOAPICs as (register mapping, first GSI). Their lines start
/// masked (reset state).
///
/// # Safety
/// Each `vbase` must map an IOAPIC's 4 KiB register window (uncached) for
/// the rest of the kernel's life.
pub unsafe fn init(ioapics: impl Iterator<Item = (u64, u32)>) {
    // SAFETY: the caller's contract is `IoApic::new`'s.
    IOAPICS.call_once(|| ioapics.map(|(vbase, gsi)| unsafe { IoApic::new(vbase, gsi) }).collect());
}

#[derive(Debug)]
pub enum RouteError {
    NoIoApic,
    NoLineForGsi(u32),
}

impl core::fmt::Display for RouteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoIoApic => write!(f, "no IOAPIC (none in the MADT, or ACPI absent)"),
            Self::NoLineForGsi(g) => write!(f, "no IOAPIC line serves GSI {g}"),
        }
    }
}

fn find(gsi: u32) -> Result<&'static IoApic, RouteError> {
    let ioapics = IOAPICS.get().filter(|v| !v.is_empty()).ok_or(RouteError::NoIoApic)?;
    ioapics.iter().find(|io| io.line(gsi).is_some()).ok_or(RouteError::NoLineForGsi(gsi))
}

/// Routes `gsi` to `vector` on `apic_id`, unmasked.
pub fn route_gsi(gsi: u32, vector: u8, apic_id: u32, level: bool, active_low: bool) -> Result<(), RouteError> {
    find(gsi)?.route(gsi, vector, apic_id, level, active_low);
    Ok(())
}

/// Masks or unmasks `gsi` (a level-triggered line stays masked from its
/// interrupt until its driver has dealt with the device).
pub fn set_masked(gsi: u32, masked: bool) -> Result<(), RouteError> {
    let io = find(gsi)?;
    let line = io.line(gsi).ok_or(RouteError::NoLineForGsi(gsi))?;
    let _guard = io.lock.lock();
    let low = io.read(REG_REDIRECT_BASE + line * 2);
    io.write(REG_REDIRECT_BASE + line * 2, if masked { low | MASKED } else { low & !MASKED });
    Ok(())
}

const MASKED: u32 = 1 << 16;
const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REG_REDIRECT_BASE: u32 = 0x10;
const LEVEL: u64 = 1 << 15;
const ACTIVE_LOW: u64 = 1 << 13;

pub struct IoApic {
    /// Held across each select-then-access pair (and read-modify-write):
    /// IOREGSEL is shared by every CPU.
    lock: spin::Mutex<()>,
    vbase: u64,
    pub gsi_base: u32,
    pub lines: u32,
}

impl IoApic {
    /// # Safety
    /// `vbase` must map the register window of an IOAPIC (from the MADT).
    pub unsafe fn new(vbase: u64, gsi_base: u32) -> Self {
        let mut io = Self { lock: spin::Mutex::new(()), vbase, gsi_base, lines: 0 };
        io.lines = ((io.read(REG_VERSION) >> 16) & 0xff) + 1;
        io
    }

    fn read(&self, reg: u32) -> u32 {
        // SAFETY: the IOAPIC window registers are valid MMIO (constructor contract).
        unsafe {
            ((self.vbase + IOREGSEL) as *mut u32).write_volatile(reg);
            ((self.vbase + IOWIN) as *const u32).read_volatile()
        }
    }

    fn write(&self, reg: u32, value: u32) {
        // SAFETY: as for `read`.
        unsafe {
            ((self.vbase + IOREGSEL) as *mut u32).write_volatile(reg);
            ((self.vbase + IOWIN) as *mut u32).write_volatile(value);
        }
    }

    fn set_entry(&self, line: u32, entry: u64) {
        self.write(REG_REDIRECT_BASE + line * 2 + 1, (entry >> 32) as u32);
        self.write(REG_REDIRECT_BASE + line * 2, entry as u32);
    }

    fn line(&self, gsi: u32) -> Option<u32> {
        gsi.checked_sub(self.gsi_base).filter(|l| *l < self.lines)
    }

    /// Routes `gsi` to `vector` on the CPU with `apic_id` (physical destination).
    pub fn route(&self, gsi: u32, vector: u8, apic_id: u32, level: bool, active_low: bool) -> bool {
        let Some(line) = self.line(gsi) else {
            return false;
        };
        let mut entry = u64::from(vector) | (u64::from(apic_id & 0xff) << 56);
        if level {
            entry |= LEVEL;
        }
        if active_low {
            entry |= ACTIVE_LOW;
        }
        let _guard = self.lock.lock();
        self.set_entry(line, entry);
        true
    }
}
