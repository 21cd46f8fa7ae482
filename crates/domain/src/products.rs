//! Products and their API keys.
//!
//! API keys look like `ghk_<id>_<secret>`. Only SHA-256 of the secret part is
//! stored; a presented key is found by its id and its secret compared in constant
//! time. Keys are shown once, at creation.

use std::sync::Arc;

use gatehouse_core::validate::parse_description;
use gatehouse_core::views::{
    ApiKeyView, CreatedApiKey, ProductDeletionImpact, ProductDetail, ProductSummary,
};
use gatehouse_core::{FieldError, ProductName, RedirectUrlList};

use crate::access::{Access, API_KEY_PREFIX};
use crate::audit::{self, Actor, AuditEntry};
use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::model::{ApiKey, Product};
use crate::ports::ProductStore;
use crate::tokens::{base32, hash_secret, new_id, random_bytes};
use gatehouse_core::audit::{AuditAction, AuditChange};

/// The fields of the product's *General* settings form.
#[derive(Debug, Clone)]
pub struct ProductUpdate {
    pub name: String,
    pub description: String,
    /// One URL per line.
    pub redirect_urls: String,
    pub default_redirect_url: String,
}

/// Products and their API keys, as the dashboard manages them.
#[derive(Clone)]
pub struct Products {
    pub(crate) store: Arc<dyn ProductStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) access: Access,
    pub(crate) audit: crate::audit::AuditLog,
}

impl Products {
    pub async fn list_products(
        &self,
        user_id: &str,
        team_id: &str,
    ) -> DomainResult<Vec<ProductSummary>> {
        let access = self.access.team_access(user_id, team_id).await?;
        let products = self.store.products(&access.team.id).await?;
        Ok(products.iter().map(ProductSummary::from).collect())
    }

    pub async fn create_product(
        &self,
        user_id: &str,
        team_id: &str,
        name: &str,
        description: &str,
    ) -> DomainResult<ProductDetail> {
        let access = self.access.team_write_access(user_id, team_id).await?;
        let name = ProductName::parse(name)?;
        let description = parse_description(description)?;
        let now = self.clock.now();
        let product = Product {
            id: new_id("prod"),
            team_id: access.team.id,
            name: name.to_string(),
            description,
            redirect_urls: Vec::new(),
            default_redirect_url: None,
            created_at: now,
            updated_at: now,
        };
        self.store.create_product(&product).await?;
        tracing::info!(team_id, product_id = %product.id, "product created");
        self.audit
            .record(AuditEntry {
                team_id: product.team_id.clone(),
                product_id: Some(product.id.clone()),
                actor: Actor::user(user_id),
                action: AuditAction::ProductCreated,
                target_id: product.id.clone(),
                target_name: Some(product.name.clone()),
                changes: audit::created(&audit::product_fields(&product)),
            })
            .await;
        Ok(ProductDetail::from(&product))
    }

    pub async fn product_detail(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<ProductDetail> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        Ok(ProductDetail::from(product.product()))
    }

    pub async fn update_product(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        update: ProductUpdate,
    ) -> DomainResult<ProductDetail> {
        let access = self.access.team_write_access(user_id, team_id).await?;
        let scope = self.access.product_access(&access, product_id).await?;
        let before = audit::product_fields(scope.product());
        let mut product = scope.clone().into_product();
        let name = ProductName::parse(&update.name)?;
        let description = parse_description(&update.description)?;
        let list = RedirectUrlList::parse(&update.redirect_urls, &update.default_redirect_url)?;
        product.name = name.to_string();
        product.description = description;
        product.redirect_urls = list.urls.iter().map(|u| u.to_string()).collect();
        product.default_redirect_url = list.default.map(|u| u.to_string());
        product.updated_at = self.clock.now();
        if !self.store.update_product(&product).await? {
            return Err(DomainError::NotFound);
        }
        let changes = audit::diff(&before, &audit::product_fields(&product));
        if !changes.is_empty() {
            self.audit
                .record(AuditEntry::on_product(
                    &scope,
                    AuditAction::ProductUpdated,
                    &product.id,
                    Some(&product.name),
                    changes,
                ))
                .await;
        }
        Ok(ProductDetail::from(&product))
    }

    pub async fn product_deletion_impact(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<ProductDeletionImpact> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        let counts = self.store.product_counts(&product.id).await?;
        Ok(ProductDeletionImpact {
            product_name: product.name.clone(),
            api_keys: counts.api_keys,
            connections: counts.connections,
            ory_connected: counts.ory_connected,
        })
    }

    /// Delete a product; `confirm_name` must repeat its name.
    pub async fn delete_product(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        confirm_name: &str,
    ) -> DomainResult<()> {
        let (access, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        if confirm_name.trim() != product.name {
            return Err(FieldError::new(
                "confirm_name",
                format!("Type the product name, “{}”, to confirm.", product.name),
            )
            .into());
        }
        if !self
            .store
            .delete_product(&access.team.id, &product.id)
            .await?
        {
            return Err(DomainError::NotFound);
        }
        tracing::info!(team_id, product_id, "product deleted");
        self.audit
            .record(AuditEntry::on_product(
                &product,
                AuditAction::ProductDeleted,
                &product.id,
                Some(&product.name),
                audit::deleted(&audit::product_fields(product.product())),
            ))
            .await;
        Ok(())
    }

    pub async fn api_keys(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<Vec<ApiKeyView>> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        let keys = self.store.api_keys(&product.id).await?;
        Ok(keys.iter().map(ApiKeyView::from).collect())
    }

    pub async fn create_api_key(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        name: &str,
    ) -> DomainResult<CreatedApiKey> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(FieldError::new(
                "name",
                "Name the key (up to 80 characters), e.g. “production”.",
            )
            .into());
        }
        let key_id = base32(&random_bytes(10));
        let secret = base32(&random_bytes(25));
        let full = format!("{API_KEY_PREFIX}{key_id}_{secret}");
        let key = ApiKey {
            id: key_id.clone(),
            product_id: product.id.clone(),
            name: name.to_string(),
            hint: format!("{API_KEY_PREFIX}{key_id}_…"),
            secret_hash: hash_secret(&secret),
            created_at: self.clock.now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.create_api_key(&key).await?;
        tracing::info!(team_id, product_id, key_id = %key.id, "API key created");
        self.audit
            .record(AuditEntry::on_product(
                &product,
                AuditAction::ApiKeyCreated,
                &key.id,
                Some(&key.name),
                vec![AuditChange {
                    field: "name".into(),
                    before: None,
                    after: Some(key.name.clone()),
                }],
            ))
            .await;
        Ok(CreatedApiKey {
            key: ApiKeyView::from(&key),
            secret: full,
        })
    }

    pub async fn revoke_api_key(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        key_id: &str,
    ) -> DomainResult<()> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        if self
            .store
            .revoke_api_key(&product.id, key_id, self.clock.now())
            .await?
        {
            tracing::info!(team_id, product_id, key_id, "API key revoked");
            self.audit
                .record(AuditEntry::on_product(
                    &product,
                    AuditAction::ApiKeyRevoked,
                    key_id,
                    None,
                    Vec::new(),
                ))
                .await;
            Ok(())
        } else {
            Err(DomainError::NotFound)
        }
    }
}
