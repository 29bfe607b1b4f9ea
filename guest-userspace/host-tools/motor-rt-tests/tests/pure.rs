//! vireo-motor-rt's fs translations (docs/runtime.md, "Files").
use moto_rt::error::*;
use moto_rt::fs::*;
use vireo_io_channel::{dirent, open, Status};
use vireo_motor_rt_tests::pure::*;

#[test]
fn resolve_normalises_against_cwd() {
    let ok = |cwd: &str, p: &str| resolve(cwd, p.as_bytes()).unwrap();
    assert_eq!(ok("/", "a"), "/a");
    assert_eq!(ok("/x/y", "a/b"), "/x/y/a/b");
    assert_eq!(ok("/x/y", "/a//b/"), "/a/b");
    assert_eq!(ok("/x/y", "."), "/x/y");
    assert_eq!(ok("/x/y", ".."), "/x");
    assert_eq!(ok("/x/y", "../../../.."), "/");
    assert_eq!(ok("/x", "./a/./../b/."), "/x/b");
    assert_eq!(ok("/", "/"), "/");
    assert_eq!(ok("/", "/.."), "/");
    assert_eq!(ok("/", "..."), "/...");
    assert_eq!(ok("/", "a..b/.c"), "/a..b/.c");
}

#[test]
fn resolve_refuses_bad_paths() {
    assert_eq!(resolve("/", b""), Err(E_INVALID_FILENAME));
    assert_eq!(resolve("/", b"a\0b"), Err(E_INVALID_FILENAME));
    assert_eq!(resolve("/", &[0xff, b'a']), Err(E_INVALID_FILENAME));
    let long = "a".repeat(MAX_PATH_LEN + 1);
    assert_eq!(resolve("/", long.as_bytes()), Err(E_INVALID_FILENAME));
    // Fits as given, but not once the working directory is in front.
    let just = "b".repeat(MAX_PATH_LEN - 1);
    assert_eq!(resolve("/", just.as_bytes()).unwrap().len(), MAX_PATH_LEN);
    assert_eq!(resolve("/cwd", just.as_bytes()), Err(E_INVALID_FILENAME));
    // `..` can bring a long path back under the limit.
    let back = format!("{}/..", "c".repeat(MAX_PATH_LEN - 3));
    assert_eq!(resolve("/", back.as_bytes()).unwrap(), "/");
}

#[test]
fn parent_and_join() {
    assert_eq!(parent("/"), "/");
    assert_eq!(parent("/a"), "/");
    assert_eq!(parent("/a/b"), "/a");
    assert_eq!(join("/", "x"), "/x");
    assert_eq!(join("/a", "x"), "/a/x");
}

#[test]
fn open_flags_map_like_posix_std() {
    assert_eq!(open_flags(O_READ), Ok(open::READ));
    assert_eq!(open_flags(O_WRITE), Ok(open::WRITE));
    assert_eq!(open_flags(O_READ | O_WRITE), Ok(open::READ | open::WRITE));
    // append implies write access
    assert_eq!(open_flags(O_APPEND), Ok(open::WRITE | open::APPEND));
    assert_eq!(open_flags(O_WRITE | O_CREATE | O_TRUNCATE), Ok(open::WRITE | open::CREATE | open::TRUNCATE));
    // create_new wins over create and truncate
    assert_eq!(
        open_flags(O_WRITE | O_CREATE_NEW | O_CREATE | O_TRUNCATE),
        Ok(open::WRITE | open::CREATE | open::EXCLUSIVE)
    );
    assert_eq!(open_flags(O_APPEND | O_CREATE), Ok(open::WRITE | open::APPEND | open::CREATE));
    assert_eq!(open_flags(O_READ | O_NONBLOCK), Ok(open::READ));
    for bad in [
        0,
        O_CREATE,
        O_READ | O_CREATE,
        O_READ | O_TRUNCATE,
        O_READ | O_CREATE_NEW,
        O_WRITE | O_APPEND | O_TRUNCATE,
        1 << 9,
    ] {
        assert_eq!(open_flags(bad), Err(E_INVALID_ARGUMENT), "flags {bad:#x}");
    }
    for o in 0..128u32 {
        if let Ok(f) = open_flags(o) {
            assert_eq!(f & !open::ALL, 0);
            assert_eq!(f & open::DIRECTORY, 0);
        }
    }
}

