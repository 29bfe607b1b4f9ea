//! The DNS message format (RFC 1035 4, RFC 6891 for EDNS0): [`query`] builds
//! an A query, [`parse_reply`] reads a reply to it. The reply is untrusted
//! input: every read is bounds-checked, compression pointers must point
//! before the last place a name jumped from (so a chain of them always
//! ends) and are followed at most [`MAX_POINTERS`] times, names stay within
//! 255 bytes, at most [`MAX_RECORDS`] records are looked at, CNAME chains
//! are followed at most [`MAX_CNAMES`] hops, and records whose owner is not
//! the question's name or a CNAME target on the way are ignored (an answer
//! to a question nobody asked is how caches get poisoned).
use crate::name::{Name, MAX_WIRE};
use alloc::vec::Vec;
use core::net::Ipv4Addr;

pub const HEADER_LEN: usize = 12;
pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_OPT: u16 = 41;
pub const CLASS_IN: u16 = 1;
/// The UDP payload size advertised with EDNS0: the size DNS Flag Day 2020
/// settled on (no IP fragmentation on common paths).
pub const EDNS_PAYLOAD: u16 = 1232;
/// Header flags: the reply bit, truncation, recursion desired.
const QR: u16 = 0x8000;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;
/// Compression pointers followed while reading one name.
pub const MAX_POINTERS: usize = 32;
/// Records (answer and authority sections together) looked at.
pub const MAX_RECORDS: usize = 64;
/// CNAME hops from the question's name to the addresses.
pub const MAX_CNAMES: usize = 8;
/// Addresses kept from one answer.
pub const MAX_ADDRS: usize = 16;

/// The response code (the header's low 4 bits; the extended bits of EDNS0
/// are not looked at: they only refine codes this resolver does not use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rcode {
    NoError,
    FormErr,
    ServFail,
    NxDomain,
    NotImp,
    Refused,
    Other(u8),
}

impl Rcode {
    fn from_bits(b: u8) -> Rcode {
        match b {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            x => Rcode::Other(x),
        }
    }
}

/// What a reply says about the question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub rcode: Rcode,
    /// The server cut the reply to fit (TC): ask again over TCP. Nothing
    /// past the question is read then.
    pub truncated: bool,
    /// The question's addresses, after the CNAME chain (at most
    /// [`MAX_ADDRS`], without repeats, in the reply's order).
    pub addrs: Vec<Ipv4Addr>,
    /// The smallest TTL of those addresses and the CNAMEs followed to them
    /// (seconds; 0 without addresses).
    pub ttl: u32,
    /// For a negative reply (NXDOMAIN, or no address), how long it may be
    /// cached (RFC 2308 5: the smaller of the authority SOA's TTL and its
    /// MINIMUM field); None without an SOA.
    pub negative_ttl: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The message ends inside a header, name or record.
    Short,
    /// Not a reply to a standard query (QR clear, or another opcode).
    NotAReply,
    /// Not the id of our query.
    WrongId,
    /// Not our question (name, type or class), or not exactly one.
    WrongQuestion,
    /// A name that is malformed: a reserved label type, a pointer forward
    /// or too many pointers, more than 255 bytes.
    BadName,
    /// A record whose data does not fit its type.
    BadRecord,
    /// A CNAME chain longer than [`MAX_CNAMES`] (or a loop).
    CnameChain,
}

/// An A query for `name` with id `id`, recursion desired, and an EDNS0 OPT
/// record advertising [`EDNS_PAYLOAD`] if `edns`.
pub fn query(id: u16, name: &Name, edns: bool) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER_LEN + name.wire().len() + 4 + 11);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&RD.to_be_bytes());
    for count in [1u16, 0, 0, u16::from(edns)] {
        m.extend_from_slice(&count.to_be_bytes());
    }
    m.extend_from_slice(name.wire());
    m.extend_from_slice(&TYPE_A.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    if edns {
        // Root owner, type OPT, class = payload size, TTL = extended rcode,
        // version 0 and no flags, no options.
        m.push(0);
        m.extend_from_slice(&TYPE_OPT.to_be_bytes());
        m.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    m
}

/// The id of a message (its first two bytes), if it has a header.
pub fn message_id(msg: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.first()?, *msg.get(1)?]))
}

