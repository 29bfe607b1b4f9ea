//! The device calls (DeviceInfo .. ConfigWrite) for user-space drivers.
//! Every one needs a handle carrying `rights::DEVICE`: the device right
//! (init's handle 1) to list and open devices, an opened device's handle
//! for the rest. Without it: `BadHandle` (no such handle), `WrongKind`
//! (another object) or `AccessDenied` (the right was dropped).
use super::{process, SysResult};
use crate::device::{self, Access, DmaBuffer, IrqObject, OpenDevice};
use crate::process::{write_user, Object};
use alloc::sync::Arc;
use pv_abi::syscall::device::{MsiMessage, BAR_MMIO, DMA_MAX, IRQ_LINE, IRQ_MSI, NO_GSI};
use pv_abi::syscall::{rights, Error};

const PAGE: u64 = 4096;
/// Rights of a freshly opened device's handle.
const DEVICE_RIGHTS: u32 = rights::DEVICE | rights::DUPLICATE;
const IRQ_RIGHTS: u32 = rights::WAIT | rights::DUPLICATE;

/// Checks that `h` is the device right with `rights::DEVICE` (also for the
/// service and initrd calls, which only system servers may make).
pub(super) fn right(h: u64) -> Result<(), Error> {
    match process()?.handles.lock().get(h, rights::DEVICE)? {
        Object::DeviceRight => Ok(()),
        _ => Err(Error::WrongKind),
    }
}

pub(super) fn opened(h: u64) -> Result<Arc<OpenDevice>, Error> {
    match process()?.handles.lock().get(h, rights::DEVICE)? {
        Object::Device(d) => Ok(d),
        _ => Err(Error::WrongKind),
    }
}

pub fn info(right_h: u64, index: u64, out: u64, out_len: u64) -> SysResult {
    right(right_h)?;
    let d = device::get(index)?;
    let bytes = pod_bytes(&d.info);
    let n = bytes.len().min(usize::try_from(out_len).map_err(|_| Error::Invalid)?);
    write_user(out, &bytes[..n])?;
    Ok(device::all().len() as u64)
}

fn pod_bytes<T: Copy>(v: &T) -> &[u8] {
    // `T` is one of the pv-abi `repr(C)` structs, which spell their padding out.
    // SAFETY: every byte of such a struct, padding included, is initialised.
    unsafe { core::slice::from_raw_parts((v as *const T).cast::<u8>(), core::mem::size_of::<T>()) }
}

pub fn open(right_h: u64, index: u64) -> SysResult {
    right(right_h)?;
    let me = process()?;
    let d = device::get(index)?;
    let session = OpenDevice::open(d, me.pid)?;
    let h = me.handles.lock().insert(Object::Device(session), DEVICE_RIGHTS);
    h
}

pub fn map(dev_h: u64, bar: u64, offset: u64, len: u64) -> SysResult {
    let dev = opened(dev_h)?;
    let me = process()?;
    let b = usize::try_from(bar).ok().and_then(|i| dev.device.info.bars.get(i)).ok_or(Error::NotFound)?;
    if b.flags & BAR_MMIO == 0 || b.size == 0 {
        return Err(Error::NotFound);
    }
    let end = offset.checked_add(len).ok_or(Error::OutOfRange)?;
    if len == 0 || end > b.size {
        return Err(if len == 0 { Error::Invalid } else { Error::OutOfRange });
    }
    let first = (b.base + offset) & !(PAGE - 1);
    let last = (b.base + end).div_ceil(PAGE) * PAGE;
    // A window sharing a page with another device's (virtio-mmio transports
    // are 512 bytes apart) is mapped only if this process opened that one too.
    for other in device::all() {
        if core::ptr::eq(other, dev.device) {
            continue;
        }
        let shares = other
            .info
            .bars
            .iter()
            .any(|o| o.flags & BAR_MMIO != 0 && o.size > 0 && o.base < last && first < o.base + o.size);
        if shares && other.opener() != me.pid {
            return Err(Error::AccessDenied);
        }
    }
    let va = me.vm.lock().as_mut().ok_or(Error::Invalid)?.map_device(first, last - first)?;
    Ok(va + (b.base + offset - first))
}

