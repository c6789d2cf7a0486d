-- What kktbot's webhook asks of PostgreSQL for one /help update from a new user, for pgbench:
-- BEGIN, processed_updates::RECORD_PG, the reply's outbox insert (outbox::enqueue_with; the
-- payload's text stands in for the real one), COMMIT. Written from that code: if it changes,
-- change this too. Run on a database migrated by `kktbot migrate up`.
\set id random(1, 9000000000000000)
BEGIN;
WITH pu AS (INSERT INTO processed_updates (update_id, kind, processed_at) VALUES (:id, 'message', now()) ON CONFLICT (update_id) DO NOTHING RETURNING update_id),
 up AS (INSERT INTO telegram_users (telegram_id, first_name, last_name, username, language_code, is_blocked, created_at, updated_at) SELECT :id, 'Ivan', NULL, 'ivan', 'ru', FALSE, now(), now() FROM pu
  ON CONFLICT (telegram_id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, username = excluded.username, language_code = excluded.language_code, is_blocked = FALSE, updated_at = excluded.updated_at
  WHERE telegram_users.is_blocked OR telegram_users.first_name IS DISTINCT FROM excluded.first_name OR telegram_users.last_name IS DISTINCT FROM excluded.last_name OR telegram_users.username IS DISTINCT FROM excluded.username OR telegram_users.language_code IS DISTINCT FROM excluded.language_code
  RETURNING telegram_users.id, telegram_users.telegram_id, telegram_users.first_name, telegram_users.last_name, telegram_users.username, telegram_users.language_code, telegram_users.language, telegram_users.is_blocked, telegram_users.created_at, telegram_users.updated_at),
 u AS (SELECT * FROM up UNION ALL SELECT t.id, t.telegram_id, t.first_name, t.last_name, t.username, t.language_code, t.language, t.is_blocked, t.created_at, t.updated_at FROM telegram_users t WHERE t.telegram_id = :id AND NOT EXISTS (SELECT 1 FROM up))
SELECT EXISTS (SELECT 1 FROM pu) AS recorded, u.id, u.telegram_id, u.first_name, u.last_name, u.username, u.language_code, u.language, u.is_blocked, u.created_at, u.updated_at, a.id AS admin_id, a.name AS admin_name FROM (SELECT 1) AS one LEFT JOIN u ON TRUE LEFT JOIN administrators a ON a.telegram_id = :id AND a.is_active;
INSERT INTO outgoing_messages (chat_id, method, payload, status, attempts, next_attempt_at, created_at, max_attempts, retry_delay_seconds) VALUES (:id, 'sendMessage', '{"method":"sendMessage","chat_id":123456,"text":"Команды: /start — начать, /help — эта справка, /cancel — отменить, /lang — язык. Чтобы привязать организацию, пришлите ИНН.","parse_mode":"HTML"}', 'pending', 0, now(), now(), NULL, NULL) RETURNING id;
COMMIT;
