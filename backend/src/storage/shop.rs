use shared::api::{Order, Product};

use super::{Db, Result, dispatch};
use crate::clock::Timestamp;

pub struct NewOrderRow<'a> {
    pub owner: &'a str,
    pub client_id: &'a str,
    pub product_id: i64,
    pub quantity: i64,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    product_id: i64,
    product_name: String,
    quantity: i64,
    unit_price_cents: i64,
    created_at: Timestamp,
}

impl From<OrderRow> for Order {
    fn from(row: OrderRow) -> Self {
        Self {
            id: row.id,
            product_id: row.product_id,
            product_name: row.product_name,
            quantity: row.quantity,
            unit_price_cents: row.unit_price_cents,
            total_cents: row.unit_price_cents * row.quantity,
            created_at: row.created_at.rfc3339(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    name: String,
    description: String,
    price_cents: i64,
}

const ORDER_COLUMNS: &str =
    "o.id, o.product_id, p.name AS product_name, o.quantity, o.unit_price_cents, o.created_at";

impl Db {
    pub async fn products(&self) -> Result<Vec<Product>> {
        let rows: Vec<ProductRow> = dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, name, description, price_cents FROM products ORDER BY id"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|p| Product {
                id: p.id,
                name: p.name,
                description: p.description,
                price_cents: p.price_cents,
            })
            .collect())
    }

    /// Stores the product under `id` unless that id or name is taken. Ids are given, not
    /// generated, so that instances seeding the same catalogue together agree on them.
    pub async fn insert_product_if_absent(
        &self,
        id: i64,
        name: &str,
        description: &str,
        price_cents: i64,
    ) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "INSERT INTO products (id, name, description, price_cents) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(description)
        .bind(price_cents)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Stores an order at the product's current price. `None` when the product does not exist,
    /// in which case nothing is written.
    pub async fn insert_order(
        &self,
        order: &NewOrderRow<'_>,
        now: Timestamp,
    ) -> Result<Option<Order>> {
        let select = format!(
            "SELECT {ORDER_COLUMNS} FROM orders o JOIN products p ON p.id = o.product_id
             WHERE o.id = $1"
        );
        let row: Option<OrderRow> = dispatch!(self, |pool| {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO orders (owner, client_id, product_id, quantity, unit_price_cents,
                     created_at)
                 SELECT $1, $2, id, $3, price_cents, $4 FROM products WHERE id = $5
                 RETURNING id",
            )
            .bind(order.owner)
            .bind(order.client_id)
            .bind(order.quantity)
            .bind(now)
            .bind(order.product_id)
            .fetch_optional(pool)
            .await?;
            match id {
                Some(id) => Some(sqlx::query_as(&select).bind(id).fetch_one(pool).await?),
                None => None,
            }
        });
        Ok(row.map(Order::from))
    }

    pub async fn orders_of(&self, owner: &str) -> Result<Vec<Order>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders o JOIN products p ON p.id = o.product_id
             WHERE o.owner = $1 ORDER BY o.id DESC LIMIT 500"
        );
        let rows: Vec<OrderRow> = dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(owner)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(Order::from).collect())
    }
}
