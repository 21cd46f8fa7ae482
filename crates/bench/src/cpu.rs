//! CPU time spent during the timed phases, read from Linux's `/proc` (elsewhere the
//! columns stay empty): the server process, this benchmark client, and the whole
//! machine (which also counts PostgreSQL and anything else running).

/// Clock ticks per second of `/proc` times (`USER_HZ`; 100 on Linux x86 and arm).
const TICKS: f64 = 100.0;

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub server: Option<f64>,
    pub client: Option<f64>,
    pub machine: Option<f64>,
}

/// Seconds of CPU used so far.
pub fn sample(server_pid: Option<u32>) -> Sample {
    Sample {
        server: server_pid.and_then(|p| process(&format!("/proc/{p}/stat"))),
        client: process("/proc/self/stat"),
        machine: machine(),
    }
}

/// utime + stime of a process (fields 14 and 15 of its stat line).
fn process(path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may contain spaces: count fields after its ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS)
}

/// Busy time of all CPUs (everything but idle and iowait) from `/proc/stat`.
fn machine() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle) / TICKS)
}

/// CPU used between two samples, accumulated over several timed phases.
#[derive(Debug, Clone, Copy, Default)]
pub struct Used {
    pub server: Option<f64>,
    pub client: Option<f64>,
    pub machine: Option<f64>,
}

impl Used {
    pub fn add(&mut self, from: Sample, to: Sample) {
        let diff = |a: Option<f64>, b: Option<f64>, acc: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(acc.unwrap_or(0.0) + (b - a)),
            _ => None,
        };
        self.server = diff(from.server, to.server, self.server);
        self.client = diff(from.client, to.client, self.client);
        self.machine = diff(from.machine, to.machine, self.machine);
    }

    /// Milliseconds per login, as a table cell.
    pub fn per_login(v: Option<f64>, logins: usize) -> String {
        match v {
            Some(s) if logins > 0 => format!("{:.2}", s * 1000.0 / logins as f64),
            _ => "–".into(),
        }
    }
}

/// Milliseconds per RSA-2048 signature (SHA-256) on this machine right now: the same
/// operation as the AuthnRequest signature of every login, printed with the results so
/// runs on a busier or slower machine can be compared.
pub fn rsa2048_sign_ms() -> Option<f64> {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::sign::Signer;
    let key = PKey::from_rsa(Rsa::generate(2048).ok()?).ok()?;
    let rounds = 300;
    let started = std::time::Instant::now();
    for i in 0..rounds {
        let mut signer = Signer::new(MessageDigest::sha256(), &key).ok()?;
        signer.update(format!("calibration {i}").as_bytes()).ok()?;
        signer.sign_to_vec().ok()?;
    }
    Some(started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds))
}
