//! `/bin/sh` (docs/shell.md) on Vireo, under QEMU TCG with the disk as `/`:
//! one boot runs a script covering the shell's language, one drives an
//! interactive session over the serial console (line editing, history,
//! completion, Ctrl-C, Ctrl-D, poweroff), one restarts with `reboot`.
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vireo_tests::console::{Console, DELETE, DOWN, END, HOME, LEFT, PROMPT, RIGHT, UP};
use vireo_tests::disk::{debugfs_write, program, DiskCopy};
use vireo_tests::{Machine, Qemu};

/// One VM at a time: the tests are timing-sensitive under TCG.
static ONE_VM: Mutex<()> = Mutex::new(());

const SCRIPT: &str = r#"# a comment line
echo plain "double  quoted" 'single $HOME' back\ slash \$dollar # trailing comment
X=assigned; echo "x=$X" ${X}-braced
export GREETING=hello
sh -c 'echo child sees $GREETING'
echo status $?
PATH=/mybin; greet exit 5; echo greet gave $?; export PATH=/bin
false; echo false gives $?
no-such-program; echo missing gives $?
false || echo or runs
true && echo and runs
false && echo never-and
true || echo never-or
cd /etc; pwd; cd /; pwd
echo first > /sh-out.txt
echo second >> /sh-out.txt
cat < /sh-out.txt
cat /sh-out.txt | cat | cat
echo piped | cat
cat /no-such-file 2> /sh-err.txt; echo cat failed $?
cat /sh-err.txt
cat /sh-out.txt /no-such-file > /sh-both.txt 2>> /sh-err.txt
cat /no-such-file > /sh-joined.txt 2>&1
cat /no-such-file 2>&1 | cat | cat > /sh-piped.txt
echo /etc/mo?? /bin/sl*
echo '/bin/sl*' "/etc/*" /no-match-*
sh -c 'echo c-mode $0 $1 $#' name one
/bin/sh /sub.sh a b; echo sub status $?
sh -c "echo 'unclosed"; echo syntax $?
exit 7
"#;

const SUB_SCRIPT: &str = "echo sub $0 $1 $2 $#\nexit 3\n";

/// What SCRIPT prints, in order.
const SCRIPT_OUTPUT: &[&str] = &[
    "plain double  quoted single $HOME back slash $dollar",
    "x=assigned assigned-braced",
    "child sees hello",
    "status 0",
    // Found through $PATH: the runtime passes the path it spawned as argv[0].
    "hello-std: args [\"/mybin/greet\", \"exit\", \"5\"]",
    "greet gave 5",
    "false gives 1",
    "sh: no-such-program: not found",
    "missing gives 127",
    "or runs",
    "and runs",
    "/etc",
    "/",
    "first",
    "second",
    "first",
    "second",
    "piped",
    "cat failed 1",
    "cat: /no-such-file: No such file or directory",
    "/etc/motd /bin/sleep",
    "/bin/sl* /etc/* /no-match-*",
    "c-mode name one 1",
    "sub /sub.sh a b 2",
    "sub status 3",
    "sh: unclosed '",
    "syntax 2",
];

#[test]
fn a_script_runs_every_feature_and_its_exit_status_ends_the_vm() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = DiskCopy::new("shell-script");
    disk.put("script.sh", SCRIPT);
    disk.put("sub.sh", SUB_SCRIPT);
    // A program only $PATH finds: hello-std as /mybin/greet.
    let hello =
        vireo_tests::repo_root().join("guest-userspace/std-programs/target/x86_64-unknown-motor/release/hello-std");
    debugfs_write(&disk.path, "mkdir /mybin");
    debugfs_write(&disk.path, &format!("write {} /mybin/greet", hello.display()));
    debugfs_write(&disk.path, "sif /mybin/greet mode 0100755");
    let run = Qemu::new(Machine::Microvm)
        .cpus(2)
        .with_initrd()
        .with_disk(&disk.path, false)
        .cmdline(&program("/bin/sh /script.sh"))
        .timeout(Duration::from_secs(300))
        .run();
    eprintln!("script boot: {:?}", run.elapsed);
    run.assert_lines_in_order(SCRIPT_OUTPUT);
    for never in ["never-and", "never-or"] {
        assert!(!run.stdout.contains(never), "{never} printed\n{}", run.dump());
    }
    run.assert_exit(7);
    assert!(run.has_line_starting("io: / unmounted cleanly"), "{}", run.dump());
    // What the redirections wrote is on the disk.
    assert_eq!(disk.file("/sh-out.txt"), "first\nsecond\n");
    assert_eq!(disk.file("/sh-both.txt"), "first\nsecond\n");
    for joined in ["/sh-joined.txt", "/sh-piped.txt"] {
        assert_eq!(disk.file(joined), "cat: /no-such-file: No such file or directory\n", "{joined}");
    }
    assert_eq!(
        disk.file("/sh-err.txt"),
        "cat: /no-such-file: No such file or directory\ncat: /no-such-file: No such file or directory\n"
    );
}

