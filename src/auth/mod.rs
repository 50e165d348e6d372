//! Who is calling. For now: platform admins presenting ADMIN_API_TOKEN as a bearer token.

mod admin;

pub use admin::{bearer_token, is_admin_request, AdminCaller};
