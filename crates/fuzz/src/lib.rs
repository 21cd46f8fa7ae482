//! A mutation fuzzer for the internet-facing XML paths, on stable Rust.
//!
//! Targets:
//! * `saml`: [`verify_response`] (guard, envelope scan, signature policy, libxmlsec1,
//!   every rule) against the test IdP's pinned certificates, at the seeds' time;
//! * `metadata`: [`IdpMetadata::parse`].
//!
//! Each input is a seed (`seeds/`, real messages of the test IdP) changed by a few
//! random mutations: byte flips, deletions, duplicated or spliced ranges, attribute
//! values swapped for hostile ones (external URIs, XPath/XSLT transforms, DOCTYPEs,
//! other encodings), repeated elements. An input fails the run when it panics, takes
//! longer than [`HANG`], or — the oracle — verifies and yields another identity than
//! its unmutated seed (a signature bypass). The process's RSS may not grow by more
//! than [`RSS_GROWTH_MB`] after warm-up. Failing inputs are written to
//! `target/fuzz-findings/`.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use gatehouse_domain::saml::certs::PinnedCert;
use gatehouse_domain::saml::metadata::IdpMetadata;
use gatehouse_domain::saml::response::{
    verify_response, ExpectedIdp, Solicitation, SpExpectations, VerifiedAssertion,
};

/// One input may take this long.
pub const HANG: Duration = Duration::from_secs(5);
/// RSS growth allowed between the end of warm-up and the end of the run.
pub const RSS_GROWTH_MB: u64 = 64;
const WARM_UP: u64 = 300;

const IDP_ENTITY_ID: &str = "https://idp.example.com/metadata";
const SP_ENTITY_ID: &str = "https://sso.example.com/saml/prod_fuzz";
const ACS_URL: &str = "https://sso.example.com/api/oauth/saml";
const REQUEST_ID: &str = "_fuzzrequest0001";

/// Hostile fragments the mutator inserts or swaps in.
const DICTIONARY: &[&str] = &[
    "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
    "&e;",
    "<![CDATA[x]]>",
    "<!---->",
    "http://127.0.0.1:9/",
    "file:///dev/zero",
    "#xpointer(/)",
    "#xpointer(id('x'))",
    "http://www.w3.org/TR/1999/REC-xpath-19991116",
    "http://www.w3.org/TR/1999/REC-xslt-19991116",
    "http://www.w3.org/2000/09/xmldsig#base64",
    "<ds:Object><ds:Manifest><ds:Reference URI=\"http://127.0.0.1:9/\"/></ds:Manifest></ds:Object>",
    "<ds:RetrievalMethod URI=\"http://127.0.0.1:9/\"/>",
    "<?xml version=\"1.0\" encoding=\"UTF-7\"?>",
    "encoding=\"UTF-16\"",
    "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/passwd\"/>",
    "xml:base=\"http://127.0.0.1:9/\"",
    "ID=\"_evil\"",
    "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_evil\">",
    "</saml:Assertion>",
    "<saml:NameID>ceo@acme.test</saml:NameID>",
    "&#0;",
    "&#x10FFFF;",
    "\u{0}",
    "\u{feff}",
    "xmlns=\"\"",
    "xmlns:ds=\"urn:not-dsig\"",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Saml,
    Metadata,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Saml => "saml",
            Target::Metadata => "metadata",
        }
    }
}

/// A finished run.
#[derive(Debug, Default)]
pub struct Report {
    pub inputs: u64,
    pub accepted: u64,
    pub slowest: Duration,
    pub rss_start_mb: u64,
    pub rss_end_mb: u64,
}

/// Who a message signs in: the NameID and the attributes.
type Identity = (String, Vec<(String, Vec<String>)>);

/// What an input did (sent back from the worker thread).
enum Outcome {
    Rejected,
    Accepted(Option<Identity>),
    Panicked(String),
}

struct Seed {
    name: String,
    text: String,
    /// The identity its unmutated form yields (SAML seeds).
    identity: Option<Identity>,
}

/// A small xorshift generator: runs are reproducible from `--seed`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../end2end/support/keys")
}