#[test]
fn status_codes() {
    let cases = [
        (Status::Ok, E_OK),
        (Status::NotFound, E_NOT_FOUND),
        (Status::AlreadyExists, E_ALREADY_IN_USE),
        (Status::PermissionDenied, E_NOT_ALLOWED),
        (Status::ReadOnly, E_NOT_ALLOWED),
        (Status::NotADirectory, E_NOT_A_DIRECTORY),
        (Status::IsADirectory, E_INVALID_ARGUMENT),
        (Status::DirectoryNotEmpty, E_NOT_ALLOWED),
        (Status::InvalidArgument, E_INVALID_ARGUMENT),
        (Status::NoSpace, E_STORAGE_FULL),
        (Status::TooLarge, E_FILE_TOO_LARGE),
        (Status::InvalidName, E_INVALID_FILENAME),
        (Status::Corrupt, E_INVALID_DATA),
        (Status::BadHandle, E_BAD_HANDLE),
        (Status::NotSupported, E_NOT_IMPLEMENTED),
        (Status::Io, E_INTERNAL_ERROR),
        (Status::UnknownOp, E_INTERNAL_ERROR),
        (Status::BadData, E_INTERNAL_ERROR),
        (Status::TooManyOpen, E_INTERNAL_ERROR),
        (Status::WouldBlock, moto_rt::error::E_NOT_READY),
        (Status::TimedOut, moto_rt::error::E_TIMED_OUT),
        (Status::ConnectionRefused, moto_rt::error::E_NOT_CONNECTED),
        (Status::NotConnected, moto_rt::error::E_NOT_CONNECTED),
        (Status::ConnectionReset, moto_rt::error::E_NOT_CONNECTED),
        (Status::NetworkUnreachable, moto_rt::error::E_NOT_CONNECTED),
        (Status::AddrInUse, E_ALREADY_IN_USE),
        (Status::AddrNotAvailable, E_INVALID_ARGUMENT),
    ];
    for (s, c) in cases {
        assert_eq!(status_code(s), c, "{s:?}");
    }
    // Unknown codes from a newer server decode as Io.
    assert_eq!(status_code(Status::from_code(999)), E_INTERNAL_ERROR);
}

#[test]
fn permissions() {
    assert_eq!(perm_of_mode(0o644), PERM_READ | PERM_WRITE);
    assert_eq!(perm_of_mode(0o200), PERM_READ | PERM_WRITE);
    assert_eq!(perm_of_mode(0o002), PERM_READ | PERM_WRITE);
    assert_eq!(perm_of_mode(0o444), PERM_READ);
    assert_eq!(perm_of_mode(0), PERM_READ);
    assert_eq!(mode_of_perm(PERM_READ | PERM_WRITE, false), 0o644);
    assert_eq!(mode_of_perm(PERM_READ | PERM_WRITE, true), 0o755);
    assert_eq!(mode_of_perm(PERM_READ, false), 0o444);
    assert_eq!(mode_of_perm(PERM_READ, true), 0o555);
    for is_dir in [false, true] {
        for p in [PERM_READ, PERM_READ | PERM_WRITE] {
            assert_eq!(perm_of_mode(mode_of_perm(p, is_dir)), p);
        }
    }
}

#[test]
fn stat_reply_to_attr() {
    let a = attr_of_stat(&[1234, 2, 0o555, 1_700_000_000_000_000_000, 5]);
    assert_eq!(a.version, FileAttr::VERSION);
    assert_eq!(a.size, 1234);
    assert_eq!(a.file_type, FILETYPE_DIRECTORY);
    assert_eq!(a.perm, PERM_READ);
    assert_eq!(a.modified, 1_700_000_000_000_000_000);
    assert_eq!(a.accessed, 5);
    assert_eq!(a.created, 0);
    assert_eq!(attr_of_stat(&[0, 1, 0o644, 0, 0]).file_type, FILETYPE_FILE);
    assert_eq!(attr_of_stat(&[0, 77, 0, 0, 0]).file_type, 4);
}

fn blank() -> DirEntry {
    DirEntry { version: 0, _reserved: 0, attr: FileAttr::default(), fname_size: 0, fname: [0; MAX_FILENAME_LEN] }
}

#[test]
fn dirent_records_fill_entries() {
    let mut buf = [0u8; 1024];
    let a = dirent::Entry { name: b"hello.txt", kind: 1, mode: 0o644, size: 42, modified_ns: 99 };
    let long = [b'z'; dirent::MAX_NAME];
    let b = dirent::Entry { name: &long, kind: 2, mode: 0o555, size: 4096, modified_ns: 7 };
    let end = dirent::put(&mut buf, 0, &a).unwrap();
    let end = dirent::put(&mut buf, end, &b).unwrap();
    let (got, next) = dirent::get(&buf[..end], 0).unwrap();
    let mut e = blank();
    fill_dirent(&got, &mut e).unwrap();
    assert_eq!(e.version, DirEntry::VERSION);
    assert_eq!(&e.fname[..e.fname_size as usize], b"hello.txt");
    assert_eq!((e.attr.size, e.attr.perm, e.attr.file_type, e.attr.modified), (42, PERM_READ | PERM_WRITE, 1, 99));
    let (got, after) = dirent::get(&buf[..end], next).unwrap();
    assert_eq!(after, end);
    fill_dirent(&got, &mut e).unwrap();
    assert_eq!(e.fname_size as usize, dirent::MAX_NAME);
    assert_eq!((e.attr.file_type, e.attr.perm), (FILETYPE_DIRECTORY, PERM_READ));
    // A name std could not turn into a str is refused, not handed out.
    let bad = dirent::Entry { name: &[0xff, 0xfe], kind: 1, mode: 0, size: 0, modified_ns: 0 };
    assert_eq!(fill_dirent(&bad, &mut e), Err(E_INVALID_FILENAME));
}

#[test]
fn seek_targets() {
    assert_eq!(seek_target(10, -10), Ok(0));
    assert_eq!(seek_target(10, -11), Err(E_INVALID_ARGUMENT));
    assert_eq!(seek_target(0, i64::MAX), Ok(i64::MAX as u64));
    assert_eq!(seek_target(1, i64::MAX), Err(E_INVALID_ARGUMENT));
    assert_eq!(seek_target(u64::MAX, 0), Err(E_INVALID_ARGUMENT));
    assert_eq!(seek_target(5, 3), Ok(8));
}
