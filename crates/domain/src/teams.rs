//! Teams, members and invites. Owners invite (the link is shown to them to copy; no
//! mail is sent) and remove members; a team always keeps at least one owner.

use gatehouse_core::views::{
    CreatedInvite, InvitePreview, InviteView, MemberView, Role, TeamMembers,
};
use gatehouse_core::{Email, FieldError, PasswordPolicy, TeamName};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::Accounts;
use crate::audit::{Actor, AuditEntry};
use crate::error::{DomainError, DomainResult};
use crate::model::{Invite, InviteDetails, Membership, Team, User};
use crate::ports::StoreError;
use crate::tokens::{hash_secret, new_id, new_secret};
use gatehouse_core::audit::{AuditAction, AuditChange};

impl Accounts {
    pub async fn create_team(&self, user_id: &str, name: &str) -> DomainResult<Team> {
        let name = TeamName::parse(name)?;
        let user = self.user(user_id).await?;
        let team = self.new_team(&name);
        let owner = Membership {
            team_id: team.id.clone(),
            user_id: user.id,
            role: Role::Owner,
            created_at: team.created_at,
        };
        self.store.create_team(&team, &owner).await?;
        Ok(team)
    }

    pub async fn team_members(&self, user_id: &str, team_id: &str) -> DomainResult<TeamMembers> {
        let access = self.access.team_access(user_id, team_id).await?;
        let members = self.store.members(&access.team.id).await?;
        let now = self.clock.now();
        let invites = self
            .store
            .pending_invites(&access.team.id)
            .await?
            .iter()
            .filter(|i| i.expires_at > now)
            .map(InviteView::from)
            .collect();
        Ok(TeamMembers {
            members: members.iter().map(MemberView::from).collect(),
            invites,
        })
    }

    pub async fn invite_member(
        &self,
        user_id: &str,
        team_id: &str,
        email: &str,
        role: &str,
    ) -> DomainResult<CreatedInvite> {
        let access = self.access.team_write_access(user_id, team_id).await?;
        access.require_owner()?;
        let email = Email::parse(email)?;
        let role =
            Role::parse(role).ok_or_else(|| FieldError::new("role", "Choose owner or admin."))?;
        let members = self.store.members(&access.team.id).await?;
        if members.iter().any(|m| m.email == email.as_str()) {
            return Err(
                FieldError::new("email", "This person is already a member of the team.").into(),
            );
        }
        let token = new_secret();
        let now = self.clock.now();
        let invite = Invite {
            id: new_id("inv"),
            team_id: access.team.id.clone(),
            email: email.as_str().to_string(),
            role,
            token_hash: hash_secret(&token),
            created_by: user_id.to_string(),
            created_at: now,
            expires_at: now + self.settings.invite_ttl,
            accepted_at: None,
        };
        self.store.create_invite(&invite).await?;
        tracing::info!(team_id, invite_id = %invite.id, "invite created");
        self.audit
            .record(team_entry(
                &invite.team_id,
                Actor::user(user_id),
                AuditAction::MemberInvited,
                &invite.id,
                &invite.email,
                vec![AuditChange {
                    field: "role".into(),
                    before: None,
                    after: Some(invite.role.as_str().into()),
                }],
            ))
            .await;
        Ok(CreatedInvite {
            url: self.settings.public_url(&format!("/invite/{token}")),
            invite: InviteView::from(&invite),
        })
    }

    pub async fn revoke_invite(
        &self,
        user_id: &str,
        team_id: &str,
        invite_id: &str,
    ) -> DomainResult<()> {
        let access = self.access.team_write_access(user_id, team_id).await?;
        access.require_owner()?;
        if self.store.delete_invite(&access.team.id, invite_id).await? {
            self.audit
                .record(team_entry(
                    &access.team.id,
                    Actor::user(user_id),
                    AuditAction::InviteRevoked,
                    invite_id,
                    "",
                    Vec::new(),
                ))
                .await;
            Ok(())
        } else {
            Err(DomainError::NotFound)
        }
    }

