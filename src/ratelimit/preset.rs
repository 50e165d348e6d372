//! Named rate-limit presets: the defaults, what each keys on, what it does when Redis is
//! down, and the `RATE_LIMITS` override syntax (`NAME=LIMIT/WINDOW[:dry-run]`, comma-separated).

use std::time::Duration;

/// What a preset counts requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBy {
    /// The authenticated user (falls back to the client IP when there is none).
    User,
    /// The caller's organization (falls back to the user, then the client IP).
    Organization,
    /// The client IP (see `client_ip`): IPv4 address or IPv6 /64.
    ClientIp,
}

impl KeyBy {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyBy::User => "user",
            KeyBy::Organization => "org",
            KeyBy::ClientIp => "ip",
        }
    }
}

/// What a preset does while Redis is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The same limits, counted per instance in memory.
    InMemory,
    /// Admit everything (for callers that must never be refused, like Stripe).
    FailOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresetName {
    Auth,
    Signup,
    AiQuery,
    MlPredictions,
    VoiceTranscription,
    Exports,
    Webhooks,
    ApiDefault,
}

pub const ALL: [PresetName; 8] = [
    PresetName::Auth,
    PresetName::Signup,
    PresetName::AiQuery,
    PresetName::MlPredictions,
    PresetName::VoiceTranscription,
    PresetName::Exports,
    PresetName::Webhooks,
    PresetName::ApiDefault,
];

impl PresetName {
    pub fn as_str(self) -> &'static str {
        match self {
            PresetName::Auth => "AUTH",
            PresetName::Signup => "SIGNUP",
            PresetName::AiQuery => "AI_QUERY",
            PresetName::MlPredictions => "ML_PREDICTIONS",
            PresetName::VoiceTranscription => "VOICE_TRANSCRIPTION",
            PresetName::Exports => "EXPORTS",
            PresetName::Webhooks => "WEBHOOKS",
            PresetName::ApiDefault => "API_DEFAULT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub name: PresetName,
    pub limit: u32,
    pub window: Duration,
    pub key_by: KeyBy,
    pub on_failure: FailurePolicy,
    /// Count and log "would have limited", reject nothing.
    pub dry_run: bool,
}

const MIN: u64 = 60;
const HOUR: u64 = 3600;

/// The built-in presets.
pub fn defaults() -> Vec<Preset> {
    use FailurePolicy::*;
    use KeyBy::*;
    use PresetName::*;
    let p = |name, limit, secs, key_by, on_failure| Preset {
        name,
        limit,
        window: Duration::from_secs(secs),
        key_by,
        on_failure,
        dry_run: false,
    };
    vec![
        p(Auth, 5, 15 * MIN, ClientIp, InMemory),
        p(Signup, 3, HOUR, ClientIp, InMemory),
        p(AiQuery, 20, HOUR, User, InMemory),
        p(MlPredictions, 50, HOUR, User, InMemory),
        p(VoiceTranscription, 100, HOUR, User, InMemory),
        p(Exports, 50, HOUR, User, InMemory),
        p(Webhooks, 1000, 5 * MIN, ClientIp, FailOpen),
        p(ApiDefault, 600, MIN, User, InMemory),
    ]
}

/// One override: the preset, its new limit and window, and dry-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub name: PresetName,
    pub limit: u32,
    pub window: Duration,
    pub dry_run: bool,
}

/// "15m", "1h", "90s", "2d". A window under 1 s or an unknown unit is an error.
pub fn parse_window(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("window {s:?} must be a number with a unit, e.g. 15m"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "window {s:?} has an unknown unit (use s, m, h or d)"
            ))
        }
    };
    if secs < 1 {
        return Err(format!("window {s:?} is under 1 s"));
    }
    if secs > 30 * 86_400 {
        return Err(format!("window {s:?} is over 30 days"));
    }
    Ok(Duration::from_secs(secs))
}

