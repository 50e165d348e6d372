//! Checks of external services, computed once at boot from the validated configuration:
//! configured and valid (healthy), set but invalid (degraded, development only), or off.

use chrono::Utc;
use unioneyes_actors::health::{CheckResult, Impact, Status};

use crate::config::{AppEnv, Settings};

fn fixed(name: &'static str, status: Status, message: &'static str) -> CheckResult {
    CheckResult {
        name,
        status,
        impact: Impact::NonCritical,
        response_time_ms: None,
        checked_at: Utc::now(),
        message,
        error_class: None,
        details: None,
    }
}

/// One entry per external service. `vars` are the variables the service needs; the service
/// counts as configured when the first is set.
fn service(
    settings: &Settings,
    name: &'static str,
    configured: bool,
    vars: &[&'static str],
) -> CheckResult {
    let invalid = vars.iter().any(|v| settings.services.invalid.contains(v));
    if invalid {
        fixed(name, Status::Degraded, "misconfigured; feature off")
    } else if configured {
        fixed(name, Status::Healthy, "configured")
    } else {
        fixed(name, Status::Disabled, "not configured; feature off")
    }
}

pub fn service_checks(settings: &Settings) -> Vec<CheckResult> {
    let s = &settings.services;
    let clerk_vars = &["CLERK_JWT_KEY", "CLERK_PUBLISHABLE_KEY", "CLERK_SECRET_KEY"];
    let clerk = if s.clerk_jwt_key.is_none()
        && settings.app_env == AppEnv::Development
        && !clerk_vars.iter().any(|v| s.invalid.contains(v))
    {
        // Sessions work in development without Clerk: the local key pair signs them.
        fixed(
            "clerk",
            Status::Healthy,
            "development key pair (unioneyes dev-token); not Clerk",
        )
    } else {
        service(settings, "clerk", s.clerk_jwt_key.is_some(), clerk_vars)
    };
    vec![
        service(settings, "sentry", s.sentry_dsn.is_some(), &["SENTRY_DSN"]),
        clerk,
        service(
            settings,
            "stripe",
            // The service's one Stripe feature is the signed webhook; the API key is not used.
            s.stripe_webhook_secret.is_some(),
            &["STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY"],
        ),
        service(
            settings,
            "sin_encryption",
            s.sin_encryption_key.is_some(),
            &["SIN_ENCRYPTION_KEY", "SIN_ENCRYPTION_OLD_KEYS"],
        ),
        service(
            settings,
            "azure_openai",
            s.azure_openai_endpoint.is_some() && s.azure_openai_api_key.is_some(),
            &["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"],
        ),
        service(
            settings,
            "azure_key_vault",
            s.azure_key_vault_url.is_some(),
            &["AZURE_KEY_VAULT_URL"],
        ),
        service(
            settings,
            "azure_storage",
            s.azure_storage_account.is_some(),
            &["AZURE_STORAGE_ACCOUNT"],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{dev, load_env, production};

    fn clerk(env: &std::collections::HashMap<String, String>) -> CheckResult {
        let report = load_env(env);
        let settings = report.settings().expect("settings");
        service_checks(settings)
            .into_iter()
            .find(|c| c.name == "clerk")
            .expect("a clerk check")
    }

    #[test]
    fn development_sessions_count_as_working_without_clerk() {
        let local = clerk(&dev(&[]));
        assert_eq!(local.status, Status::Healthy);
        assert!(local.message.contains("development key pair"));
        let real = clerk(&production());
        assert_eq!((real.status, real.message), (Status::Healthy, "configured"));
        let bad = clerk(&dev(&[("CLERK_PUBLISHABLE_KEY", "not-a-key")]));
        assert_eq!(bad.status, Status::Degraded);
    }
}
