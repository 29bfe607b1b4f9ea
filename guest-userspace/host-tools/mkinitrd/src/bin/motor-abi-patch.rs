//! `motor-abi-patch IN OUT VERSION`: copies the motor-target std program IN
//! to OUT with the moto-rt ABI version it passes to `vdso_entry` changed from
//! 16 to VERSION (mkinitrd::motor_patch). Fails if the pattern is not found
//! exactly once.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, version] = &args[..] else {
        eprintln!("usage: motor-abi-patch IN OUT VERSION");
        return ExitCode::FAILURE;
    };
    let run = || -> Result<usize, String> {
        let to: u32 = version.parse().map_err(|_| format!("bad version {version:?}"))?;
        let from = pv_abi::motor::SUPPORTED_VERSION as u32;
        let mut elf = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
        let off = mkinitrd::motor_patch::patch_rt_version(&mut elf, from, to).map_err(|e| format!("{input}: {e}"))?;
        let tmp = format!("{output}.tmp");
        std::fs::write(&tmp, &elf).map_err(|e| format!("{tmp}: {e}"))?;
        std::fs::rename(&tmp, output).map_err(|e| format!("{output}: {e}"))?;
        Ok(off)
    };
    match run() {
        Ok(off) => {
            eprintln!(
                "motor-abi-patch: {output}: RT_VERSION {} -> {version} (mov edi at file offset {off:#x})",
                pv_abi::motor::SUPPORTED_VERSION
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("motor-abi-patch: {e}");
            ExitCode::FAILURE
        }
    }
}