/// Parse `NAME=LIMIT/WINDOW[:dry-run]` entries, reporting every bad entry at once.
pub fn parse_overrides(s: &str) -> Result<Vec<Override>, String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match parse_entry(entry) {
            Ok(o) => out.push(o),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join("; "))
    }
}

fn parse_entry(entry: &str) -> Result<Override, String> {
    let (name, spec) = entry
        .split_once('=')
        .ok_or_else(|| format!("{entry:?} is not NAME=LIMIT/WINDOW"))?;
    let name = PresetName::parse(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = ALL.iter().map(|p| p.as_str()).collect();
        format!("{:?} is not a preset ({})", name.trim(), names.join(", "))
    })?;
    let (spec, dry_run) = match spec.trim().split_once(':') {
        Some((spec, "dry-run")) => (spec, true),
        Some((_, flag)) => {
            return Err(format!(
                "{}: unknown flag {flag:?} (only dry-run)",
                name.as_str()
            ))
        }
        None => (spec.trim(), false),
    };
    let (limit, window) = spec
        .split_once('/')
        .ok_or_else(|| format!("{}: {spec:?} is not LIMIT/WINDOW", name.as_str()))?;
    let limit: u32 = limit
        .trim()
        .parse()
        .map_err(|_| format!("{}: limit {limit:?} is not a whole number", name.as_str()))?;
    if limit == 0 {
        return Err(format!(
            "{}: a limit of 0 would refuse everything",
            name.as_str()
        ));
    }
    if limit > 100_000 {
        return Err(format!(
            "{}: a limit over 100000 per window is not supported",
            name.as_str()
        ));
    }
    let window = parse_window(window.trim()).map_err(|e| format!("{}: {e}", name.as_str()))?;
    Ok(Override {
        name,
        limit,
        window,
        dry_run,
    })
}

/// The defaults with the overrides applied.
pub fn with_overrides(overrides: &[Override]) -> Vec<Preset> {
    let mut presets = defaults();
    for o in overrides {
        if let Some(p) = presets.iter_mut().find(|p| p.name == o.name) {
            p.limit = o.limit;
            p.window = o.window;
            p.dry_run = o.dry_run;
        }
    }
    presets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_and_apply() {
        let o = parse_overrides("AUTH=10/30m, EXPORTS=100/1h:dry-run").unwrap();
        let presets = with_overrides(&o);
        let auth = presets.iter().find(|p| p.name == PresetName::Auth).unwrap();
        assert_eq!(
            (auth.limit, auth.window.as_secs(), auth.dry_run),
            (10, 1800, false)
        );
        let exports = presets
            .iter()
            .find(|p| p.name == PresetName::Exports)
            .unwrap();
        assert!(exports.dry_run);
    }

    #[test]
    fn degenerate_presets_are_refused_all_at_once() {
        let err =
            parse_overrides("AUTH=0/15m,SIGNUP=3/0s,EXPORTS=5/1fortnight,NOPE=1/1s").unwrap_err();
        assert!(err.contains("AUTH: a limit of 0"), "{err}");
        assert!(err.contains("SIGNUP: window \"0s\" is under 1 s"), "{err}");
        assert!(
            err.contains("EXPORTS: window \"1fortnight\" has an unknown unit"),
            "{err}"
        );
        assert!(err.contains("\"NOPE\" is not a preset"), "{err}");
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let d = defaults();
        let find = |n| d.iter().find(|p| p.name == n).unwrap().clone();
        assert_eq!(
            (
                find(PresetName::Auth).limit,
                find(PresetName::Auth).window.as_secs()
            ),
            (5, 900)
        );
        assert_eq!(
            find(PresetName::Webhooks).on_failure,
            FailurePolicy::FailOpen
        );
        assert_eq!(find(PresetName::Webhooks).key_by, KeyBy::ClientIp);
        assert_eq!(d.len(), ALL.len());
    }
}
