//! The CMOS RTC (MC146818 at ports 0x70/0x71), read once at boot when there
//! is no kvmclock wall clock. Every VMM we target has one, including Cloud
//! Hypervisor. Resolution is one second; waiting for the seconds edge to do
//! better would cost up to a second of boot.
use super::error::TimeError;
use crate::arch::x86_64::port::{inb, outb};
use crate::sync::SpinLock;

const INDEX_PORT: u16 = 0x70;
const DATA_PORT: u16 = 0x71;

const REG_SECONDS: u8 = 0x00;
const REG_MINUTES: u8 = 0x02;
const REG_HOURS: u8 = 0x04;
const REG_DAY: u8 = 0x07;
const REG_MONTH: u8 = 0x08;
const REG_YEAR: u8 = 0x09;
const REG_A: u8 = 0x0a;
const REG_B: u8 = 0x0b;
/// Not part of the MC146818, but where the ACPI FADT's CENTURY field points
/// on QEMU and Cloud Hypervisor; validated before use.
const REG_CENTURY: u8 = 0x32;

const A_UPDATE_IN_PROGRESS: u8 = 1 << 7;
const B_24_HOUR: u8 = 1 << 1;
const B_BINARY: u8 = 1 << 2;
const HOUR_PM: u8 = 1 << 7;

/// UIP is raised ~244 us before each once-a-second update and held ~2 ms at
/// most; a poll is at least one port exit, so this bounds the wait well past
/// that while never hanging on a stuck bit.
const UIP_POLLS: u32 = 100_000;
const READ_ATTEMPTS: u32 = 8;

/// Index/data pairs are not atomic; another CPU touching CMOS between them
/// would read the wrong register.
static CMOS_LOCK: SpinLock<()> = SpinLock::new(());

fn read_reg(reg: u8) -> u8 {
    // Bit 7 of the index clear keeps NMIs enabled.
    outb(INDEX_PORT, reg & 0x7f);
    inb(DATA_PORT)
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct RawTime {
    sec: u8,
    min: u8,
    hour: u8,
    day: u8,
    month: u8,
    year: u8,
}

fn wait_not_updating() -> Result<(), TimeError> {
    for _ in 0..UIP_POLLS {
        if read_reg(REG_A) & A_UPDATE_IN_PROGRESS == 0 {
            return Ok(());
        }
        core::hint::spin_loop();
    }
    Err(TimeError::RtcBusy)
}

/// Linux's mc146818 recipe: read only with UIP clear, and accept the read if
/// UIP is still clear and the seconds did not move meanwhile.
fn read_raw() -> Result<RawTime, TimeError> {
    for _ in 0..READ_ATTEMPTS {
        wait_not_updating()?;
        let t = RawTime {
            sec: read_reg(REG_SECONDS),
            min: read_reg(REG_MINUTES),
            hour: read_reg(REG_HOURS),
            day: read_reg(REG_DAY),
            month: read_reg(REG_MONTH),
            year: read_reg(REG_YEAR),
        };
        if read_reg(REG_A) & A_UPDATE_IN_PROGRESS == 0 && read_reg(REG_SECONDS) == t.sec {
            return Ok(t);
        }
    }
    Err(TimeError::RtcBusy)
}

fn from_bcd(v: u8) -> Option<u8> {
    let (hi, lo) = (v >> 4, v & 0xf);
    (hi <= 9 && lo <= 9).then_some(hi * 10 + lo)
}

/// The RTC's time as Unix seconds.
pub fn read_unix_seconds() -> Result<u64, TimeError> {
    let (raw, b, century) = {
        let _guard = CMOS_LOCK.lock();
        let raw = read_raw()?;
        (raw, read_reg(REG_B), read_reg(REG_CENTURY))
    };
    let binary = b & B_BINARY != 0;
    let decode = |v: u8| if binary { Some(v) } else { from_bcd(v) };
    let bad = TimeError::RtcInvalid;

    let pm = b & B_24_HOUR == 0 && raw.hour & HOUR_PM != 0;
    let mut hour = decode(raw.hour & !HOUR_PM).ok_or(bad)?;
    if b & B_24_HOUR == 0 {
        // 12-hour clock: 12 AM is midnight, 12 PM is noon.
        if !(1..=12).contains(&hour) {
            return Err(bad);
        }
        hour = (hour % 12) + if pm { 12 } else { 0 };
    }
    let century = match decode(century) {
        Some(c @ 19..=21) => u64::from(c),
        _ => 20,
    };
    let year = century * 100 + u64::from(decode(raw.year).ok_or(bad)?);
    let month = decode(raw.month).ok_or(bad)?;
    let day = decode(raw.day).ok_or(bad)?;
    let min = decode(raw.min).ok_or(bad)?;
    let sec = decode(raw.sec).ok_or(bad)?;
    if year < 1970 || hour > 23 || min > 59 || sec > 59 {
        return Err(bad);
    }
    let days = days_since_epoch(year, month, day).ok_or(bad)?;
    Ok(days * 86_400 + u64::from(hour) * 3_600 + u64::from(min) * 60 + u64::from(sec))
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days from 1970-01-01 to `year-month-day` (year >= 1970), or `None` for a
/// date that does not exist. Howard Hinnant's `days_from_civil`, restricted
/// to non-negative years so it stays in unsigned arithmetic.
pub fn days_since_epoch(year: u64, month: u8, day: u8) -> Option<u64> {
    const DAYS: [u8; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let month_days = DAYS.get(usize::from(month).checked_sub(1)?).copied()?;
    let month_days = month_days + u8::from(month == 2 && is_leap(year));
    if day == 0 || day > month_days {
        return None;
    }
    let (m, d) = (u64::from(month), u64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}
