//! `dns-lookup NAME...`: resolves each name with std's `ToSocketAddrs`,
//! as any program would (`(name, 80)`, and `"name:443"` for the first),
//! and prints `dns-lookup: NAME: A:80,B:80 (N ms)` or `dns-lookup: NAME:
//! error: KIND (N ms)`. Exits 0 once every name got an answer or an error.
use std::net::ToSocketAddrs;
use std::time::Instant;

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    for (i, name) in names.iter().enumerate() {
        let t0 = Instant::now();
        let r = if i == 0 {
            format!("{name}:443").to_socket_addrs().map(|a| a.collect::<Vec<_>>())
        } else {
            (name.as_str(), 80).to_socket_addrs().map(|a| a.collect::<Vec<_>>())
        };
        let ms = t0.elapsed().as_millis();
        match r {
            Ok(addrs) => {
                let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                println!("dns-lookup: {name}: {} ({ms} ms)", list.join(","));
            }
            Err(e) => println!("dns-lookup: {name}: error: {:?} ({ms} ms)", e.kind()),
        }
    }
}