fn pinned_certs() -> anyhow::Result<Vec<PinnedCert>> {
    ["idp-primary.crt", "idp-ec.crt"]
        .iter()
        .map(|f| {
            let pem = std::fs::read_to_string(keys_dir().join(f))?;
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            PinnedCert::from_base64(&body).map_err(|e| anyhow::anyhow!("{f}: {e}"))
        })
        .collect()
}

/// The `IssueInstant` of a seed: the fuzzer's clock for it.
fn issue_instant(xml: &str) -> Option<DateTime<Utc>> {
    let at = xml.find("IssueInstant=\"")? + "IssueInstant=\"".len();
    let end = at + xml[at..].find('"')?;
    DateTime::parse_from_rfc3339(&xml[at..end])
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn check_saml(
    xml: &str,
    certs: &[PinnedCert],
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, String> {
    verify_response(
        xml,
        &ExpectedIdp {
            entity_id: IDP_ENTITY_ID,
            certificates: certs,
        },
        &SpExpectations {
            sp_entity_id: SP_ENTITY_ID,
            acs_url: ACS_URL,
            clock_skew: chrono::Duration::minutes(3),
        },
        Solicitation::InResponseTo(REQUEST_ID),
        now,
    )
    .map_err(|e| e.to_string())
}

fn load_seeds(target: Target, certs: &[PinnedCert]) -> anyhow::Result<Vec<Seed>> {
    let prefix = match target {
        Target::Saml => "response-",
        Target::Metadata => "metadata-",
    };
    let mut seeds = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(seeds_dir())?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with(prefix) || !name.ends_with(".xml") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())?;
        let identity = match target {
            Target::Saml => {
                let now = issue_instant(&text)
                    .ok_or_else(|| anyhow::anyhow!("{name}: no IssueInstant"))?;
                let v = check_saml(&text, certs, now)
                    .map_err(|e| anyhow::anyhow!("seed {name} does not verify: {e}"))?;
                Some((v.name_id, v.attributes))
            }
            Target::Metadata => {
                IdpMetadata::parse(&text).map_err(|e| anyhow::anyhow!("seed {name}: {e}"))?;
                None
            }
        };
        seeds.push(Seed {
            name,
            text,
            identity,
        });
    }
    anyhow::ensure!(
        !seeds.is_empty(),
        "no {prefix}*.xml seeds in {}",
        seeds_dir().display()
    );
    Ok(seeds)
}