fn u16_at(msg: &[u8], at: usize) -> Result<u16, ParseError> {
    match msg.get(at..at.checked_add(2).ok_or(ParseError::Short)?) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(ParseError::Short),
    }
}

fn u32_at(msg: &[u8], at: usize) -> Result<u32, ParseError> {
    match msg.get(at..at.checked_add(4).ok_or(ParseError::Short)?) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(ParseError::Short),
    }
}

/// A TTL as RFC 2181 8 says to read it: values with the top bit set are 0.
fn ttl_value(raw: u32) -> u32 {
    if raw & 0x8000_0000 != 0 {
        0
    } else {
        raw
    }
}

/// Reads the (possibly compressed) name at `at`: its lowercase wire form,
/// and the offset just past it where it starts (past the first pointer if
/// it jumps).
pub fn read_name(msg: &[u8], at: usize) -> Result<(Name, usize), ParseError> {
    let mut out = Vec::with_capacity(32);
    let mut pos = at;
    // Pointers must go before this: it only decreases, so reading ends.
    let mut limit = at;
    let mut after = None;
    let mut pointers = 0;
    loop {
        let len = *msg.get(pos).ok_or(ParseError::Short)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                out.push(0);
                return Ok((Name::from_wire(out), after.unwrap_or(pos + 1)));
            }
            0x00 => {
                let n = usize::from(len);
                let label = msg.get(pos + 1..pos + 1 + n).ok_or(ParseError::Short)?;
                // This label, its length byte and the root still to come.
                if out.len() + 1 + n + 1 > MAX_WIRE {
                    return Err(ParseError::BadName);
                }
                out.push(len);
                out.extend(label.iter().map(u8::to_ascii_lowercase));
                pos += 1 + n;
            }
            0xc0 => {
                let low = *msg.get(pos + 1).ok_or(ParseError::Short)?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                pointers += 1;
                if target >= limit || pointers > MAX_POINTERS {
                    return Err(ParseError::BadName);
                }
                after.get_or_insert(pos + 2);
                limit = target;
                pos = target;
            }
            // 0x40 and 0x80: extended and reserved label types.
            _ => return Err(ParseError::BadName),
        }
    }
}

/// One record of the answer or authority section, located in the message.
#[derive(Clone, Copy)]
struct Record {
    owner: usize,
    rtype: u16,
    class: u16,
    ttl: u32,
    data: usize,
    len: usize,
}

/// Reads the reply `msg` to the query with id `id` for `name` (type A,
/// class IN).
pub fn parse_reply(msg: &[u8], id: u16, name: &Name) -> Result<Reply, ParseError> {
    if msg.len() < HEADER_LEN {
        return Err(ParseError::Short);
    }
    if u16_at(msg, 0)? != id {
        return Err(ParseError::WrongId);
    }
    let flags = u16_at(msg, 2)?;
    // QR set, opcode (bits 11-14) QUERY.
    if flags & QR == 0 || (flags >> 11) & 0xf != 0 {
        return Err(ParseError::NotAReply);
    }
    let rcode = Rcode::from_bits((flags & 0xf) as u8);
    let truncated = flags & TC != 0;
    let (qd, an, ns) = (u16_at(msg, 4)?, u16_at(msg, 6)?, u16_at(msg, 8)?);
    let mut reply = Reply { rcode, truncated, addrs: Vec::new(), ttl: 0, negative_ttl: None };
    // Some servers send errors such as FORMERR without the question.
    if qd == 0 && !matches!(rcode, Rcode::NoError | Rcode::NxDomain) && !truncated {
        return Ok(reply);
    }
    if qd != 1 {
        return Err(ParseError::WrongQuestion);
    }
    let (qname, at) = read_name(msg, HEADER_LEN)?;
    if qname != *name || u16_at(msg, at)? != TYPE_A || u16_at(msg, at + 2)? != CLASS_IN {
        return Err(ParseError::WrongQuestion);
    }
    if truncated {
        return Ok(reply);
    }
    let mut at = at + 4;
    let (mut answers, mut authority) = (Vec::new(), Vec::new());
    for i in 0..usize::from(an) + usize::from(ns) {
        if i == MAX_RECORDS {
            break;
        }
        let (rec, next) = read_record(msg, at)?;
        at = next;
        if i < usize::from(an) {
            answers.push(rec);
        } else {
            authority.push(rec);
        }
    }
    follow_chain(msg, name, &answers, &mut reply)?;
    if reply.addrs.is_empty() && matches!(rcode, Rcode::NoError | Rcode::NxDomain) {
        reply.negative_ttl = negative_ttl(msg, &authority)?;
    }
    Ok(reply)
}