pub fn dma_alloc(dev_h: u64, len: u64, paddr_out: u64) -> SysResult {
    let dev = opened(dev_h)?;
    if len == 0 {
        return Err(Error::Invalid);
    }
    if len > DMA_MAX {
        return Err(Error::Limit);
    }
    let me = process()?;
    let pages = len.div_ceil(PAGE) as usize;
    let buf = Arc::new(DmaBuffer::new(pages).ok_or(Error::NoMemory)?);
    // Check the out pointer before anything is mapped.
    write_user(paddr_out, &buf.paddr().to_le_bytes())?;
    let va = me.vm.lock().as_mut().ok_or(Error::Invalid)?.map_dma(buf.clone())?;
    dev.dma.lock().push(buf);
    Ok(va)
}

pub fn irq_open(dev_h: u64, kind: u64, msi_out: u64) -> SysResult {
    let dev = opened(dev_h)?;
    let me = process()?;
    let irq = match kind {
        IRQ_LINE => {
            let gsi = dev.device.info.gsi;
            if gsi == NO_GSI {
                return Err(Error::NotFound);
            }
            if dev.irqs.lock().iter().any(|i| i.is_line()) {
                return Err(Error::Busy);
            }
            IrqObject::new(Some(gsi))?
        }
        IRQ_MSI => IrqObject::new(None)?,
        _ => return Err(Error::Invalid),
    };
    let (address, data) = irq.msi_message();
    let msg = MsiMessage { address, data, vector: u32::from(irq.vector) };
    if kind == IRQ_MSI {
        if let Err(e) = write_user(msi_out, pod_bytes(&msg)) {
            irq.detach();
            return Err(e);
        }
    }
    dev.irqs.lock().push(irq.clone());
    let h = me.handles.lock().insert(Object::Irq(irq), IRQ_RIGHTS);
    h
}

pub fn irq_ack(irq_h: u64) -> SysResult {
    match process()?.handles.lock().get(irq_h, rights::WAIT)? {
        Object::Irq(i) => {
            i.ack();
            Ok(0)
        }
        _ => Err(Error::WrongKind),
    }
}

fn pci_config(dev: &OpenDevice, offset: u64, width: u64) -> Result<crate::arch::x86_64::mmio::Mmio, Error> {
    let Access::Pci { config } = dev.device.access else { return Err(Error::WrongKind) };
    if !matches!(width, 1 | 2 | 4) || !offset.is_multiple_of(width) || offset >= 4096 {
        return Err(Error::Invalid);
    }
    Ok(config)
}

pub fn config_read(dev_h: u64, offset: u64, width: u64) -> SysResult {
    let dev = opened(dev_h)?;
    let config = pci_config(&dev, offset, width)?;
    let word = device::pci::read32(config, offset);
    let shift = (offset & 3) * 8;
    let mask = if width == 4 { u32::MAX } else { (1u32 << (width * 8)) - 1 };
    Ok(u64::from((word >> shift) & mask))
}

pub fn config_write(dev_h: u64, offset: u64, width: u64, value: u64) -> SysResult {
    let dev = opened(dev_h)?;
    let config = pci_config(&dev, offset, width)?;
    let value = u16::try_from(value).map_err(|_| Error::Invalid)?;
    use device::pci::{CMD_BUS_MASTER, CMD_INTX_DISABLE, CMD_MEMORY};
    let msix = u64::from(dev.device.info.msix_cap);
    let (reg, allowed) = match (offset, width) {
        (4, 2) => (4, CMD_MEMORY | CMD_BUS_MASTER | CMD_INTX_DISABLE),
        (o, 2) if msix != 0 && o == msix + 2 => (o, (1 << 15) | (1 << 14)),
        _ => return Err(Error::AccessDenied),
    };
    let old = device::pci::read16(config, reg);
    if (old ^ value) & !allowed != 0 {
        return Err(Error::AccessDenied);
    }
    device::pci::write16(config, reg, value);
    Ok(0)
}
