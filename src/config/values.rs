//! The parsers of the settings' values: URLs, Telegram ids, origins, networks, reminder days.

use url::Url;

pub(super) fn parse_http_url(v: &str) -> Result<Url, String> {
    match Url::parse(v) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err("must be an absolute http(s) URL".into()),
    }
}

/// Telegram's rule for `secret_token`: 1–256 characters of `A-Z a-z 0-9 _ -`.
pub fn validate_webhook_secret(v: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err("must be 1–256 characters of A-Z a-z 0-9 _ -".into()) }
}

pub(super) fn parse_id_list(v: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<i64>() {
            Ok(id) if id > 0 => ids.push(id),
            _ => return Err(format!("{part:?} is not a Telegram user id (comma-separated positive numbers expected)")),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

pub(super) fn parse_origins(v: &str) -> Result<Vec<String>, String> {
    let mut origins = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let url =
            Url::parse(part).map_err(|_| format!("{part:?} is not an origin such as https://admin.example.com"))?;
        if !matches!(url.scheme(), "http" | "https") || url.path() != "/" || url.query().is_some() {
            return Err(format!("{part:?} is not an origin such as https://admin.example.com"));
        }
        origins.push(url.origin().ascii_serialization());
    }
    Ok(origins)
}

/// An IP network: an address and a prefix length (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: std::net::IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

pub(super) fn parse_networks(v: &str) -> Result<Vec<IpNet>, String> {
    let mut nets = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("{part:?} is not an IP address or CIDR network such as 10.0.0.0/8");
        let (addr, prefix) = match part.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (part, None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        nets.push(IpNet { addr, prefix });
    }
    Ok(nets)
}

pub(super) fn parse_days(v: &str) -> Result<Vec<u32>, String> {
    let mut days = Vec::new();
    for part in v.split(',').map(str::trim) {
        match part.parse::<u32>() {
            Ok(d) if d <= 365 => days.push(d),
            _ => return Err(format!("{part:?} is not a number of days 0–365 (comma-separated, e.g. 14,7,3)")),
        }
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    Ok(days)
}
