//! The origin layer of the CSRF check (no I/O): `Sec-Fetch-Site` when the browser sends it,
//! else `Origin` against the configured APP_ORIGINS, compared exactly.

use actix_web::http::header::{HeaderMap, HeaderName, ORIGIN};

pub const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Why the origin layer refused a request (logged; never shown to the client verbatim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, derive_more::Display)]
pub enum OriginRefusal {
    #[display("Sec-Fetch-Site is cross-site")]
    CrossSite,
    #[display("Sec-Fetch-Site is same-site (a sibling subdomain)")]
    SameSite,
    #[display("Sec-Fetch-Site has an unknown value")]
    UnknownFetchSite,
    #[display("more than one Sec-Fetch-Site or Origin header")]
    Duplicate,
    #[display("Origin is null")]
    NullOrigin,
    #[display("Origin is not one of APP_ORIGINS")]
    UnknownOrigin,
}

fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a [u8]>, OriginRefusal> {
    let mut values = headers.get_all(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(OriginRefusal::Duplicate);
    }
    Ok(first.map(|v| v.as_bytes()))
}

/// Passes `same-origin` and `none` (a user-initiated navigation) when `Sec-Fetch-Site` is
/// present; `same-site` is refused because sibling tenant subdomains are same-site. Without it,
/// a present `Origin` must equal one of `allowed` byte for byte (scheme, host and port;
/// browsers serialise it lower-case without a default port, as `allowed` is normalised).
/// Requests with neither header (server clients, older browsers) go on to the token check.
pub fn check(headers: &HeaderMap, allowed: &[String]) -> Result<(), OriginRefusal> {
    if let Some(site) = single(headers, &SEC_FETCH_SITE)? {
        return match site {
            b"same-origin" | b"none" => Ok(()),
            b"same-site" => Err(OriginRefusal::SameSite),
            b"cross-site" => Err(OriginRefusal::CrossSite),
            _ => Err(OriginRefusal::UnknownFetchSite),
        };
    }
    match single(headers, &ORIGIN)? {
        None => Ok(()),
        Some(b"null") => Err(OriginRefusal::NullOrigin),
        Some(origin) if allowed.iter().any(|a| a.as_bytes() == origin) => Ok(()),
        Some(_) => Err(OriginRefusal::UnknownOrigin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    const APP: &str = "https://app.unioneyes.ca";

    fn check_with(pairs: &[(&'static str, &'static str)]) -> Result<(), OriginRefusal> {
        check(&headers(pairs), &[APP.to_string()])
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert_eq!(check_with(&[("sec-fetch-site", "same-origin")]), Ok(()));
        assert_eq!(check_with(&[("sec-fetch-site", "none")]), Ok(()));
        assert_eq!(
            check_with(&[("sec-fetch-site", "same-site"), ("origin", APP)]),
            Err(OriginRefusal::SameSite),
            "same-site is refused even with a good Origin"
        );
        assert_eq!(
            check_with(&[("sec-fetch-site", "cross-site")]),
            Err(OriginRefusal::CrossSite)
        );
        assert_eq!(
            check_with(&[("sec-fetch-site", "Same-Origin")]),
            Err(OriginRefusal::UnknownFetchSite)
        );
        assert_eq!(
            check_with(&[
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-site", "cross-site")
            ]),
            Err(OriginRefusal::Duplicate)
        );
    }

    #[test]
    fn origin_must_match_exactly() {
        assert_eq!(check_with(&[("origin", APP)]), Ok(()));
        assert_eq!(check_with(&[]), Ok(()), "header-less server clients");
        for bad in [
            "null",
            "http://app.unioneyes.ca",
            "https://app.unioneyes.ca.evil.example",
            "https://evilapp.unioneyes.ca",
            "https://local1.unioneyes.ca",
            "https://app.unioneyes.ca:8443",
            "https://app.unioneyes.ca/",
            "https://APP.unioneyes.ca",
            "",
        ] {
            assert!(check_with(&[("origin", bad)]).is_err(), "{bad}");
        }
        assert_eq!(
            check_with(&[("origin", APP), ("origin", APP)]),
            Err(OriginRefusal::Duplicate)
        );
        assert_eq!(
            check(&headers(&[("origin", APP)]), &[]),
            Err(OriginRefusal::UnknownOrigin),
            "no APP_ORIGINS: every Origin is refused"
        );
    }
}