fn read_record(msg: &[u8], at: usize) -> Result<(Record, usize), ParseError> {
    let (_, fixed) = read_name(msg, at)?;
    let len = usize::from(u16_at(msg, fixed + 8)?);
    let data = fixed + 10;
    if msg.len() < data + len {
        return Err(ParseError::Short);
    }
    let rec = Record {
        owner: at,
        rtype: u16_at(msg, fixed)?,
        class: u16_at(msg, fixed + 2)?,
        ttl: ttl_value(u32_at(msg, fixed + 4)?),
        data,
        len,
    };
    Ok((rec, data + len))
}

/// From the question's name, the A records of the name or, failing that,
/// the CNAME to follow next; records of other owners are ignored.
fn follow_chain(msg: &[u8], name: &Name, answers: &[Record], reply: &mut Reply) -> Result<(), ParseError> {
    let mut current = name.clone();
    let mut ttl = u32::MAX;
    for _ in 0..=MAX_CNAMES {
        let mut next = None;
        for r in answers.iter().filter(|r| r.class == CLASS_IN) {
            if read_name(msg, r.owner)?.0 != current {
                continue;
            }
            match r.rtype {
                TYPE_A => {
                    let b = msg.get(r.data..r.data + r.len).ok_or(ParseError::Short)?;
                    let &[a, b2, c, d] = b else { return Err(ParseError::BadRecord) };
                    let addr = Ipv4Addr::new(a, b2, c, d);
                    if !reply.addrs.contains(&addr) && reply.addrs.len() < MAX_ADDRS {
                        reply.addrs.push(addr);
                    }
                    ttl = ttl.min(r.ttl);
                }
                TYPE_CNAME if next.is_none() => {
                    let (target, end) = read_name(msg, r.data)?;
                    if end > r.data + r.len {
                        return Err(ParseError::BadRecord);
                    }
                    next = Some((target, r.ttl));
                }
                _ => {}
            }
        }
        if !reply.addrs.is_empty() {
            reply.ttl = ttl;
            return Ok(());
        }
        match next {
            Some((target, t)) => {
                ttl = ttl.min(t);
                current = target;
            }
            None => return Ok(()),
        }
    }
    Err(ParseError::CnameChain)
}

/// RFC 2308 5: a negative answer lives as long as the smaller of the
/// authority SOA's TTL and its MINIMUM field.
fn negative_ttl(msg: &[u8], authority: &[Record]) -> Result<Option<u32>, ParseError> {
    let Some(r) = authority.iter().find(|r| r.rtype == TYPE_SOA && r.class == CLASS_IN) else { return Ok(None) };
    let (_, after_mname) = read_name(msg, r.data)?;
    let (_, after_rname) = read_name(msg, after_mname)?;
    // Serial, refresh, retry, expire, minimum.
    if after_rname + 20 > r.data + r.len {
        return Err(ParseError::BadRecord);
    }
    let minimum = ttl_value(u32_at(msg, after_rname + 16)?);
    Ok(Some(r.ttl.min(minimum)))
}

#[cfg(test)]
pub(crate) mod tests;
