//! Operator tools: `dev-token`, `org create`, `rotate-sin-key`.

use std::process::ExitCode;
use std::time::Duration;

use crate::auth::dev_keys::{self, TokenClaims};
use crate::config::{AppEnv, Settings};
use crate::crypto::sin::SinKeyRing;
use crate::db::organizations::NewOrganization;

/// Where `dev-token` signs: read from the environment directly, so it works without the
/// rest of the service's configuration.
pub struct DevTokenEnv {
    pub app_env: AppEnv,
    pub clerk_jwt_key_set: bool,
    pub keys_dir: std::path::PathBuf,
    pub authorized_party: Option<String>,
    pub issuer: Option<String>,
}

impl DevTokenEnv {
    pub fn from_process(app_env: AppEnv) -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Self {
            app_env,
            clerk_jwt_key_set: var("CLERK_JWT_KEY").is_some(),
            keys_dir: var("DEV_KEYS_DIR")
                .unwrap_or_else(|| ".dev/keys".into())
                .into(),
            authorized_party: var("CLERK_AUTHORIZED_PARTIES")
                .and_then(|v| v.split(',').next().map(|s| s.trim().to_string())),
            issuer: var("CLERK_JWT_ISSUER"),
        }
    }
}

/// `unioneyes dev-token`: development only.
pub fn dev_token(env: &DevTokenEnv, user: &str, org: &str, role: &str, ttl: Duration) -> ExitCode {
    if env.app_env != AppEnv::Development {
        eprintln!(
            "dev-token is refused: APP_ENV is {}; development tokens exist only with APP_ENV=development",
            env.app_env.as_str()
        );
        return ExitCode::from(2);
    }
    if env.clerk_jwt_key_set {
        eprintln!("dev-token is refused: CLERK_JWT_KEY is set, so the service verifies Clerk's tokens, not local ones");
        return ExitCode::from(2);
    }
    let role = match role {
        "admin" => "org:admin",
        "member" => "org:member",
        other => {
            eprintln!("--role must be admin or member, not {other:?}");
            return ExitCode::from(2);
        }
    };
    let now = chrono::Utc::now().timestamp();
    let claims = TokenClaims {
        sub: user.to_string(),
        sid: format!("sess_dev_{}", uuid::Uuid::new_v4().simple()),
        org_id: Some(org.to_string()),
        org_role: Some(role.to_string()),
        azp: env.authorized_party.clone(),
        iss: env.issuer.clone(),
        iat: now,
        nbf: now,
        exp: now + ttl.as_secs() as i64,
    };
    match dev_keys::sign_dev_token(&env.keys_dir, &claims) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dev-token failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// "1h", "30m", "90s", "2d".
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (e.g. 1h, 30m)"))?;
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86_400,
        _ => return Err(format!("bad duration unit in {s:?} (s, m, h or d)")),
    };
    let secs = n.saturating_mul(unit_secs);
    if secs == 0 || secs > 30 * 86_400 {
        return Err("the ttl must be between 1 s and 30 days".into());
    }
    Ok(Duration::from_secs(secs))
}

pub fn org_create(settings: Settings, new: NewOrganization) -> ExitCode {
    let result = actix_rt::System::new().block_on(async move {
        let pool = crate::db::build_pool(&settings.database)?;
        let mut client = pool.get().await.map_err(|e| format!("database: {e}"))?;
        let tx = client.transaction().await.map_err(|e| e.to_string())?;
        let org = crate::db::organizations::insert(&*tx, &new)
            .await
            .map_err(|e| e.to_string())?;
        let entry = crate::db::audit::AuditEntry {
            org_id: Some(org.id),
            actor: "cli",
            action: "organization.create",
            target_type: "organization",
            target_id: org.id.to_string(),
            request_id: None,
        };
        crate::db::audit::record(&*tx, &entry)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(org)
    });
    match result {
        Ok(org) => {
            println!("{}", serde_json::to_string_pretty(&org).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("org create failed: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn rotate_sin_key(settings: Settings) -> ExitCode {
    let services = &settings.services;
    let Some(current) = &services.sin_encryption_key else {
        eprintln!("SIN_ENCRYPTION_KEY is not set");
        return ExitCode::from(2);
    };
    use secrecy::ExposeSecret;
    let old: Vec<&str> = services
        .sin_encryption_old_keys
        .iter()
        .map(|k| k.expose_secret())
        .collect();
    let keys = match SinKeyRing::new(current.expose_secret(), &old) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let db = settings.database.clone();
    let key_id = keys.current_key_id().to_string();
    let result = actix_rt::System::new().block_on(async move {
        let pool = crate::db::build_pool(&db)?;
        crate::db::sin_rotation::rotate_sin_keys(&pool, &keys).await
    });
    match result {
        Ok(n) => {
            println!("re-encrypted {n} SIN(s) under key {key_id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rotate-sin-key failed: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;
    use std::time::Duration;

    #[test]
    fn ttls_take_a_unit_and_stay_within_30_days() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("8"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_ttl("31d").is_err());
        assert!(parse_ttl("0h").is_err());
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
        // 213503982334602 × 86400 wraps around to 61184 s with plain multiplication.
        assert!(parse_ttl("213503982334602d").is_err());
        assert!(parse_ttl("99999999999999999999999s").is_err());
    }
}
