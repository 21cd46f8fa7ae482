//! The tenant-isolation rule: a product's data (its connections, setup links, keys
//! and settings) is reached only through a [`ProductScope`], and only an
//! authorisation step makes one: an API key of the product
//! ([`Access::authenticate_api_key`](crate::access::Access::authenticate_api_key)), a
//! member of the product's team ([`Access::product_access`](crate::access::Access::product_access)),
//! or a live setup link of the product.

use std::ops::Deref;

use gatehouse_core::ProductId;

use crate::error::{DomainError, DomainResult};
use crate::model::{Connection, Product};

/// How the caller proved it may act on the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeProof {
    ApiKey { key_id: String },
    Member { user_id: String },
    SetupLink { link_id: String },
}

/// A product the caller has proven it may act on.
#[derive(Debug, Clone)]
pub struct ProductScope {
    product: Product,
    proof: ScopeProof,
}

impl ProductScope {
    pub(crate) fn new(product: Product, proof: ScopeProof) -> Self {
        Self { product, proof }
    }

    pub fn product(&self) -> &Product {
        &self.product
    }

    /// The product itself, to change and store it.
    pub fn into_product(self) -> Product {
        self.product
    }

    pub fn proof(&self) -> &ScopeProof {
        &self.proof
    }

    /// The product a request names (Jackson's `product`) must be this one: none is
    /// invalid input, another product is `NotFound` (and logged as an attempt).
    pub fn check_named(&self, named: Option<&ProductId>) -> DomainResult<()> {
        match named.map(|p| p.as_str().trim()) {
            None | Some("") => {
                Err(gatehouse_core::FieldError::new("product", "is required").into())
            }
            Some(p) if p == self.product.id => Ok(()),
            Some(other) => {
                tracing::warn!(
                    target: "gatehouse::isolation",
                    product_id = %self.product.id, named = other, proof = ?self.proof,
                    "refused: another product named"
                );
                Err(DomainError::NotFound)
            }
        }
    }

    /// [`check_named`](Self::check_named) where naming the product is optional (the
    /// read-only lists): absent is the API key's own product.
    pub fn check_named_if_given(&self, named: Option<&ProductId>) -> DomainResult<()> {
        match named {
            None => Ok(()),
            Some(_) => self.check_named(named),
        }
    }

    /// `c` if it is this product's; a connection found by a global lookup (its
    /// client id) goes through here.
    pub(crate) fn own(&self, c: Option<Connection>) -> Option<Connection> {
        c.filter(|c| c.product_id == self.product.id)
    }
}

impl Deref for ProductScope {
    type Target = Product;
    fn deref(&self) -> &Product {
        &self.product
    }
}
