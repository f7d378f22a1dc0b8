"""ShopFlow's lakehouse jobs: Spark Structured Streaming into Apache Iceberg (docs/lakehouse.md)."""
