//! Makes a motor-target std program ask for another moto-rt ABI version,
//! without touching the toolchain: for the unsupported-version test
//! (`/bin/hello-std-v17`, docs/runtime.md).
//!
//! moto-rt 0.16's `init()` (inlined into `motor_runtime_start`) loads vtable
//! slot 0 (`vdso_entry`, at `RT_VDSO_VTABLE_VADDR` = `0x21FE_FFFF_F000`) and
//! calls it with `RT_VERSION` in EDI:
//!
//! ```text
//! movabs rax, 0x21fefffff000     48 b8 00 f0 ff ff fe 21 00 00
//! mov    rcx, [rax]  ... test / je (the assert_ne!(0, vdso_entry))
//! mov    rax, [rax]              48 8b 00
//! mov    edi, 16                 bf 10 00 00 00      <- patched
//! ...    (epilogue)
//! jmp    rax / call rax          ff e0 / ff d0
//! ```
//!
//! [`patch_rt_version`] finds the symbol `motor_runtime_start` in the ELF
//! symbol table, and within that function the one `mov edi, <from>` that is
//! followed by an indirect `jmp`/`call` through RAX (within 16 bytes), in a
//! function that loads the vtable address; it rewrites the immediate. Any
//! other shape (no symbol, no match, more than one) is an error, so a
//! toolchain change fails the build loudly instead of testing nothing.

const VTABLE_SLOT0: [u8; 10] = [0x48, 0xb8, 0x00, 0xf0, 0xff, 0xff, 0xfe, 0x21, 0x00, 0x00];
const FUNCTION: &str = "motor_runtime_start";

fn u16_at(b: &[u8], o: usize) -> Result<u16, String> {
    b.get(o..o + 2).map(|s| u16::from_le_bytes(s.try_into().unwrap())).ok_or_else(|| format!("truncated ELF at {o:#x}"))
}
fn u32_at(b: &[u8], o: usize) -> Result<u32, String> {
    b.get(o..o + 4).map(|s| u32::from_le_bytes(s.try_into().unwrap())).ok_or_else(|| format!("truncated ELF at {o:#x}"))
}
fn u64_at(b: &[u8], o: usize) -> Result<u64, String> {
    b.get(o..o + 8).map(|s| u64::from_le_bytes(s.try_into().unwrap())).ok_or_else(|| format!("truncated ELF at {o:#x}"))
}

/// (file offset, size) of the function `name`, from `.symtab`.
fn find_function(elf: &[u8], name: &str) -> Result<(usize, usize), String> {
    if elf.get(0..5) != Some(b"\x7fELF\x02") {
        return Err("not an ELF64 file".into());
    }
    let (shoff, shentsize, shnum) =
        (u64_at(elf, 0x28)? as usize, u16_at(elf, 0x3a)? as usize, u16_at(elf, 0x3c)? as usize);
    let (phoff, phentsize, phnum) =
        (u64_at(elf, 0x20)? as usize, u16_at(elf, 0x36)? as usize, u16_at(elf, 0x38)? as usize);
    let sh = |i: usize| shoff + i * shentsize;
    let symtab = (0..shnum).find(|&i| u32_at(elf, sh(i) + 4) == Ok(2)).ok_or("no .symtab (a stripped binary?)")?;
    let strtab = u32_at(elf, sh(symtab) + 0x28)? as usize;
    let (sym_off, sym_size, sym_ent) = (
        u64_at(elf, sh(symtab) + 0x18)? as usize,
        u64_at(elf, sh(symtab) + 0x20)? as usize,
        u64_at(elf, sh(symtab) + 0x38)? as usize,
    );
    let str_off = u64_at(elf, sh(strtab) + 0x18)? as usize;
    let mut found = Vec::new();
    for s in (sym_off..sym_off + sym_size).step_by(sym_ent.max(24)) {
        let n = str_off + u32_at(elf, s)? as usize;
        let end = elf[n..].iter().position(|&c| c == 0).ok_or("unterminated symbol name")?;
        if &elf[n..n + end] == name.as_bytes() && elf[s + 4] & 0xf == 2 {
            found.push((u64_at(elf, s + 8)?, u64_at(elf, s + 16)? as usize));
        }
    }
    let [(vaddr, size)] = found[..] else {
        return Err(format!("{} function symbols named {name}, expected 1", found.len()));
    };
    // Virtual address -> file offset through the PT_LOAD that holds it.
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        let (ty, off, va, filesz) = (u32_at(elf, p)?, u64_at(elf, p + 8)?, u64_at(elf, p + 16)?, u64_at(elf, p + 32)?);
        if ty == 1 && va <= vaddr && vaddr + size as u64 <= va + filesz {
            return Ok(((vaddr - va + off) as usize, size));
        }
    }
    Err(format!("{name} at {vaddr:#x} is in no PT_LOAD"))
}

/// Rewrites the `RT_VERSION` (`from`) that `motor_runtime_start` passes to
/// `vdso_entry` into `to`; returns the patched instruction's file offset.
pub fn patch_rt_version(elf: &mut [u8], from: u32, to: u32) -> Result<usize, String> {
    let (start, size) = find_function(elf, FUNCTION)?;
    let code = elf.get(start..start + size).ok_or("function beyond the end of the file")?;
    if !code.windows(VTABLE_SLOT0.len()).any(|w| w == VTABLE_SLOT0) {
        return Err(format!("{FUNCTION} does not load vtable slot 0 (movabs 0x21fefffff000)"));
    }
    let mut mov = [0xbf, 0, 0, 0, 0];
    mov[1..].copy_from_slice(&from.to_le_bytes());
    let hits: Vec<usize> = (0..code.len().saturating_sub(5))
        .filter(|&i| code[i..i + 5] == mov)
        .filter(|&i| {
            let after = &code[i + 5..(i + 5 + 16).min(code.len())];
            after.windows(2).any(|w| w == [0xff, 0xe0] || w == [0xff, 0xd0])
        })
        .collect();
    let [at] = hits[..] else {
        return Err(format!(
            "expected exactly one `mov edi, {from}` before `jmp/call rax` in {FUNCTION}, found {}",
            hits.len()
        ));
    };
    let off = start + at;
    elf[off + 1..off + 5].copy_from_slice(&to.to_le_bytes());
    Ok(off)
}
