use super::*;
use std::io::Cursor;

fn head(bytes: &[u8]) -> Result<Head, HttpError> {
    read_head(&mut Cursor::new(bytes))
}

/// The head and the body of a whole response.
fn response(bytes: &[u8]) -> Result<(Head, Vec<u8>), HttpError> {
    let mut r = Cursor::new(bytes);
    let h = read_head(&mut r)?;
    let mut body = Vec::new();
    copy_body(&mut r, h.framing()?, &mut body)?;
    Ok((h, body))
}

#[test]
fn urls_split_into_host_port_and_target() {
    let u = Url::parse("http://Example.COM:8080/a/b?x=1#frag").unwrap();
    assert_eq!(u, Url { host: "example.com".into(), port: 8080, target: "/a/b?x=1".into() });
    assert_eq!(u.host_header(), "example.com:8080");
    let u = Url::parse("http://10.0.2.2").unwrap();
    assert_eq!((u.port, u.target.as_str(), u.host_header().as_str()), (80, "/", "10.0.2.2"));
    assert_eq!(Url::parse("http://h?q").unwrap().target, "/?q");
    for bad in [
        "10.0.2.2/x",
        "https://h/",
        "ftp://h/",
        "http://",
        "http://:80/",
        "http://h:0/",
        "http://h:65536/",
        "http://h:x/",
        "http://u@h/",
        "http://[::1]/",
        "http://h/a b",
        "http://h/\u{e9}",
        "http://h\n/",
        "http://h%41/",
    ] {
        assert!(matches!(Url::parse(bad), Err(HttpError::BadUrl(_))), "{bad}");
    }
}

#[test]
fn locations_join_absolute_host_relative_and_relative() {
    let base = Url::parse("http://h:81/d/page?q").unwrap();
    assert_eq!(base.join("/x").unwrap(), Url { host: "h".into(), port: 81, target: "/x".into() });
    assert_eq!(base.join("y.txt").unwrap().target, "/d/y.txt");
    assert_eq!(base.join("http://other/z").unwrap(), Url { host: "other".into(), port: 80, target: "/z".into() });
    assert_eq!(base.join("//o:9/").unwrap(), Url { host: "o".into(), port: 9, target: "/".into() });
    assert!(base.join("https://h/").is_err());
}

#[test]
fn the_request_closes_the_connection_and_names_the_host() {
    let u = Url::parse("http://h:8080/p").unwrap();
    let r = request(&u);
    assert!(r.starts_with("GET /p HTTP/1.1\r\nHost: h:8080\r\n"), "{r}");
    assert!(r.contains("Connection: close\r\n") && r.ends_with("\r\n\r\n"));
}

