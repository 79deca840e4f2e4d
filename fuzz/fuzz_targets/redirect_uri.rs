//! Redirect-URI registration (admin/clients.rs `redirect_uris`, which the admin API and the
//! command line both use), one URI per input line. Accepted ⇒ every URI is stored trimmed and
//! otherwise as given (it is matched exactly at `/authorize`), at most 2000 characters, an
//! absolute URL with no fragment and no user information, https or else http on the loopback
//! interface (RFC 6749 §3.1.2, RFC 9700 §4.1, RFC 8252 §7.3), and none is listed twice. The
//! matching itself is fuzzed through the real `/authorize` in the `endpoints` target.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use backend::admin::clients::redirect_uris;
use libfuzzer_sys::fuzz_target;
use shared::admin::MAX_REDIRECT_URIS;
use url::{Host, Url};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let given: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let Ok(stored) = redirect_uris(&given) else {
        return;
    };
    assert!(stored.len() <= MAX_REDIRECT_URIS);
    assert_eq!(stored.len(), given.len());
    for (i, (raw, uri)) in given.iter().zip(&stored).enumerate() {
        assert_eq!(uri, raw.trim(), "stored as given, trimmed");
        assert!(uri.len() <= 2000);
        assert!(!uri.contains('#'), "{uri:?} has a fragment");
        let url = Url::parse(uri).unwrap_or_else(|e| panic!("{uri:?} accepted: {e}"));
        assert!(url.fragment().is_none(), "{uri:?}");
        assert!(
            url.username().is_empty() && url.password().is_none(),
            "{uri:?} has user information"
        );
        let loopback = matches!(
            url.host(),
            Some(Host::Domain("localhost"))
                | Some(Host::Ipv4(Ipv4Addr::LOCALHOST))
                | Some(Host::Ipv6(Ipv6Addr::LOCALHOST))
        );
        assert!(
            url.scheme() == "https" || (url.scheme() == "http" && loopback),
            "{uri:?}: {} on {:?}",
            url.scheme(),
            url.host()
        );
        assert!(!stored[..i].contains(uri), "{uri:?} listed twice");
    }
});
