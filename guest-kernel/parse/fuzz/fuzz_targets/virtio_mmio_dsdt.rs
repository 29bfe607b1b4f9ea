//! virtio-mmio devices in DSDT bytes: every transport found is a window
//! and interrupt the input states in a Memory32Fixed and an extended
//! Interrupt descriptor of a device naming "LNRO0005", every error points
//! at a DeviceOp in the input, and the set built from the transports keeps
//! no two overlapping windows.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vireo_parse::virtio_mmio::dsdt::{self, DsdtError};
use vireo_parse_fuzz::check_transport_set;

fuzz_target!(|data: &[u8]| {
    let mut ok = Vec::new();
    for found in dsdt::devices(data) {
        match found {
            Ok(t) => {
                let (base, size) = (u32::try_from(t.base).unwrap(), u32::try_from(t.size).unwrap());
                assert!(size > 0, "{t:?}");
                let window = [&[0x86, 0x09, 0x00][..], &base.to_le_bytes(), &size.to_le_bytes()];
                let stated =
                    data.windows(12).any(|w| w[..3] == *window[0] && w[4..8] == *window[1] && w[8..] == *window[2]);
                assert!(stated, "{t:?}: no such Memory32Fixed in the input");
                let irq = t.irq.to_le_bytes();
                assert!(
                    data.windows(9).any(|w| w[0] == 0x89 && w[4] >= 1 && w[5..] == irq),
                    "{t:?}: no such Interrupt"
                );
                assert!(data.windows(8).any(|w| w == b"LNRO0005"));
                ok.push(t);
            }
            Err(e) => {
                let device = match e {
                    DsdtError::Truncated { device }
                    | DsdtError::NoCrs { device }
                    | DsdtError::BadDescriptor { device, .. }
                    | DsdtError::NoWindow { device }
                    | DsdtError::NoIrq { device }
                    | DsdtError::EmptyWindow { device } => device,
                };
                assert_eq!(data.get(device..device + 2), Some(&[0x5B, 0x82][..]), "{e:?}");
            }
        }
    }
    check_transport_set(&ok);
});