/// One to four mutations of `seed` (sometimes spliced with `other`).
pub fn mutate(rng: &mut Rng, seed: &str, other: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let len = bytes.len().max(1);
        match rng.below(8) {
            0 => {
                let i = rng.below(len).min(bytes.len().saturating_sub(1));
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())];
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, token.bytes());
            }
            2 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(64)).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            3 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(256)).min(bytes.len());
                let copy = bytes.get(at..end).map(<[u8]>::to_vec).unwrap_or_default();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
            }
            4 => {
                // swap an attribute value (between quotes) for a hostile one
                let quotes: Vec<usize> = bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'"')
                    .map(|(i, _)| i)
                    .collect();
                if quotes.len() >= 2 {
                    let k = rng.below(quotes.len() / 2) * 2;
                    let (a, b) = (quotes[k] + 1, quotes[k + 1]);
                    let token = DICTIONARY[rng.below(DICTIONARY.len())];
                    bytes.splice(a..b, token.bytes());
                }
            }
            5 => {
                let o = other.as_bytes();
                let at = rng.below(o.len().max(1));
                let end = (at + 1 + rng.below(512)).min(o.len());
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, o.get(at..end).unwrap_or_default().iter().copied());
            }
            6 => {
                // repeat a range many times (deep or wide documents)
                let at = rng.below(len);
                let end = (at + 1 + rng.below(128)).min(bytes.len());
                let copy = bytes.get(at..end).map(<[u8]>::to_vec).unwrap_or_default();
                let times = 1 + rng.below(200);
                let repeated: Vec<u8> = copy
                    .iter()
                    .copied()
                    .cycle()
                    .take(copy.len() * times)
                    .collect();
                bytes.splice(end..end, repeated);
            }
            _ => {
                let at = rng.below(len);
                bytes.truncate(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The process's resident memory in MB (Linux; 0 elsewhere).
pub fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

fn finding(target: Target, kind: &str, input: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!(
        "{}-{kind}-{}.xml",
        target.name(),
        std::process::id()
    ));
    let _ = std::fs::write(&path, input);
    path
}

/// Fuzz `target` for `duration` from `seed`. An error names the failing input's file.
pub fn run(target: Target, duration: Duration, seed: u64) -> anyhow::Result<Report> {
    let certs = pinned_certs()?;
    let seeds = load_seeds(target, &certs)?;
    let (to_worker, inputs) = mpsc::channel::<(String, DateTime<Utc>)>();
    let (to_main, outcomes) = mpsc::channel::<Outcome>();
    let worker_certs = certs.clone();
    let worker = std::thread::spawn(move || {
        for (input, now) in inputs {
            let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| match target {
                Target::Saml => check_saml(&input, &worker_certs, now)
                    .ok()
                    .map(|v| (v.name_id, v.attributes)),
                Target::Metadata => IdpMetadata::parse(&input)
                    .ok()
                    .map(|m| (m.entity_id, Vec::new())),
            })) {
                Ok(None) => Outcome::Rejected,
                Ok(Some(identity)) => Outcome::Accepted(Some(identity)),
                Err(p) => Outcome::Panicked(
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panic".into()),
                ),
            };
            if to_main.send(outcome).is_err() {
                break;
            }
        }
    });

    let mut rng = Rng::new(seed);
    let mut report = Report {
        rss_start_mb: rss_mb(),
        ..Report::default()
    };
    let started = Instant::now();
    while started.elapsed() < duration {
        let s = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())].text;
        let input = mutate(&mut rng, &s.text, other);
        let now = issue_instant(&s.text).unwrap_or_default();
        let t = Instant::now();
        to_worker
            .send((input.clone(), now))
            .map_err(|_| anyhow::anyhow!("the fuzz worker died"))?;
        let outcome = match outcomes.recv_timeout(HANG) {
            Ok(o) => o,
            Err(_) => {
                let path = finding(target, "hang", &input);
                anyhow::bail!("an input took longer than {HANG:?}: {}", path.display());
            }
        };
        report.slowest = report.slowest.max(t.elapsed());
        report.inputs += 1;
        match outcome {
            Outcome::Rejected => {}
            Outcome::Accepted(identity) => {
                report.accepted += 1;
                if target == Target::Saml && identity != s.identity {
                    let path = finding(target, "bypass", &input);
                    anyhow::bail!(
                        "a mutation of {} verified with another identity ({identity:?}): {}",
                        s.name,
                        path.display()
                    );
                }
            }
            Outcome::Panicked(message) => {
                let path = finding(target, "panic", &input);
                anyhow::bail!("panic ({message}): {}", path.display());
            }
        }
        if report.inputs == WARM_UP {
            report.rss_start_mb = rss_mb();
        }
    }
    drop(to_worker);
    let _ = worker.join();
    report.rss_end_mb = rss_mb();
    if report.inputs > WARM_UP {
        let growth = report.rss_end_mb.saturating_sub(report.rss_start_mb);
        anyhow::ensure!(
            growth <= RSS_GROWTH_MB,
            "RSS grew by {growth} MB over {} inputs (bound {RSS_GROWTH_MB} MB)",
            report.inputs
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounded pass of the test command (`GATEHOUSE_FUZZ_SECONDS`, default 15 per
    /// target); `scripts/fuzz.sh` runs longer.
    #[test]
    fn a_bounded_fuzz_pass_finds_nothing() {
        let seconds = std::env::var("GATEHOUSE_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(15);
        for target in [Target::Saml, Target::Metadata] {
            let report = run(target, Duration::from_secs(seconds), 0x9e37_79b9_7f4a_7c15)
                .unwrap_or_else(|e| panic!("{}: {e:#}", target.name()));
            eprintln!("{}: {report:?}", target.name());
            assert!(report.inputs > 50, "{report:?}");
        }
    }

    #[test]
    fn mutations_change_the_input_and_stay_text() {
        let mut rng = Rng::new(7);
        let seed = "<a b=\"c\">d</a>";
        let changed = (0..100)
            .filter(|_| mutate(&mut rng, seed, "<x/>") != seed)
            .count();
        assert!(changed > 90);
    }
}