    pub async fn remove_member(
        &self,
        user_id: &str,
        team_id: &str,
        member_id: &str,
    ) -> DomainResult<()> {
        let access = self.access.team_write_access(user_id, team_id).await?;
        access.require_owner()?;
        let members = self.store.members(&access.team.id).await?;
        let Some(target) = members.iter().find(|m| m.membership.user_id == member_id) else {
            return Err(DomainError::NotFound);
        };
        let owners = members
            .iter()
            .filter(|m| m.membership.role == Role::Owner)
            .count();
        if target.membership.role == Role::Owner && owners <= 1 {
            return Err(DomainError::Conflict(
                "A team needs at least one owner: make someone else an owner first.".into(),
            ));
        }
        self.store.remove_member(&access.team.id, member_id).await?;
        tracing::info!(team_id, member_id, "member removed");
        self.audit
            .record(team_entry(
                &access.team.id,
                Actor::user(user_id),
                AuditAction::MemberRemoved,
                member_id,
                &target.email,
                vec![AuditChange {
                    field: "role".into(),
                    before: Some(target.membership.role.as_str().into()),
                    after: None,
                }],
            ))
            .await;
        Ok(())
    }

    async fn live_invite(&self, token: &str) -> DomainResult<InviteDetails> {
        let details = self
            .store
            .invite_by_token_hash(&hash_secret(token))
            .await?
            .ok_or(DomainError::NotFound)?;
        if details.invite.accepted_at.is_some() || details.invite.expires_at <= self.clock.now() {
            return Err(DomainError::NotFound);
        }
        Ok(details)
    }

    pub async fn invite_preview(&self, token: &str) -> DomainResult<InvitePreview> {
        let d = self.live_invite(token).await?;
        Ok(InvitePreview {
            team_name: d.team_name,
            email: d.invite.email,
            role: d.invite.role,
            invited_by: d.inviter_email,
        })
    }

    /// A signed-in user accepts an invite addressed to their email.
    pub async fn accept_invite(&self, user_id: &str, token: &str) -> DomainResult<String> {
        let d = self.live_invite(token).await?;
        let user = self.user(user_id).await?;
        if user.email != d.invite.email {
            return Err(DomainError::Conflict(format!(
                "This invite is for {}, but you are signed in as {}.",
                d.invite.email, user.email
            )));
        }
        if self
            .store
            .membership(&d.invite.team_id, &user.id)
            .await?
            .is_some()
        {
            return Ok(d.invite.team_id);
        }
        let now = self.clock.now();
        let membership = Membership {
            team_id: d.invite.team_id.clone(),
            user_id: user.id,
            role: d.invite.role,
            created_at: now,
        };
        if !self
            .store
            .accept_invite(&d.invite.id, &membership, now)
            .await?
        {
            return Err(DomainError::NotFound);
        }
        self.audit
            .record(joined(&d.invite, &membership.user_id))
            .await;
        Ok(d.invite.team_id)
    }

    /// Someone without an account accepts an invite by choosing a password.
    pub async fn sign_up_with_invite(
        &self,
        token: &str,
        password: &SecretString,
    ) -> DomainResult<(User, String)> {
        let d = self.live_invite(token).await?;
        PasswordPolicy::check(password.expose_secret())?;
        if self.store.user_by_email(&d.invite.email).await?.is_some() {
            return Err(DomainError::Conflict(
                "An account with this email already exists: log in, then open the invite link again.".into(),
            ));
        }
        let email = Email::parse(&d.invite.email)?;
        let user = self.new_user(&email, password).await?;
        let now = self.clock.now();
        let membership = Membership {
            team_id: d.invite.team_id.clone(),
            user_id: user.id.clone(),
            role: d.invite.role,
            created_at: now,
        };
        match self
            .store
            .create_user_accepting_invite(&user, &d.invite.id, &membership, now)
            .await
        {
            Ok(true) => {
                self.audit.record(joined(&d.invite, &user.id)).await;
                Ok((user, d.invite.team_id))
            }
            Ok(false) => Err(DomainError::NotFound),
            Err(StoreError::Conflict(_)) => Err(DomainError::Conflict(
                "An account with this email already exists.".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// A change to the team itself (its members), not to a product.
fn team_entry(
    team_id: &str,
    actor: Actor,
    action: AuditAction,
    target_id: &str,
    target_name: &str,
    changes: Vec<AuditChange>,
) -> AuditEntry {
    AuditEntry {
        team_id: team_id.to_string(),
        product_id: None,
        actor,
        action,
        target_id: target_id.to_string(),
        target_name: Some(target_name.to_string()).filter(|n| !n.is_empty()),
        changes,
    }
}

fn joined(invite: &Invite, user_id: &str) -> AuditEntry {
    team_entry(
        &invite.team_id,
        Actor::user(user_id),
        AuditAction::MemberJoined,
        user_id,
        &invite.email,
        vec![AuditChange {
            field: "role".into(),
            before: None,
            after: Some(invite.role.as_str().into()),
        }],
    )
}
