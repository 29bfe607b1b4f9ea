fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("Hello, world! from a std app on Vireo; args {args:?}");
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let sum: u64 = std::thread::scope(|s| {
        let hs: Vec<_> =
            (0..cpus as u64).map(|i| s.spawn(move || (0..1000u64).map(|x| x * (i + 1)).sum::<u64>())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!("hello-app: {cpus} threads summed {sum}");
    // The exit code is the number of arguments, so a caller can check it.
    std::process::exit(args.len() as i32);
}
