//! The file and text tools of `coreutils` (docs/shell.md, "Tools") on
//! Vireo, under QEMU TCG with the disk as `/`: the test types a session at
//! the shell's prompt on the serial console, a command line at a time, that
//! uses every tool with its main flags and its error cases (a missing path:
//! status 1 and `tool: PATH: reason`; a bad flag: status 2 and the usage
//! line); the output is checked line by line, then the files left on the
//! disk and the file system's consistency.
use std::time::Instant;
use vireo_tests::console::{Console, PROMPT};
use vireo_tests::disk::{assert_fsck_clean, debugfs, text, DiskCopy};
use vireo_tests::Machine;

/// Every tool the multicall program answers to (Makefile `COREUTILS_TOOLS`
/// and `COREUTILS_DISK_TOOLS`): each one's `--help` is checked here; the
/// system tools (ps, top, free, uptime, kill) are used in sys_tools.rs, the
/// network ones (df, ip, ping, fetch) in net_tools.rs.
const TOOLS: &[&str] = &[
    "cat", "cp", "date", "df", "echo", "env", "fetch", "free", "grep", "head", "hexdump", "ip", "kill", "ls", "mkdir",
    "mv", "ping", "ps", "pwd", "rm", "rmdir", "sleep", "tail", "top", "touch", "uptime", "wc",
];

const SCRIPT: &str = r#"cd /
mkdir /t; echo mkdir $?
mkdir /t; echo again $?
mkdir -p /t/a/b/c /t/a/b; echo p $?
mkdir /x/y; echo noparent $?
cd /t
echo hello world > f.txt
/bin/echo -n no-newline > n.txt
/bin/echo one  two
/bin/echo -n three; /bin/echo ' four'
echo == ls
ls
echo == ls -a
ls -a
ls -l f.txt
echo == ls -l
ls -l
ls /t/a /t/f.txt /nope; echo ls $?
ls -q; echo badflag $?
echo == cp
cp f.txt g.txt; cat g.txt
cp f.txt n.txt a; ls a
cp a z; echo cpdir $?
cp -r a z; ls z z/b
cp -r a a/b/c; echo into-self $?
cp /nope q; echo cp $?
echo == mv
mv g.txt h.txt; ls
mv h.txt a; ls a
cp f.txt r.txt; mv n.txt r.txt; cat r.txt; echo
mv /nope q; echo mv $?
echo == rm
rm a/h.txt; ls a
rm a; echo rm-dir $?
rmdir z; echo nonempty $?
rm -r z; ls
rm /nope; echo rm $?
rm -f /nope; echo rmf $?
rm -rf /; echo rm-root $?
rm -rf a/b/c a/b; ls a
rmdir a/b; echo rmdir-missing $?
mkdir e; rmdir e; ls
echo == touch
touch new.txt; ls -l new.txt
touch f.txt; cat f.txt
ls -l /etc/motd
touch /etc/motd; ls -l /etc/motd
echo == env
export GREET=hi
env | grep GREET
env A=1 B=2 env | grep -c '^[AB]='
env A=1 /nope; echo env-missing $?
pwd
cd a; /bin/pwd; cd /t
echo alpha > w.txt
echo 'Beta gamma' >> w.txt
echo delta >> w.txt
echo Epsilon >> w.txt
echo 'alphabet soup' >> w.txt
echo == wc
wc w.txt
wc -l w.txt
wc -w -c w.txt
wc w.txt f.txt
cat w.txt | wc -l
wc /nope; echo wc $?
echo == head
head -n 2 w.txt
head -n1 w.txt f.txt
tail -n 2 w.txt
cat w.txt | tail -n 1
head -n x w.txt; echo head $?
echo == grep
grep alpha w.txt
grep -n '^alpha' w.txt
grep -c a w.txt
grep -i BETA w.txt
grep -v a w.txt
grep 'd.l*ta$' w.txt
grep '[B-D]eta' w.txt
grep -F -n 'bet s' w.txt
grep -F 'a.*a' w.txt; echo fixed-none $?
grep 'a.*a' w.txt | wc -l
grep alpha w.txt f.txt
grep '[x' w.txt; echo badre $?
grep x /nope; echo grep-missing $?
grep -Z x w.txt; echo grep-badflag $?
echo == hexdump
hexdump -C f.txt
hexdump -C r.txt
echo == date
date
date -x; echo date-bad $?
echo == help
"#;

/// Typed after SCRIPT: each tool's `--help` (by path: echo and pwd are also
/// shell built-ins), then the multicall's own error.
fn help_lines() -> Vec<String> {
    let mut lines: Vec<String> = TOOLS.iter().map(|t| format!("/bin/{t} --help | head -n 1")).collect();
    lines.push("coreutils nope; echo multicall $?".into());
    lines.push("echo == done".into());
    lines
}