#[test]
fn reboot_unmounts_and_restarts_the_machine() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = DiskCopy::new("shell-reboot");
    // QEMU runs with -no-reboot, so the restart ends it with status 0.
    let run = Qemu::new(Machine::Microvm)
        .with_initrd()
        .with_disk(&disk.path, false)
        .cmdline(&program("/bin/sh -c reboot"))
        .timeout(Duration::from_secs(120))
        .run();
    assert!(!run.timed_out, "{}", run.dump());
    assert!(run.has_line_starting("io: / unmounted cleanly"), "{}", run.dump());
    assert!(run.has_line_starting("vireo: restarting"), "{}", run.dump());
    assert_eq!(run.vireo_exit(), None, "a restart is not a power-off\n{}", run.dump());
    assert_eq!(run.status.code(), Some(0), "{}", run.dump());
}

/// QEMU with the shell on its serial console, the disk as `/`.
fn boot(machine: Machine, disk: &DiskCopy) -> Console {
    Console::shell(machine, &disk.path, false)
}

#[test]
fn an_interactive_session_edits_recalls_completes_interrupts_and_powers_off() {
    session(Machine::Microvm);
}

/// The shorter session on q35 (virtio-pci disk, SeaBIOS): prompt, editing,
/// completion, Ctrl-C, poweroff.
#[test]
fn q35_interactive_session_interrupts_and_powers_off() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = DiskCopy::new("shell-console-q35");
    let mut c = boot(Machine::Q35, &disk);
    c.expect(PROMPT);
    c.run(&format!("cho q35{HOME}e\r"), "q35");
    c.run("cat /et\tmo\t\r", "Welcome to Vireo.");
    c.run("cat\rtyped to cat\r", "typed to cat");
    std::thread::sleep(Duration::from_millis(300));
    c.type_keys("\x03");
    c.expect(PROMPT);
    c.run("echo status $?\r", "status 130");
    c.type_keys("poweroff\r");
    c.expect("io: / unmounted cleanly");
    c.expect("VIREO-EXIT 0");
}

fn session(machine: Machine) {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let disk = DiskCopy::new("shell-console");
    let started = Instant::now();
    let mut c = boot(machine, &disk);
    c.expect(PROMPT);
    // Cursor keys, Home/End, Ctrl-A/Ctrl-E, Backspace, Delete.
    c.run(&format!("cho wrld{HOME}e{}o{END}!\r", RIGHT.repeat(5)), "world!");
    c.run("echo abX\x7fc\r", "abc");
    c.run(&format!("echo Qxyz\x01{}{DELETE}\x05!\r", RIGHT.repeat(5)), "xyz!");
    c.run(&format!("xecho left{HOME}\x06\x7f\r"), "left");
    c.run("echo abd\x02c\r", "abcd");
    // Ctrl-K, Ctrl-U, Ctrl-W.
    c.run(&format!("echo keep cut{}\x0bkept\r", LEFT.repeat(3)), "keep kept");
    c.run("garbage\x15echo fresh\r", "fresh");
    c.run("echo one two three\x17\x17four\r", "one four");
    // History: up twice runs the command before last again; down returns to the draft.
    c.run("echo hist-one\r", "hist-one");
    c.run("echo hist-two\r", "hist-two");
    c.run(&format!("{UP}{UP}\r"), "hist-one");
    c.run(&format!("echo dr{UP}{DOWN}aft\r"), "draft");
    // Tab completion: a command, a path, and a list of several.
    c.run("ech\tcompleted\r", "completed");
    c.run("cat /et\tmo\t\r", "Welcome to Vireo.");
    c.type_keys("ex\t");
    c.expect("exit  export");
    c.run("\x15echo listed\r", "listed");
    // Ctrl-C ends the foreground program (cat, reading the console) and
    // the prompt returns with $? = 130; at the prompt it drops the line.
    c.run("cat\rtyped to cat\r", "typed to cat");
    std::thread::sleep(Duration::from_millis(300));
    c.type_keys("\x03");
    c.expect(PROMPT);
    c.run("echo status $?\r", "status 130");
    // A program busy on the CPU (/bin/spin never makes a system call), and
    // a whole pipeline.
    c.type_keys("spin\r");
    std::thread::sleep(Duration::from_millis(300));
    c.interrupt(PROMPT);
    c.run("echo spin $?\r", "spin 130");
    c.type_keys("sleep 60 | cat | cat\r");
    std::thread::sleep(Duration::from_millis(300));
    c.interrupt(PROMPT);
    c.run("echo pipeline $?\r", "pipeline 130");
    c.type_keys("echo dropped\x03");
    c.expect("^C");
    c.run("echo after\r", "after");
    // A nested shell at its prompt takes Ctrl-C as a key (its parent's
    // foreground does not end it); Ctrl-D on an empty line ends it.
    c.run("sh\recho inner\r", "inner");
    c.type_keys("echo x\x03");
    c.expect("^C");
    c.run("echo still inner $?\r", "still inner 130");
    c.type_keys("\x04");
    c.expect(PROMPT);
    c.run("echo outer $?\r", "outer 0");
    // poweroff: init unmounts / and the VM exits with 0.
    c.type_keys("poweroff\r");
    c.expect("io: / unmounted cleanly");
    c.expect("VIREO-EXIT 0");
    let status = c.wait();
    // isa-debug-exit: QEMU's status is (code << 1) | 1.
    assert_eq!(status.code(), Some(1), "{}", c.text());
    eprintln!("interactive session: {:?}", started.elapsed());
}
