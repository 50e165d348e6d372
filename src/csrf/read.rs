//! Where a checked request's token comes from: the `x-csrf-token` header, exactly one, and
//! nowhere else; the `__Host-csrf-token` cookie may only agree with it.

use actix_web::http::header::{HeaderMap, COOKIE};

use super::reason::{reject, Reason, Rejection};
use super::token::{self, RawToken};
use super::{TOKEN_COOKIE, TOKEN_HEADER};
use crate::auth::SESSION_COOKIE;

/// Every value of the `name` cookie, across all Cookie headers (duplicates included).
fn cookies<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .collect()
}

/// The token of a checked request, from the `x-csrf-token` header only (exactly one), never
/// from the query, the body or a cookie. A `__Host-csrf-token` cookie, if sent, must hold the
/// same token (compared unmasked, in constant time); duplicated token or session cookies are
/// refused (cookie tossing).
pub fn read_token(headers: &HeaderMap) -> Result<RawToken, Rejection> {
    let mut values = headers.get_all(&TOKEN_HEADER);
    let Some(value) = values.next() else {
        return Err(reject(Reason::Missing, "no x-csrf-token header"));
    };
    if values.next().is_some() {
        return Err(reject(Reason::Invalid, "more than one x-csrf-token header"));
    }
    if value.is_empty() {
        return Err(reject(Reason::Missing, "empty x-csrf-token header"));
    }
    let text = value
        .to_str()
        .map_err(|_| reject(Reason::Invalid, "x-csrf-token is not visible ASCII"))?;
    let raw = token::unmask(text).map_err(|m| reject(Reason::Invalid, m.to_string()))?;
    if cookies(headers, SESSION_COOKIE).len() > 1 {
        return Err(reject(Reason::Invalid, "more than one session cookie"));
    }
    match cookies(headers, TOKEN_COOKIE).as_slice() {
        [] => {}
        [cookie] => {
            let same = token::unmask(cookie).is_ok_and(|c| c.same_as(&raw));
            if !same {
                return Err(reject(
                    Reason::Invalid,
                    "the CSRF cookie does not hold the header's token",
                ));
            }
        }
        _ => return Err(reject(Reason::Invalid, "more than one CSRF cookie")),
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use token::Secrets;

    fn secrets() -> Secrets {
        Secrets::new(&[3u8; 32], &[]).unwrap()
    }

    fn with(pairs: &[(&str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_header_is_the_only_source() {
        let t = token::mint(&secrets(), "sess");
        let wire = token::mask(&t);
        let got = read_token(&with(&[("x-csrf-token", wire.clone())])).unwrap();
        assert!(got.same_as(&t));
        let code = |h: HeaderMap| read_token(&h).unwrap_err().reason;
        assert_eq!(code(with(&[])), Reason::Missing);
        assert_eq!(
            code(with(&[("cookie", format!("{TOKEN_COOKIE}={wire}"))])),
            Reason::Missing,
            "a cookie alone is not a token"
        );
        assert_eq!(
            code(with(&[("x-csrf-token", String::new())])),
            Reason::Missing
        );
        assert_eq!(
            code(with(&[
                ("x-csrf-token", wire.clone()),
                ("x-csrf-token", wire.clone())
            ])),
            Reason::Invalid
        );
        assert_eq!(
            code(with(&[("x-csrf-token", "x".repeat(10_240))])),
            Reason::Invalid
        );
    }

    #[test]
    fn the_cookie_must_agree_but_never_decides() {
        let t = token::mint(&secrets(), "sess");
        let (a, b) = (token::mask(&t), token::mask(&t));
        let other = token::mask(&token::mint(&secrets(), "sess"));
        let ok = with(&[
            ("x-csrf-token", a.clone()),
            ("cookie", format!("theme=dark; {TOKEN_COOKIE}={b}")),
        ]);
        assert!(read_token(&ok).is_ok(), "differently masked, same token");
        for bad in [
            with(&[
                ("x-csrf-token", a.clone()),
                ("cookie", format!("{TOKEN_COOKIE}={other}")),
            ]),
            with(&[
                ("x-csrf-token", a.clone()),
                ("cookie", format!("{TOKEN_COOKIE}={a}; {TOKEN_COOKIE}={a}")),
            ]),
            with(&[
                ("x-csrf-token", a.clone()),
                ("cookie", format!("{TOKEN_COOKIE}={a}")),
                ("cookie", format!("{TOKEN_COOKIE}={a}")),
            ]),
            with(&[
                ("x-csrf-token", a.clone()),
                ("cookie", "__session=x; __session=y".to_string()),
            ]),
            with(&[
                ("x-csrf-token", a.clone()),
                ("cookie", format!("{TOKEN_COOKIE}=garbage")),
            ]),
        ] {
            assert_eq!(read_token(&bad).unwrap_err().reason, Reason::Invalid);
        }
    }
}
