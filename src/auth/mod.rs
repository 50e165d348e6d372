//! Who is calling: platform admins (ADMIN_API_TOKEN), Clerk session tokens (RS256, verified
//! locally), the identity middleware and the `Caller` extractor, development keys.

mod admin;
pub mod dev_keys;
mod identity;
pub mod jwt;
mod tenants;

pub use admin::{bearer_token, is_admin_request, token_matches, AdminCaller};
pub use identity::{
    identify, identity_of, unauthorized, Authn, Caller, CallerRole, Identity, SESSION_COOKIE,
};
pub use jwt::{AuthFailure, JwtVerifier, OrgRole, Session, TokenSource};
pub use tenants::TenantCache;
