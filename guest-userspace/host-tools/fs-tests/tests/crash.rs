//! Crash safety: every device write of a write + sync workload is logged; a
//! crash after write k is the original image plus the first k writes. For
//! random k, `e2fsck -fy` (journal replay) then `e2fsck -fn` must be clean,
//! every record whose sync returned must be there, and e2fsck must never see
//! a journal with data under a clear needs_recovery flag (defect 3).

use std::os::unix::fs::FileExt;

use vireo_fs::{ext4, open, FileSystem};
use vireo_fs_tests::*;

const RECORD: usize = 4096;
const RECORDS: usize = 24;

fn record(i: usize) -> Vec<u8> {
    let mut r = pattern(RECORD, i as u8);
    r[..8].copy_from_slice(&(i as u64).to_le_bytes());
    r
}

#[test]
fn crash_points_replay_clean_and_keep_synced_records() {
    let s = Scratch::new("crash");
    let img = image(&s);
    let original = std::fs::read(&img).unwrap();
    let (dev, stats) = FileDev::open(&img, false);
    stats.lock().unwrap().log = Some(Vec::new());
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    // Workload: numbered records appended and synced one by one, with a
    // create, a rename and an unlink on the side.
    let mut synced_after = Vec::new(); // log length when sync i returned
    let (f, _) = fs.open("/log", open::READ | open::WRITE | open::CREATE).unwrap();
    for i in 0..RECORDS {
        fs.append(f, &record(i)).unwrap();
        if i % 6 == 3 {
            let (t, _) = fs.open(&format!("/t{i}"), open::WRITE | open::CREATE).unwrap();
            fs.write(t, 0, &pattern(10_000, 1)).unwrap();
            fs.close(t).unwrap();
            fs.rename(&format!("/t{i}"), "/latest", false).unwrap();
        }
        if i % 8 == 5 {
            fs.unlink("/latest").unwrap();
        }
        fs.sync(f, false).unwrap();
        synced_after.push(stats.lock().unwrap().log.as_ref().unwrap().len());
    }
    fs.close(f).unwrap();
    fs.unmount().unwrap();
    assert!(fs.recovery_flag_writes() > 0, "the layer set needs_recovery around journal use");
    let log = stats.lock().unwrap().log.take().unwrap();
    let writes: Vec<usize> = (0..log.len()).filter(|&i| log[i].is_some()).collect();
    eprintln!("crash: {} device writes, {} flushes", writes.len(), log.len() - writes.len());
    assert_clean(&img);

    let mut rng = Rng::new(seed(0xc4a5_4001));
    let crash = s.path("crash.img");
    for round in 0..20 {
        // Crash right after write number k (a log index).
        let k = writes[rng.range(0, writes.len() as u64 - 1) as usize] + 1;
        std::fs::write(&crash, &original).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&crash).unwrap();
        for (sector, bytes) in log[..k].iter().flatten() {
            f.write_all_at(bytes, sector * 512).unwrap();
        }
        drop(f);
        let (rc, text) = e2fsck(&crash, &["-fy"]);
        assert!(
            !text.contains("needs_recovery flag is clear, but journal has data"),
            "round {round}, crash after log entry {k}: {text}"
        );
        assert!(rc <= 1, "round {round}, k {k}: e2fsck -fy rc {rc}:\n{text}");
        let (rc, text) = e2fsck(&crash, &["-fn"]);
        assert_eq!(rc, 0, "round {round}, k {k}: not clean after replay:\n{text}");
        // Records whose sync returned before the crash are all there.
        let durable = synced_after.iter().filter(|&&n| n <= k).count();
        let data = debugfs(&crash, "cat /log");
        assert!(data.len() >= durable * RECORD, "round {round}, k {k}: {} bytes, {durable} synced", data.len());
        for i in 0..durable {
            assert_eq!(data[i * RECORD..(i + 1) * RECORD], record(i)[..], "round {round}, k {k}: record {i}");
        }
    }
}

#[test]
fn needs_recovery_is_set_while_the_journal_has_data() {
    let s = Scratch::new("recover");
    let img = image(&s);
    let (dev, stats) = FileDev::open(&img, false);
    stats.lock().unwrap().log = Some(Vec::new());
    let mut fs = ext4::mount(Box::new(dev), "vda").unwrap();
    let (f, _) = fs.open("/a", open::WRITE | open::CREATE).unwrap();
    fs.write(f, 0, b"x").unwrap();
    fs.sync(f, false).unwrap();
    // Without unmounting: the on-disk superblock must say needs_recovery if
    // the journal superblock says the journal holds data.
    let bytes = std::fs::read(&img).unwrap();
    let recover = u32::from_le_bytes(bytes[1024 + 0x60..1024 + 0x64].try_into().unwrap()) & 4 != 0;
    let (rc, text) = e2fsck(&img, &["-fn"]);
    assert!(!text.contains("needs_recovery flag is clear"), "{text}");
    eprintln!("after sync: needs_recovery {recover}, e2fsck -fn rc {rc}");
    fs.close(f).unwrap();
    fs.unmount().unwrap();
    let bytes = std::fs::read(&img).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[1024 + 0x60..1024 + 0x64].try_into().unwrap()) & 4, 0);
    assert_clean(&img);
}
