-- A feature's migration that gives todos the column types a PostgreSQL schema has beside numbers and text.
CREATE TYPE todo_priority AS ENUM ('low', 'normal', 'urgent');

ALTER TABLE todos
    ADD COLUMN priority todo_priority NOT NULL DEFAULT 'normal',
    ADD COLUMN details  jsonb,
    ADD COLUMN tags     text[]        NOT NULL DEFAULT '{}',
    ADD COLUMN remind_at timestamptz,
    ADD COLUMN due_at    timestamp;   -- a wall-clock time in the zone of whoever the todo is for
