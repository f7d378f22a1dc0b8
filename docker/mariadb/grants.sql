-- The image's MARIADB_USER owns only `shop`. Change data capture also needs to read the binlog:
-- these are the minimal grants the CDC ingestor uses (docs/platform.md).
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO 'shopflow'@'%';
