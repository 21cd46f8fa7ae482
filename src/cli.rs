//! The command line: `gatehouse [serve]` runs the server; the other subcommands are
//! operator tasks on the same configuration (environment variables, see the README).

use clap::{Parser, Subcommand, ValueEnum};
use gatehouse_domain::sso::keys::KeyPurpose;

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Multi-tenant enterprise SSO: SAML 2.0 and OIDC identity providers bridged to OAuth 2.0 / OpenID Connect",
    long_about = None,
    after_help = "Every command reads its configuration from the environment (DATABASE_URL, \
GATEHOUSE_SECRET_KEY, GATEHOUSE_PUBLIC_URL, ...; see the README). Without a command, \
`serve` runs."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default): apply pending migrations, then serve until
    /// SIGTERM or Ctrl-C.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the environment and the database and print what the server would use.
    /// Changes nothing: pending migrations are listed, not applied.
    CheckConfig,
    /// The keys Gatehouse signs with (SAML SP certificate, id_token key).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The Ory Integration.
    #[command(subcommand)]
    Ory(OryCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every key with its state: next, active, retiring or retired.
    List,
    /// Publish a new key now and sign with it after the grace period; the key it
    /// replaces stays published until nothing it signed can still be valid.
    /// Running instances pick the new key up within GATEHOUSE_KEY_RELOAD_SECONDS.
    Rotate {
        /// Which key to rotate.
        #[arg(long, value_enum, default_value_t = PurposeArg::All)]
        purpose: PurposeArg,
        /// How long the new key is published before it signs: longer than relying
        /// parties cache the JWKS (5 minutes by its Cache-Control, often more) and
        /// than IdP admins need to add the new SP certificate.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        grace: std::time::Duration,
        /// How long the replaced key stays published after the switch. Default: the
        /// longest an id_token or a sign-in in progress stays valid. `0s` with
        /// `--grace 0s` replaces a compromised key at once.
        #[arg(long, value_parser = humantime::parse_duration)]
        retire_after: Option<std::time::Duration>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurposeArg {
    /// Both keys.
    All,
    /// The SAML SP signing key and certificate.
    SamlSp,
    /// The id_token signing key (JWKS).
    Jwt,
}

impl PurposeArg {
    pub fn purposes(self) -> Vec<KeyPurpose> {
        match self {
            PurposeArg::All => KeyPurpose::ALL.to_vec(),
            PurposeArg::SamlSp => vec![KeyPurpose::SamlSp],
            PurposeArg::Jwt => vec![KeyPurpose::Jwt],
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum OryCommand {
    /// Sync every connection to Ory now (also those waiting to retry) and print
    /// where each stands; exits 1 if any is not in sync.
    SyncNow {
        /// Only this product's connections.
        #[arg(long)]
        product: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve_and_durations_are_human() {
        let cli = Cli::try_parse_from(["gatehouse"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from([
            "gatehouse",
            "keys",
            "rotate",
            "--purpose",
            "jwt",
            "--grace",
            "90m",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Keys(KeysCommand::Rotate {
                purpose,
                grace,
                retire_after,
            })) => {
                assert_eq!(purpose, PurposeArg::Jwt);
                assert_eq!(grace.as_secs(), 5400);
                assert_eq!(retire_after, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_arguments_are_refused() {
        for args in [
            &["gatehouse", "keys", "rotate", "--grace", "soon"][..],
            &["gatehouse", "keys", "rotate", "--purpose", "rsa"],
            &["gatehouse", "keys", "rotate", "--grace", "-5m"],
            &["gatehouse", "serve", "--port", "1"],
            &["gatehouse", "frobnicate"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
