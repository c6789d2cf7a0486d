-- The commit ceiling's transaction (benches/webhook.rs, "commit 1 row"), for pgbench.
-- Table: CREATE TABLE bench_commit (update_id BIGINT PRIMARY KEY, received_at BIGINT NOT NULL)
\set id random(1, 9000000000000000)
BEGIN;
INSERT INTO bench_commit (update_id, received_at) VALUES (:id, 1);
COMMIT;
