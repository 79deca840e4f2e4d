//! Who a request comes from: the address the per-address rate limits count and the event log
//! records. Behind a load balancer every request's peer is the balancer, so a request from a
//! configured trusted proxy (`--trusted-proxies`) is attributed to the address it names in
//! `X-Forwarded-For`: walking the list from the right (the hop nearest to this server), the
//! first address that is not itself a trusted proxy. Entries further left are written by
//! whoever sent the request and are never believed. So the trusted ranges must hold proxies
//! only: a client inside one could name any address it likes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The client's address, as [`resolve`] decided it. Put it in a handler's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Middleware: decides each request's [`ClientAddr`] once, from the peer and the trusted
/// proxies.
pub async fn resolve(
    State(trusted): State<Arc<Vec<IpNet>>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let peer = peer.ip().to_canonical();
        // Most requests (all, without a balancer) come from a peer that is not a proxy: its
        // address is the answer and the headers are not read.
        let address = if is_trusted(&trusted, peer) {
            let forwarded = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",");
            client_address(peer, &forwarded, &trusted)
        } else {
            peer
        };
        request.extensions_mut().insert(ClientAddr(address));
    }
    next.run(request).await
}

/// The client's address for a request from `peer` carrying `forwarded` (the joined
/// `X-Forwarded-For` values), given the `trusted` proxies.
pub fn client_address(peer: IpAddr, forwarded: &str, trusted: &[IpNet]) -> IpAddr {
    let mut address = peer.to_canonical();
    if !is_trusted(trusted, address) {
        return address;
    }
    for hop in forwarded.rsplit(',') {
        // An address, or an address with a port (`1.2.3.4:5678`, `[::1]:5678`), as some
        // balancers write it.
        let hop = hop.trim();
        let parsed = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()));
        let Ok(hop) = parsed else {
            // A malformed entry ends what can be believed: the last trusted hop answers.
            break;
        };
        address = hop.to_canonical();
        if !is_trusted(trusted, address) {
            break;
        }
    }
    address
}

/// Whether `ip` (canonical) is in one of the `trusted` proxy ranges.
fn is_trusted(trusted: &[IpNet], ip: IpAddr) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(address) = parts.extensions.get::<ClientAddr>() {
            return Ok(*address);
        }
        match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => Ok(Self(peer.ip().to_canonical())),
            None => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the connection's address is unknown\n",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(raw: &[&str]) -> Vec<IpNet> {
        raw.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        // No proxy: the peer, whatever the header says.
        assert_eq!(
            client_address(ip("192.0.2.9"), "198.51.100.1", &trusted),
            ip("192.0.2.9")
        );
        // One trusted hop.
        assert_eq!(
            client_address(ip("127.0.0.1"), "198.51.100.1", &trusted),
            ip("198.51.100.1")
        );
        // A client's own X-Forwarded-For entries (left) are not believed past an untrusted hop.
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                "203.0.113.66, 198.51.100.1, 10.1.2.3",
                &trusted
            ),
            ip("198.51.100.1")
        );
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(
            client_address(ip("127.0.0.1"), "198.51.100.1, junk", &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), "", &trusted),
            ip("127.0.0.1")
        );
        // IPv4 peers on a dual-stack socket.
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), "198.51.100.1", &trusted),
            ip("198.51.100.1")
        );
    }
}
