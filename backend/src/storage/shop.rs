use shared::api::{Order, Product};

use super::{Db, Result};

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
    created_at: String,
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
            created_at: row.created_at,
        }
    }
}

const ORDER_COLUMNS: &str =
    "o.id, o.product_id, p.name AS product_name, o.quantity, o.unit_price_cents, o.created_at";

impl Db {
    pub async fn products(&self) -> Result<Vec<Product>> {
        let rows: Vec<(i64, String, String, i64)> =
            sqlx::query_as("SELECT id, name, description, price_cents FROM products ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, description, price_cents)| Product {
                id,
                name,
                description,
                price_cents,
            })
            .collect())
    }

    pub async fn insert_product_if_absent(
        &self,
        name: &str,
        description: &str,
        price_cents: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO products (name, description, price_cents) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(description)
        .bind(price_cents)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores an order at the product's current price. `None` when the product does not exist,
    /// in which case nothing is written.
    pub async fn insert_order(&self, order: &NewOrderRow<'_>) -> Result<Option<Order>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO orders (owner, client_id, product_id, quantity, unit_price_cents)
             SELECT ?, ?, id, ?, price_cents FROM products WHERE id = ?
             RETURNING id",
        )
        .bind(order.owner)
        .bind(order.client_id)
        .bind(order.quantity)
        .bind(order.product_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(id) = id else { return Ok(None) };
        let row: OrderRow = sqlx::query_as(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders o JOIN products p ON p.id = o.product_id WHERE o.id = ?"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(row.into()))
    }

    pub async fn orders_of(&self, owner: &str) -> Result<Vec<Order>> {
        let rows: Vec<OrderRow> = sqlx::query_as(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders o JOIN products p ON p.id = o.product_id
             WHERE o.owner = ? ORDER BY o.id DESC LIMIT 500"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Order::from).collect())
    }

    pub async fn count_orders(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&self.pool)
            .await
    }
}