/// What SCRIPT prints, in order (`{}` is any text: times).
const OUTPUT: &[&str] = &[
    "mkdir 0",
    "mkdir: /t: File exists",
    "again 1",
    "p 0",
    "mkdir: /x/y: No such file or directory",
    "noparent 1",
    "one two",
    "three four",
    "== ls",
    "a",
    "f.txt",
    "n.txt",
    "== ls -a",
    ".",
    "..",
    "a",
    "f.txt",
    "n.txt",
    "-rw         12 20{}-{}-{} {}:{} f.txt",
    "== ls -l",
    "drw{} a",
    "-rw         12 {} f.txt",
    "-rw         10 {} n.txt",
    "ls: /nope: No such file or directory",
    "/t/f.txt",
    "",
    "/t/a:",
    "b",
    "ls 1",
    "ls: invalid option -- 'q'",
    "usage: ls [-l] [-a] [PATH...]",
    "badflag 2",
    "== cp",
    "hello world",
    "b",
    "f.txt",
    "n.txt",
    "cp: a: is a directory (use -r)",
    "cpdir 1",
    "z:",
    "b",
    "f.txt",
    "n.txt",
    "",
    "z/b:",
    "c",
    "cp: a: cannot copy a directory into itself",
    "into-self 1",
    "cp: /nope: No such file or directory",
    "cp 1",
    "== mv",
    "a",
    "f.txt",
    "h.txt",
    "n.txt",
    "z",
    "b",
    "f.txt",
    "h.txt",
    "n.txt",
    "no-newline",
    "mv: /nope: No such file or directory",
    "mv 1",
    "== rm",
    "b",
    "f.txt",
    "n.txt",
    "rm: a: Is a directory",
    "rm-dir 1",
    "rmdir: z: Directory not empty",
    "nonempty 1",
    "a",
    "f.txt",
    "r.txt",
    "rm: /nope: No such file or directory",
    "rm 1",
    "rmf 0",
    "rm: /: refusing to remove the root directory",
    "rm-root 1",
    "f.txt",
    "n.txt",
    "rmdir: a/b: No such file or directory",
    "rmdir-missing 1",
    "a",
    "f.txt",
    "r.txt",
    "== touch",
    "-rw          0 {} new.txt",
    "hello world",
    "-rw         18 2025-01-01 00:00 /etc/motd",
    "== env",
    "GREET=hi",
    "2",
    "env: /nope: No such file or directory",
    "env-missing 127",
    "/t",
    "/t/a",
    "== wc",
    "      5       7      45 w.txt",
    "      5 w.txt",
    "      7      45 w.txt",
    "      5       7      45 w.txt",
    "      1       2      12 f.txt",
    "      6       9      57 total",
    "      5",
    "wc: /nope: No such file or directory",
    "wc 1",
    "== head",
    "alpha",
    "Beta gamma",
    "==> w.txt <==",
    "alpha",
    "",
    "==> f.txt <==",
    "hello world",
    "Epsilon",
    "alphabet soup",
    "alphabet soup",
    "head: invalid number of lines: 'x'",
    "usage: head [-n N] [FILE...]",
    "head 2",
    "== grep",
    "alpha",
    "alphabet soup",
    "1:alpha",
    "5:alphabet soup",
    "4",
    "Beta gamma",
    "Epsilon",
    "delta",
    "Beta gamma",
    "5:alphabet soup",
    "fixed-none 1",
    "      3",
    "w.txt:alpha",
    "w.txt:alphabet soup",
    "grep: unmatched [",
    "badre 2",
    "grep: /nope: No such file or directory",
    "grep-missing 2",
    "grep: invalid option -- 'Z'",
    "grep-badflag 2",
    "== hexdump",
    "00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a              |hello world.|",
    "0000000c",
    "00000000  6e 6f 2d 6e 65 77 6c 69  6e 65                    |no-newline|",
    "0000000a",
    "== date",
    "20{}-{}-{}T{}:{}:{}Z",
    "date: invalid option -- 'x'",
    "usage: date [-u]",
    "date-bad 2",
    "== help",
];

#[test]
fn every_tool_typed_at_the_prompt_works_on_the_disk_and_reports_errors_in_one_line() {
    let disk = DiskCopy::new("tools");
    let started = Instant::now();
    let mut c = Console::shell(Machine::Microvm, &disk.path, false);
    c.expect(PROMPT);
    for line in SCRIPT.lines().map(str::to_string).chain(help_lines()) {
        c.command(&line);
    }
    c.type_keys("poweroff\r");
    c.expect("io: / unmounted cleanly");
    c.expect("VIREO-EXIT 0");
    // isa-debug-exit: QEMU's status is (code << 1) | 1.
    assert_eq!(c.wait().code(), Some(1), "{}", c.text());
    eprintln!("tools session: {:?}", started.elapsed());
    let helps: Vec<String> = TOOLS.iter().map(|t| format!("usage: {t}{{}}")).collect();
    let tail = ["coreutils: nope: no such tool", "usage: coreutils TOOL {}", "multicall 2", "== done"];
    let want: Vec<&str> =
        OUTPUT.iter().copied().chain(helps.iter().map(String::as_str)).chain(tail.iter().copied()).collect();
    c.assert_lines_in_order(&want);
    // touch moved an existing file's time on (from the image's 2025 epoch).
    let lines = c.lines();
    let motd: Vec<&String> = lines.iter().filter(|l| l.contains(" /etc/motd") && !l.starts_with("vireo:")).collect();
    assert!(motd.len() == 2 && !motd[1].contains(" 2025-01-01 00:00 "), "touch left the time: {motd:?}");
    // What the tools left on the disk, and a consistent file system after
    // the copies, renames and recursive removals.
    assert_eq!(disk.file("/t/f.txt"), "hello world\n");
    assert_eq!(disk.file("/t/r.txt"), "no-newline");
    assert_eq!(disk.file("/t/a/n.txt"), "no-newline");
    assert_eq!(disk.file("/t/new.txt"), "");
    for gone in ["/t/z", "/t/n.txt", "/t/a/b", "/t/e", "/t/g.txt"] {
        let o = debugfs(&disk.path, &format!("stat {gone}"));
        assert!(text(&o).contains("not found"), "{gone} is still there: {}", text(&o));
    }
    assert_fsck_clean(&disk.path, "the tools script");
}