#[test]
fn bodies_by_length_chunks_and_close() {
    let (h, b) = response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA").unwrap();
    assert_eq!((h.status, h.reason.as_str(), b.as_slice()), (200, "OK", &b"hello"[..]));
    let (_, b) =
        response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n")
            .unwrap();
    assert_eq!(b, b"hello0123456789");
    // Closed right after the last chunk, no final empty line: whole.
    let (_, b) = response(b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\r\nabc\r\n0\r\n").unwrap();
    assert_eq!(b, b"abc");
    let (_, b) = response(b"HTTP/1.0 200 OK\r\n\r\nuntil close").unwrap();
    assert_eq!(b, b"until close");
    let (h, b) = response(b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n").unwrap();
    assert_eq!((h.status, b.len()), (204, 0));
    // Transfer-Encoding wins over Content-Length (RFC 9112, 6.3).
    let (_, b) =
        response(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n")
            .unwrap();
    assert_eq!(b, b"z");
    // Same length twice (list or repeated field) is one length.
    let (_, b) = response(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok").unwrap();
    assert_eq!(b, b"ok");
}

#[test]
fn interim_heads_are_skipped() {
    let (h, b) = response(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx").unwrap();
    assert_eq!((h.status, b.as_slice()), (200, &b"x"[..]));
    let many = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(10);
    assert!(head(&many).is_err());
}

#[test]
fn a_lying_server_gets_an_error_not_a_panic() {
    let e = |bytes: &[u8]| response(bytes).unwrap_err();
    assert_eq!(e(b""), HttpError::ClosedInHead);
    assert_eq!(e(b"HTTP/1.1 200 OK\r\nContent-Le"), HttpError::ClosedInHead);
    assert_eq!(e(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), HttpError::Truncated(5, Some(10)));
    for cl in ["-1", "1x", "", "+5", "0x10", "99999999999999999999", "1, 2"] {
        let r = format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\n");
        assert_eq!(e(r.as_bytes()), HttpError::BadContentLength, "{cl}");
    }
    assert_eq!(e(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), HttpError::BadContentLength);
    assert!(matches!(
        e(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        HttpError::UnsupportedEncoding(_)
    ));
    for line in
        ["HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 099 x", "HTTP/1.1 abc", "SSH-2.0", "HTTP/1.1"]
    {
        assert_eq!(e(format!("{line}\r\n\r\n").as_bytes()), HttpError::BadStatusLine, "{line}");
    }
    for field in ["NoColon", "Bad Name: x", " Folded: x", ": empty", "X: a\x01b", "X\0: y"] {
        assert_eq!(e(format!("HTTP/1.1 200 OK\r\n{field}\r\n\r\n").as_bytes()), HttpError::BadHeader, "{field:?}");
    }
    // Huge lines and heads stop at their limits.
    let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(MAX_LINE * 2));
    assert_eq!(e(long.as_bytes()), HttpError::LineTooLong);
    let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..MAX_FIELDS + 1 {
        big.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    assert_eq!(e(&big), HttpError::TooManyFields);
    let mut wide = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..20 {
        wide.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(4000)).as_bytes());
    }
    assert_eq!(e(&wide), HttpError::HeadTooLarge);
}

#[test]
fn broken_chunked_bodies_are_errors() {
    let c = |body: &[u8]| {
        let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        r.extend_from_slice(body);
        response(&r).unwrap_err()
    };
    assert_eq!(c(b"zz\r\n"), HttpError::BadChunk);
    assert_eq!(c(b"\r\n"), HttpError::BadChunk);
    assert_eq!(c(b"-1\r\n"), HttpError::BadChunk);
    assert_eq!(c(b"ffffffffffffffffff\r\nx"), HttpError::BadChunk);
    assert_eq!(c(b"5\r\nabcXY0\r\n\r\n"), HttpError::BadChunk);
    assert_eq!(c(b"5\r\nab"), HttpError::Truncated(2, None));
    assert_eq!(c(b"2\r\nab\r\n"), HttpError::Truncated(2, None));
    assert_eq!(c(b"2\r\nab\r"), HttpError::Truncated(2, None));
    assert_eq!(c(b""), HttpError::Truncated(0, None));
    assert_eq!(c(format!("1\r\n{}", "a".repeat(MAX_LINE * 2)).as_bytes()), HttpError::BadChunk);
    assert_eq!(c(format!("{}1\r\n", "0".repeat(20)).as_bytes()), HttpError::BadChunk);
    assert_eq!(c(b"0\r\nbad trailer\r\n\r\n"), HttpError::BadHeader);
}

/// Random and mutated responses: never a panic, and a body never longer
/// than the bytes sent.
#[test]
fn mutated_responses_never_panic() {
    let seeds: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..20_000 {
        let mut m = seeds[i % seeds.len()].to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % (m.len() + 1);
            match next() % 4 {
                0 if at < m.len() => m[at] = next() as u8,
                1 if at < m.len() => {
                    m.remove(at);
                }
                2 => m.insert(at, b"\r\n:0 ;aF"[(next() % 8) as usize]),
                _ => m.truncate(at),
            }
        }
        if let Ok((_, body)) = response(&m) {
            assert!(body.len() <= m.len());
        }
    }
}
