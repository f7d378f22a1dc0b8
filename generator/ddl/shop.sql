-- ShopFlow source contract: the OLTP schema of the `shop` database (MariaDB 10.11 / MySQL 8).
--
-- This file is the one definition of the source tables. The generator creates them from it,
-- the CDC ingestor captures whatever they hold, and docs/source-schema.md is generated from
-- the COMMENT clauses below (`npm run docs:schema`). Every table has a primary key and an
-- `updated_at` maintained by the database, so any application writing here feeds the pipeline.
-- Money is DECIMAL(12,2) in the shop currency; timestamps are UTC, DATETIME(3).

CREATE TABLE IF NOT EXISTS customers (
  customer_id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Surrogate key of the customer account.',
  email            VARCHAR(254) NOT NULL COMMENT 'Login and contact e-mail; customers may change it (SCD2 in the warehouse).',
  first_name       VARCHAR(100) NOT NULL COMMENT 'Given name.',
  last_name        VARCHAR(100) NOT NULL COMMENT 'Family name.',
  phone            VARCHAR(40) NULL COMMENT 'Contact phone in international format, when given.',
  country_code     CHAR(2) NOT NULL COMMENT 'ISO 3166-1 alpha-2 country of the current address.',
  region           VARCHAR(100) NULL COMMENT 'State, province or region of the current address.',
  city             VARCHAR(100) NOT NULL COMMENT 'City of the current address; changes when the customer moves.',
  postal_code      VARCHAR(20) NULL COMMENT 'Postal code of the current address.',
  street_address   VARCHAR(200) NULL COMMENT 'Street and number of the current address.',
  signup_channel   VARCHAR(20) NOT NULL COMMENT 'How the account was acquired: organic, paid_search, social, email, referral, affiliate.',
  signed_up_at     DATETIME(3) NOT NULL COMMENT 'When the account was created (UTC).',
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'Row creation time (UTC).',
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'Last change to the row (UTC).',
  PRIMARY KEY (customer_id),
  UNIQUE KEY uq_customers_email (email),
  KEY ix_customers_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Customer accounts with their current contact details and address.';

CREATE TABLE IF NOT EXISTS products (
  product_id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Surrogate key of the product.',
  sku              VARCHAR(32) NOT NULL COMMENT 'Stock keeping unit, unique.',
  product_name     VARCHAR(200) NOT NULL COMMENT 'Display name.',
  category         VARCHAR(60) NOT NULL COMMENT 'Top-level category (Electronics, Home, Fashion, ...).',
  subcategory      VARCHAR(60) NOT NULL COMMENT 'Subcategory within the category.',
  brand            VARCHAR(100) NOT NULL COMMENT 'Brand name.',
  price            DECIMAL(12,2) NOT NULL COMMENT 'Current list price; changes over time (SCD2 in the warehouse).',
  cost             DECIMAL(12,2) NOT NULL COMMENT 'Current unit cost to the shop.',
  is_active        TINYINT(1) NOT NULL DEFAULT 1 COMMENT '1 while the product is sold, 0 once discontinued.',
  launched_at      DATETIME(3) NOT NULL COMMENT 'When the product went on sale (UTC).',
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'Row creation time (UTC).',
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'Last change to the row (UTC).',
  PRIMARY KEY (product_id),
  UNIQUE KEY uq_products_sku (sku),
  KEY ix_products_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Product catalogue with current price and cost.';

CREATE TABLE IF NOT EXISTS inventory (
  product_id         BIGINT UNSIGNED NOT NULL COMMENT 'The product this stock level belongs to (one row per product).',
  quantity_on_hand   INT NOT NULL COMMENT 'Units in the warehouse now; goes down with orders, up with restocks and returns.',
  reorder_point      INT NOT NULL COMMENT 'When on-hand falls to or below this, the product needs restocking.',
  reorder_quantity   INT NOT NULL COMMENT 'Units ordered from the supplier per restock.',
  last_restocked_at  DATETIME(3) NULL COMMENT 'Most recent restock (UTC), if any.',
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'Row creation time (UTC).',
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'Last change to the row (UTC).',
  PRIMARY KEY (product_id),
  KEY ix_inventory_updated_at (updated_at),
  CONSTRAINT fk_inventory_product FOREIGN KEY (product_id) REFERENCES products (product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Current stock level per product.';

CREATE TABLE IF NOT EXISTS orders (
  order_id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Surrogate key of the order.',
  customer_id        BIGINT UNSIGNED NOT NULL COMMENT 'The buying customer.',
  session_id         VARCHAR(64) NULL COMMENT 'Clickstream session (Kafka shop.events) that led to the order.',
  status             VARCHAR(20) NOT NULL COMMENT 'Lifecycle state: placed, paid, shipped, delivered, cancelled, returned.',
  currency           CHAR(3) NOT NULL DEFAULT 'USD' COMMENT 'ISO 4217 currency of all amounts on the order.',
  subtotal_amount    DECIMAL(12,2) NOT NULL COMMENT 'Sum of order_items.line_total.',
  discount_amount    DECIMAL(12,2) NOT NULL DEFAULT 0 COMMENT 'Order-level discount (coupon), subtracted from the subtotal.',
  shipping_amount    DECIMAL(12,2) NOT NULL DEFAULT 0 COMMENT 'Shipping charged.',
  tax_amount         DECIMAL(12,2) NOT NULL DEFAULT 0 COMMENT 'Sales tax / VAT charged.',
  total_amount       DECIMAL(12,2) NOT NULL COMMENT 'subtotal - discount + shipping + tax; what the customer pays.',
  ship_country_code  CHAR(2) NOT NULL COMMENT 'ISO 3166-1 alpha-2 country shipped to.',
  ship_region        VARCHAR(100) NULL COMMENT 'Region shipped to.',
  ship_city          VARCHAR(100) NOT NULL COMMENT 'City shipped to.',
  ship_postal_code   VARCHAR(20) NULL COMMENT 'Postal code shipped to.',
  placed_at          DATETIME(3) NOT NULL COMMENT 'When the order was placed (UTC).',
  paid_at            DATETIME(3) NULL COMMENT 'When payment was captured (UTC).',
  shipped_at         DATETIME(3) NULL COMMENT 'When the parcel left the warehouse (UTC).',
  delivered_at       DATETIME(3) NULL COMMENT 'When the parcel was delivered (UTC).',
  cancelled_at       DATETIME(3) NULL COMMENT 'When the order was cancelled (UTC), if it was.',
  returned_at        DATETIME(3) NULL COMMENT 'When the order was returned (UTC), if it was.',
  created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'Row creation time (UTC).',
  updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'Last change to the row (UTC).',
  PRIMARY KEY (order_id),
  KEY ix_orders_customer (customer_id),
  KEY ix_orders_placed_at (placed_at),
  KEY ix_orders_updated_at (updated_at),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Orders with amounts, shipping address and lifecycle timestamps.';

CREATE TABLE IF NOT EXISTS order_items (
  order_item_id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Surrogate key of the order line.',
  order_id         BIGINT UNSIGNED NOT NULL COMMENT 'The order this line belongs to.',
  product_id       BIGINT UNSIGNED NOT NULL COMMENT 'The product bought.',
  quantity         INT NOT NULL COMMENT 'Units bought, at least 1.',
  unit_price       DECIMAL(12,2) NOT NULL COMMENT 'Price per unit at the time of the order.',
  discount_amount  DECIMAL(12,2) NOT NULL DEFAULT 0 COMMENT 'Line-level discount.',
  line_total       DECIMAL(12,2) NOT NULL COMMENT 'quantity * unit_price - discount_amount.',
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'Row creation time (UTC).',
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'Last change to the row (UTC).',
  PRIMARY KEY (order_item_id),
  KEY ix_order_items_order (order_id),
  KEY ix_order_items_product (product_id),
  KEY ix_order_items_updated_at (updated_at),
  CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (order_id),
  CONSTRAINT fk_order_items_product FOREIGN KEY (product_id) REFERENCES products (product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Order lines: one row per product on an order.';

CREATE TABLE IF NOT EXISTS payments (
  payment_id        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Surrogate key of the payment attempt.',
  order_id          BIGINT UNSIGNED NOT NULL COMMENT 'The order being paid.',
  payment_method    VARCHAR(20) NOT NULL COMMENT 'card, paypal, apple_pay, google_pay, bank_transfer, gift_card.',
  status            VARCHAR(20) NOT NULL COMMENT 'Attempt outcome: authorized, captured, failed, refunded.',
  amount            DECIMAL(12,2) NOT NULL COMMENT 'Amount of the attempt.',
  card_fingerprint  CHAR(16) NULL COMMENT 'Stable hash of the card used (card payments only); same card, same fingerprint.',
  ip_country_code   CHAR(2) NULL COMMENT 'Country of the IP address the payment came from.',
  attempted_at      DATETIME(3) NOT NULL COMMENT 'When the attempt was made (UTC).',
  created_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'Row creation time (UTC).',
  updated_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'Last change to the row (UTC).',
  PRIMARY KEY (payment_id),
  KEY ix_payments_order (order_id),
  KEY ix_payments_card (card_fingerprint),
  KEY ix_payments_updated_at (updated_at),
  CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Payment attempts; an order may have failed attempts before a captured one.';

CREATE TABLE IF NOT EXISTS restocks (
  restock_id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'Surrogate key of the restock delivery.',
  product_id       BIGINT UNSIGNED NOT NULL COMMENT 'The product restocked.',
  quantity         INT NOT NULL COMMENT 'Units received.',
  unit_cost        DECIMAL(12,2) NOT NULL COMMENT 'Cost per unit paid to the supplier.',
  received_at      DATETIME(3) NOT NULL COMMENT 'When the delivery arrived (UTC).',
  created_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'Row creation time (UTC).',
  updated_at       DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3) COMMENT 'Last change to the row (UTC).',
  PRIMARY KEY (restock_id),
  KEY ix_restocks_product (product_id),
  KEY ix_restocks_updated_at (updated_at),
  CONSTRAINT fk_restocks_product FOREIGN KEY (product_id) REFERENCES products (product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Supplier deliveries that raise inventory.';
