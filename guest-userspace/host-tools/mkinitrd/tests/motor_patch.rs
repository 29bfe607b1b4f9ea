//! `motor_patch`: hello-std asks for moto-rt ABI 16 in exactly one place,
//! which the patch rewrites (one byte), and anything else is refused.
use mkinitrd::motor_patch::patch_rt_version;
use std::path::PathBuf;

fn hello_std() -> Option<Vec<u8>> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../std-programs/target/x86_64-unknown-motor/release/hello-std");
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("skipped: {} ({e}): run `make std-programs`", p.display());
            None
        }
    }
}

#[test]
fn patches_exactly_the_version_passed_to_vdso_entry() {
    let Some(orig) = hello_std() else { return };
    let mut elf = orig.clone();
    let off = patch_rt_version(&mut elf, 16, 17).expect("pattern found once");
    let changed: Vec<usize> = (0..elf.len()).filter(|&i| elf[i] != orig[i]).collect();
    assert_eq!(changed, vec![off + 1], "only the immediate's low byte changes");
    assert_eq!(&elf[off..off + 5], &[0xbf, 17, 0, 0, 0]);
    // Done once: no `mov edi, 16` is left to patch, and 17 -> 16 restores it.
    assert!(patch_rt_version(&mut elf, 16, 17).is_err());
    patch_rt_version(&mut elf, 17, 16).unwrap();
    assert_eq!(elf, orig);
}

#[test]
fn refuses_what_is_not_a_motor_program() {
    let mut not_elf = b"not an elf at all".to_vec();
    assert!(patch_rt_version(&mut not_elf, 16, 17).is_err());
    let mut fixture = mkinitrd::fixtures::all().into_iter().find(|f| f.name == "ok").unwrap().image;
    let err = patch_rt_version(&mut fixture, 16, 17).unwrap_err();
    assert!(err.contains("symtab") || err.contains("motor_runtime_start"), "{err}");
    if let Some(mut elf) = hello_std() {
        assert!(patch_rt_version(&mut elf, 15, 17).is_err(), "no `mov edi, 15` there");
    }
}
